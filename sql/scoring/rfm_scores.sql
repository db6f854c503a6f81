-- RFM scores as of $as_of over customers with at least one completed order
-- (DOMAIN.md, Scores). Rank-based quintiles in which equal values get equal scores,
-- whatever the row order: score = floor(5 * share of buyers strictly below) + 1, i.e.
-- a tie group is scored where it starts. (ceil(5 * cume_dist) would score it where it
-- ends: with half the buyers tied at one order they would all get F = 3 and no
-- one-time buyer could ever be F = 1.) R: fewer days since the last order is better
-- (5 = most recent); F: completed orders and M: net revenue in the trailing window.
-- A segment never contradicts the stage: the R of a customer whom the stage rules call
-- lapsed is capped by that stage (same recency r and windows as the stage table, from the
-- configured preset): at_risk ($active_max_days < r <= $at_risk_max_days) at most R = 2,
-- dormant or churned (r > $at_risk_max_days) R = 1. In a mostly lapsed customer base the
-- quintiles would otherwise stretch R = 4-5 over customers gone for months (champions who
-- are churned); lapsed customers land in hibernating / at_risk / cant_lose.
with base as (
    select
        as_of_date,
        customer_id,
        recency_days,
        orders_365d,
        revenue_365d,
        scoring.lifecycle_recency($recency_basis, recency_days, days_since_activity) as lifecycle_recency
    from scoring.customer_features
    where as_of_date = $as_of
        and orders_lifetime >= 1
),

quintiles as (
    select
        *,
        floor(5 * (rank() over (order by recency_days desc) - 1) / count(*) over ())::integer + 1 as r_quintile,
        floor(5 * (rank() over (order by orders_365d) - 1) / count(*) over ())::integer + 1 as f_score,
        floor(5 * (rank() over (order by revenue_365d) - 1) / count(*) over ())::integer + 1 as m_score
    from base
),

scored as (
    select
        * exclude (r_quintile),
        case
            when lifecycle_recency > $at_risk_max_days then 1
            when lifecycle_recency > $active_max_days then least(r_quintile, 2)
            else r_quintile
        end as r_score
    from quintiles
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
