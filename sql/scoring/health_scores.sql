-- Customer health score 0-100 as of $as_of (DOMAIN.md, Scores; article 001). Grain:
-- one row per customer known that day. Four components, each 0-100:
--   activity  active days in the last $recent_days / $activity_target_days (capped at 100)
--   adoption  distinct core features used in $adoption_days / $adoption_target_features (capped)
--   service   average ticket CSAT (1-5) over $csat_days, mapped 1 -> 0 ... 5 -> 100
--   nps       latest NPS answer (0-10) in the trailing year x 10
-- A component without data is NULL and its weight is spread over the present ones:
-- activity and adoption need event data (a business without events has neither),
-- service needs a rated ticket, nps an answer. score = sum(weight x component) / sum of
-- the present weights, rounded to 0.1; the band is taken from the rounded score.
with features as (
    select *
    from scoring.customer_features
    where as_of_date = $as_of
),

event_data as (
    select exists(select 1 from clean.events where _partition_date <= $as_of) as has_events
),

components as (
    select
        f.as_of_date,
        f.customer_id,
        case when d.has_events then least(100.0, 100.0 * f.active_days_30d / $activity_target_days) end
            as activity_component,
        case when d.has_events then least(100.0, 100.0 * f.core_features_90d / $adoption_target_features) end
            as adoption_component,
        ((f.csat_avg_180d - 1) * 25.0)::double as service_component,
        (f.latest_nps_score * 10.0)::double as nps_component
    from features as f
    cross join event_data as d
),

weighted as (
    select
        *,
        coalesce($weight_activity * activity_component, 0)
        + coalesce($weight_adoption * adoption_component, 0)
        + coalesce($weight_service * service_component, 0)
        + coalesce($weight_nps * nps_component, 0) as weighted_sum,
        (case when activity_component is not null then $weight_activity else 0 end)
        + (case when adoption_component is not null then $weight_adoption else 0 end)
        + (case when service_component is not null then $weight_service else 0 end)
        + (case when nps_component is not null then $weight_nps else 0 end) as present_weight
    from components
),

scored as (
    select
        *,
        round(weighted_sum / nullif(present_weight, 0), 1) as health_score
    from weighted
)

select
    as_of_date,
    customer_id,
    health_score,
    case
        when health_score >= $healthy_min then 'healthy'
        when health_score >= $stable_min then 'stable'
        when health_score >= $concerning_min then 'concerning'
        when health_score is not null then 'critical'
    end as health_band,
    round(activity_component, 1) as activity_component,
    round(adoption_component, 1) as adoption_component,
    round(service_component, 1) as service_component,
    round(nps_component, 1) as nps_component,
    list_concat(
        case when activity_component is not null then ['activity'] else [] end,
        case when adoption_component is not null then ['adoption'] else [] end,
        case when service_component is not null then ['service'] else [] end,
        case when nps_component is not null then ['nps'] else [] end
    )::varchar[] as components_present,
    nullif(concat_ws(
        '; ',
        case when activity_component is null then 'no event data: activity and adoption left out' end,
        case when service_component is null then 'no rated ticket in the CSAT window' end,
        case when nps_component is null then 'no NPS answer in the last year' end
    ), '') as missing_note
from scored
order by customer_id
