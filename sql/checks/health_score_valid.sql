-- scoring.health_scores: the score lies within 0-100 and its band is the one its score falls in
-- ($healthy_min, $stable_min, $concerning_min; DOMAIN.md, Scores). Violations of days $first..$last.
select
    as_of_date,
    customer_id,
    'score ' || coalesce(health_score::varchar, 'NULL') || ', band ' || coalesce(health_band, 'NULL') as detail
from scoring.health_scores
where as_of_date between $first and $last
    and (
        (health_score is not null and (health_score < 0 or health_score > 100))
        or health_band is distinct from case
            when health_score >= $healthy_min then 'healthy'
            when health_score >= $stable_min then 'stable'
            when health_score >= $concerning_min then 'concerning'
            when health_score is not null then 'critical'
        end
    )
