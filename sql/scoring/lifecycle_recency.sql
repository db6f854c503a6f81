-- The stage rules as macros (DOMAIN.md, Lifecycle stage), created with the day's features
-- (lifecycle_pipeline/scoring.py) so that every query built on them reads one definition.
--
-- scoring.lifecycle_recency(recency_basis, recency_days, days_since_activity): the recency r
-- the stage rules use: days since the last completed order (preset ecommerce, recency_basis
-- 'orders') or since any activity (preset saas, 'activity'). Read by the stage table
-- (customer_stage_base.sql), the early warnings (no tier for lapsed customers) and RFM (a
-- lapsed customer's R is capped by its stage).
create or replace macro scoring.lifecycle_recency(recency_basis, recency_days, days_since_activity) as
    case when recency_basis = 'activity' then days_since_activity else recency_days end;

-- scoring.lifecycle_gap(recency_basis, gap_last_two_orders_days, gap_last_two_active_days): the
-- gap before the latest order day (activity day under 'activity') the reactivation rule reads.
create or replace macro scoring.lifecycle_gap(recency_basis, gap_last_two_orders_days, gap_last_two_active_days) as
    case when recency_basis = 'activity' then gap_last_two_active_days else gap_last_two_orders_days end;

-- scoring.lifecycle_stage(...): the stage of a customer-day; first match wins:
--   prospect     no completed order yet
--   churned      r > dormant_max_days
--   dormant      at_risk_max_days < r <= dormant_max_days
--   at_risk      active_max_days < r <= at_risk_max_days
--   reactivated  r <= active_max_days and the gap before the latest order (activity day) > reactivation_gap_days
--   new          exactly 1 completed order
--   advocate     >= loyal_min_orders orders and a promoter (latest NPS in 365 days) or a referral in 365 days
--   loyal        >= loyal_min_orders orders
--   active       otherwise (2 .. loyal_min_orders - 1 orders)
-- Read by the stage table (customer_stage_base.sql) and by the model-versus-rules flag of the
-- predicted customer value (customer_clv_predicted.sql), which is computed before the stage table.
create or replace macro scoring.lifecycle_stage(
    orders_lifetime, r, gap, nps_category, referrals,
    dormant_max_days, at_risk_max_days, active_max_days, reactivation_gap_days, loyal_min_orders
) as
    case
        when orders_lifetime = 0 then 'prospect'
        when r > dormant_max_days then 'churned'
        when r > at_risk_max_days then 'dormant'
        when r > active_max_days then 'at_risk'
        when gap > reactivation_gap_days then 'reactivated'
        when orders_lifetime = 1 then 'new'
        when orders_lifetime >= loyal_min_orders and (nps_category = 'promoter' or referrals > 0) then 'advocate'
        when orders_lifetime >= loyal_min_orders then 'loyal'
        else 'active'
    end;
