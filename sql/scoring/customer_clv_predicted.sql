-- Predicted customer value per buyer as of business day $as_of (DOMAIN.md, Scores: LTV;
-- issue 15): the day's BG/NBD summaries (clv_summary.sql) with the predictions
-- lifecycle_pipeline/clv.py computed from the fit dated $fit_date (registered as the
-- relation clv_predictions), and where the model and the stage rules disagree:
--   the rules say a living stage ($alive_stages: active, loyal) but P(alive) < $p_alive_low
--   the rules say a lapsed stage ($lapsed_stages: churned) but P(alive) > $p_alive_high
-- The stage is the day's stage by the rules (the macro scoring.lifecycle_stage on the day's
-- scoring.customer_features, exactly what lifecycle.customer_stage_daily will hold): this table
-- is written before the stage table, which carries its p_alive. Predictions are NULL, with the
-- reason, when the day has no usable fit; rules_disagree is then NULL too.
with staged as (
    select
        customer_id,
        scoring.lifecycle_stage(
            orders_lifetime,
            scoring.lifecycle_recency($recency_basis, recency_days, days_since_activity),
            scoring.lifecycle_gap($recency_basis, gap_last_two_orders_days, gap_last_two_active_days),
            nps_category,
            referrals_365d + referred_signups_365d,
            $dormant_max_days, $at_risk_max_days, $active_max_days, $reactivation_gap_days, $loyal_min_orders
        ) as stage
    from scoring.customer_features
    where as_of_date = $as_of
),

judged as (
    select
        p.*,
        s.stage,
        list_contains($alive_stages, s.stage) and p.p_alive < $p_alive_low as alive_but_unlikely,
        list_contains($lapsed_stages, s.stage) and p.p_alive > $p_alive_high as lapsed_but_likely
    from clv_predictions as p
    left join staged as s on s.customer_id = p.customer_id
)

select
    $as_of::date as as_of_date,
    customer_id,
    repeat_purchases,
    t_x,
    age,
    avg_repeat_value,
    $fit_date::date as fit_date,
    $model as model,
    p_alive,
    expected_purchases_90d,
    expected_avg_order_value::decimal(18, 2) as expected_avg_order_value,
    expected_value_12m::decimal(18, 2) as expected_value_12m,
    stage,
    case
        when p_alive is not null and stage is not null then alive_but_unlikely or lapsed_but_likely
    end as rules_disagree,
    -- P(alive) is shown rounded away from the threshold (down when below it, up when above), so the
    -- words never contradict the flag: 0.2996 below 0.3 reads 0.29, not 0.30
    case
        when alive_but_unlikely
            then printf('rules say %s, but P(alive) is %.2f (below p_alive_low %s)',
                        stage, floor(p_alive * 100) / 100, $p_alive_low::varchar)
        when lapsed_but_likely
            then printf('rules say %s, but P(alive) is %.2f (above p_alive_high %s)',
                        stage, ceil(p_alive * 100) / 100, $p_alive_high::varchar)
    end as disagreement,
    reason
from judged
order by customer_id
