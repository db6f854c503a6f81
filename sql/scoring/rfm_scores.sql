-- RFM scores as of $as_of over customers with at least one completed order
-- (DOMAIN.md, Scores). Rank-based quintiles in which equal values get equal scores,
-- whatever the row order: score = floor(5 * share of buyers strictly below) + 1, i.e.
-- a tie group is scored where it starts. (ceil(5 * cume_dist) would score it where it
-- ends: with half the buyers tied at one order they would all get F = 3 and no
-- one-time buyer could ever be F = 1.) R: fewer days since the last order is better
-- (5 = most recent); F: completed orders and M: net revenue in the trailing window.
with base as (
    select
        as_of_date,
        customer_id,
        recency_days,
        orders_365d,
        revenue_365d
    from scoring.customer_features
    where as_of_date = $as_of
        and orders_lifetime >= 1
),

scored as (
    select
        *,
        floor(5 * (rank() over (order by recency_days desc) - 1) / count(*) over ())::integer + 1 as r_score,
        floor(5 * (rank() over (order by orders_365d) - 1) / count(*) over ())::integer + 1 as f_score,
        floor(5 * (rank() over (order by revenue_365d) - 1) / count(*) over ())::integer + 1 as m_score
    from base
)

select
    s.as_of_date,
    s.customer_id,
    s.recency_days,
    s.orders_365d,
    s.revenue_365d,
    s.r_score,
    s.f_score,
    s.m_score,
    s.r_score::varchar || s.f_score::varchar || s.m_score::varchar as rfm_code,
    m.segment as rfm_segment
from scored as s
inner join rfm_segment_map as m
    on m.r_score = s.r_score
    and m.f_score = s.f_score
order by s.customer_id
