-- Company NPS as of $as_of over the trailing $nps_window_days days (DOMAIN.md, Scores):
-- each customer's latest answer in the window counts once; 0-6 detractor, 7-8
-- passive, 9-10 promoter (thresholds configurable); NPS = % promoters - % detractors.
-- Without any answer in the window, nps is NULL and `note` says why.
with latest as (
    select
        customer_id,
        score
    from clean.nps_responses
    where _partition_date <= $as_of
        and responded_at < $as_of_end
        and responded_at >= ($as_of::date - ($nps_window_days - 1))::timestamptz
    qualify row_number() over (partition by customer_id order by responded_at desc, response_id desc) = 1
),

counted as (
    select
        count(*) as respondents,
        count(*) filter (where score >= $promoter_min) as promoters,
        count(*) filter (where score >= $passive_min and score < $promoter_min) as passives,
        count(*) filter (where score < $passive_min) as detractors
    from latest
)

select
    $as_of::date as as_of_date,
    respondents,
    promoters,
    passives,
    detractors,
    case
        when respondents > 0 then round(100.0 * (promoters - detractors) / respondents, 1)
    end as nps,
    case
        when respondents = 0 then 'no NPS answers in the window'
    end as note
from counted
