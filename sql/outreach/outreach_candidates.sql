-- Outreach candidates of day $as_of: every (customer, campaign) pair whose target matches
-- the customer's stage row of that day, with the guards applied (DOMAIN.md, Outreach
-- playbook). Campaigns come from the temp table `outreach_campaigns` (the playbook).
--   reasons_excluded  suppressed     on the suppression list (by customer_id or email) by the end of the day
--                     no_consent     the channel's consent column is not true in the latest customer record
--                     no_address     no email / phone for the channel
--                     frequency_cap  $cap_max_contacts contacts (or holdouts) already in the last $cap_days - 1 days
--                     cooldown       this campaign reached the customer less than cooldown_days ago
--                     lower_priority passed every guard, but a campaign with a smaller priority number won
--                     daily_limit    the campaign already has daily_limit picks with more lifetime revenue
--   status            contacted / holdout (selected, but in the campaign's deterministic holdout) / excluded
-- Holdout: the first 60 bits of md5(campaign || '|' || customer_id) as a fraction of 2^60,
-- below holdout_share: the same customer is always in or out of a campaign's holdout.
with customers_as_of as (
    select * from clean.customers_as_of($as_of, $as_of_end)
),

active_suppressions as (
    select
        nullif(trim(customer_id), '') as customer_id,
        nullif(lower(trim(email)), '') as email
    from clean.suppressions
    where _partition_date <= $as_of
        and suppressed_at < $as_of_end
),

suppressed as (
    -- two equality joins instead of one OR join: both stay hash joins at any size
    select customer_id from active_suppressions where customer_id is not null
    union
    select c.customer_id
    from customers_as_of as c
    inner join active_suppressions as s on s.email = lower(trim(c.email))
),

contact_windows as (
    select
        customer_id,
        count(*) as contacts_in_cap_window
    from outreach.contact_history
    where as_of_date < $as_of
        and as_of_date > $as_of::date - $cap_days
    group by customer_id
),

campaign_last_contact as (
    -- only the cooldown reads it: contacts older than the longest cooldown cannot matter, so the
    -- day reads a bounded window of the history, not every contact ever made
    select
        customer_id,
        campaign,
        max(as_of_date) as last_contact_date
    from outreach.contact_history
    where as_of_date < $as_of
        and as_of_date > $as_of::date - (select coalesce(max(cooldown_days), 0) from outreach_campaigns)
    group by customer_id, campaign
),

stage_day as (
    select
        s.*,
        f.days_since_signup,
        f.favourite_category,
        f.revenue_lifetime,
        f.recency_days as days_since_last_order,
        h.health_score,
        v.expected_value_12m
    -- each daily table is filtered to the day before the join (not the whole history in the join condition)
    from (select * from lifecycle.customer_stage_daily where as_of_date = $as_of) as s
    inner join (select * from scoring.customer_features where as_of_date = $as_of) as f on f.customer_id = s.customer_id
    left join (select * from scoring.health_scores where as_of_date = $as_of) as h on h.customer_id = s.customer_id
    left join (
        select customer_id, expected_value_12m from scoring.customer_clv_predicted where as_of_date = $as_of
    ) as v on v.customer_id = s.customer_id
),

targeted as (
    select
        d.*,
        k.*,
        -- "entered X today": the stage changed since yesterday, or the customer signed up today
        d.previous_stage is distinct from d.stage
            and (d.previous_stage is not null or d.days_since_signup = 0) as entered_today
    from stage_day as d
    inner join outreach_campaigns as k
        on (k.stages is null or list_contains(k.stages, d.stage))
        and (k.warning_tiers is null or list_contains(k.warning_tiers, d.warning_tier))
        and (k.rfm_segments is null or list_contains(k.rfm_segments, d.rfm_segment))
        and (k.health_bands is null or list_contains(k.health_bands, d.health_band))
        and (k.entered_from is null or list_contains(k.entered_from, d.previous_stage))
        -- the model's view (issue 15): a customer without a prediction (NULL) never matches these
        and (k.p_alive_below is null or d.p_alive < k.p_alive_below)
        and (k.p_alive_above is null or d.p_alive > k.p_alive_above)
        and (k.expected_value_above is null or d.expected_value_12m > k.expected_value_above)
),

guarded as materialized (
    select
        t.*,
        c.first_name,
        c.last_name,
        c.email,
        c.phone,
        c.country,
        c.segment,
        case t.address_column when 'email' then c.email when 'phone' then c.phone end as address,
        list_filter([
            case when s.customer_id is not null then 'suppressed' end,
            case
                when not coalesce(case t.consent_column when 'email_opt_in' then c.email_opt_in
                    when 'sms_opt_in' then c.sms_opt_in end, false) then 'no_consent'
            end,
            case
                when coalesce(trim(case t.address_column when 'email' then c.email
                    when 'phone' then c.phone end), '') = '' then 'no_address'
            end,
            case when coalesce(w.contacts_in_cap_window, 0) >= $cap_max_contacts then 'frequency_cap' end,
            case when l.last_contact_date > $as_of::date - t.cooldown_days then 'cooldown' end
        ], lambda reason: reason is not null) as guard_reasons,
        ('0x' || substr(md5(t.campaign || '|' || t.customer_id), 1, 15))::bigint / 1152921504606846976.0
            < t.holdout_share as held_out
    from targeted as t
    left join customers_as_of as c on c.customer_id = t.customer_id
    left join suppressed as s on s.customer_id = t.customer_id
    left join contact_windows as w on w.customer_id = t.customer_id
    left join campaign_last_contact as l on l.customer_id = t.customer_id and l.campaign = t.campaign
    where t.entered is null or (t.entered_today and list_contains(t.entered, t.stage))
),

-- The customer's pick and the daily limits are decided on narrow rows: a window over the guarded
-- rows would sort all ~50 of their columns (two such windows were half of this query at 1M customers).
picks as (
    -- guard-passing campaigns first, then by priority (unique among active campaigns): the pick of the day
    select
        customer_id,
        arg_min(campaign, (len(guard_reasons) > 0)::bigint * 4294967296 + priority) as pick,
        count(*) filter (where len(guard_reasons) = 0) as eligible_campaigns
    from guarded
    group by customer_id
),

limits as (
    -- a campaign's daily_limit (e.g. account-manager capacity) keeps its most valuable picks
    select
        g.customer_id,
        g.campaign,
        row_number() over (
            partition by g.campaign order by g.revenue_lifetime desc nulls last, g.customer_id
        ) as campaign_rank
    from guarded as g
    inner join picks as p on p.customer_id = g.customer_id and p.pick = g.campaign
    where g.daily_limit is not null and len(g.guard_reasons) = 0
),

decided as (
    select
        g.*,
        p.eligible_campaigns,
        case
            when len(g.guard_reasons) > 0 then g.guard_reasons
            when p.pick <> g.campaign then ['lower_priority']
            when l.campaign_rank > g.daily_limit then ['daily_limit']
            else []::varchar[]
        end as reasons
    from guarded as g
    inner join picks as p on p.customer_id = g.customer_id
    left join limits as l on l.customer_id = g.customer_id and l.campaign = g.campaign
)

select
    $as_of::date as as_of_date,
    customer_id,
    campaign,
    channel,
    priority,
    case
        when len(reasons) > 0 then 'excluded'
        when held_out then 'holdout'
        else 'contacted'
    end as status,
    held_out,
    case
        when len(reasons) = 0 then concat_ws(
            '; ',
            case when stages is not null then 'stage ' || stage end,
            case when entered is not null then 'entered ' || stage || ' today from ' || coalesce(previous_stage, '(signup)') end,
            case when warning_tiers is not null then 'warning tier ' || warning_tier end,
            case when rfm_segments is not null then 'RFM segment ' || rfm_segment end,
            case when health_bands is not null then 'health band ' || health_band end,
            -- P(alive) rounded away from the threshold, so the words never contradict the target
            case
                when p_alive_below is not null
                    then printf('P(alive) %.2f below %s', floor(p_alive * 100) / 100, p_alive_below::varchar)
            end,
            case
                when p_alive_above is not null
                    then printf('P(alive) %.2f above %s', ceil(p_alive * 100) / 100, p_alive_above::varchar)
            end,
            case
                when expected_value_above is not null
                    then printf('expected value %.2f above %s', expected_value_12m, expected_value_above::varchar)
            end,
            'priority ' || priority || ', first of ' || eligible_campaigns || ' eligible campaign'
            || case when eligible_campaigns > 1 then 's' else '' end
        )
    end as reason_selected,
    reasons as reasons_excluded,
    stage,
    address,
    case
        when len(reasons) > 0 or offer_code is null then null
        when offer_unique then offer_code || '-' || upper(substr(md5(campaign || '|' || customer_id || '|' || $as_of::varchar), 1, 8))
        else offer_code
    end as offer_code,
    $playbook_version as playbook_version,
    -- personalization (rendering.VARIABLES)
    first_name,
    last_name,
    email,
    phone,
    country,
    segment,
    previous_stage,
    days_in_stage,
    days_since_last_order,
    orders_lifetime,
    revenue_lifetime as lifetime_revenue,
    favourite_category,
    health_score,
    health_band,
    warning_tier,
    rfm_segment,
    offer_description,
    $as_of::date + offer_valid_days as offer_expires
from decided
-- no ORDER BY: every reader of the day's candidates orders what it needs (a sort of ~50 columns)
