-- An independent re-check of the day's selected rows (temp table `outreach_day`: contacted
-- and held out) against the sources, written differently from outreach_candidates.sql on
-- purpose. Returns one row per violation (guard, customer_id, campaign): there must be none
-- before anything is recorded or exported.
with selected as (
    select d.*, k.consent_column, k.cooldown_days
    from outreach_day as d
    inner join outreach_campaigns as k on k.campaign = d.campaign
    where d.status <> 'excluded'
),

latest_record as (
    select s.customer_id, s.campaign, s.consent_column, c.email_opt_in, c.sms_opt_in, c.email
    from selected as s
    left join clean.customers_as_of($as_of, $as_of_end) as c on c.customer_id = s.customer_id
),

known_suppressions as (
    select customer_id, email from clean.suppressions where _partition_date <= $as_of and suppressed_at < $as_of_end
)

select 'without_consent' as guard, customer_id, campaign
from latest_record
where not coalesce((consent_column = 'email_opt_in' and email_opt_in) or (consent_column = 'sms_opt_in' and sms_opt_in), false)
union all
select 'suppressed', r.customer_id, r.campaign
from latest_record as r
where r.customer_id in (select customer_id from known_suppressions)
    or lower(trim(r.email)) in (select lower(trim(email)) from known_suppressions)
union all
select 'over_frequency_cap', s.customer_id, s.campaign
from selected as s
where (
    select count(*) from outreach.contact_history as h
    where h.customer_id = s.customer_id and h.as_of_date < $as_of and h.as_of_date > $as_of::date - $cap_days
) + 1 > $cap_max_contacts
union all
select 'in_cooldown', s.customer_id, s.campaign
from selected as s
where exists (
    select 1 from outreach.contact_history as h
    where h.customer_id = s.customer_id and h.campaign = s.campaign
        and h.as_of_date < $as_of and h.as_of_date > $as_of::date - s.cooldown_days
)
union all
select 'second_campaign_same_day', customer_id, max(campaign)
from selected
group by customer_id
having count(*) > 1
