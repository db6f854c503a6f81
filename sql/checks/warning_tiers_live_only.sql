-- Early-warning tiers are for customers not yet dormant or churned (DOMAIN.md, Early-warning
-- tiers): a row of lifecycle.customer_stage_daily of days $first..$last with a tier above 0 and a
-- lapsed stage is a violation.
select as_of_date, customer_id, 'tier ' || warning_tier || ' while ' || stage as detail
from lifecycle.customer_stage_daily
where as_of_date between $first and $last
    and warning_tier > 0  -- tier 0: no warning
    and list_contains($lapsed_stages, stage)
