-- scoring.lifecycle_recency(recency_basis, recency_days, days_since_activity): the recency r
-- the stage rules use (DOMAIN.md, Lifecycle stage): days since the last completed order
-- (preset ecommerce, recency_basis 'orders') or since any activity (preset saas, 'activity').
-- The one definition read by the stage table (customer_stage_base.sql), the early warnings
-- (no tier for lapsed customers) and RFM (a lapsed customer's R is capped by its stage).
create or replace macro scoring.lifecycle_recency(recency_basis, recency_days, days_since_activity) as
    case when recency_basis = 'activity' then days_since_activity else recency_days end
