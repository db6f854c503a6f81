-- customers landing on days $lo..$hi: the signup record, and a second record for the ~3 %
-- who later withdraw email consent. A customer who signed up before the history's first day
-- ($first_t) lands on that day, as an initial import would.
with versions as (
    select i, signup_t as t_update, bu(i, 30, 0) < 0.8 as email_opt_in
    from bench_customers
    union all
    select i, signup_t + 5 + 195 * bu(i, 31, 0), false
    from bench_customers
    where bu(i, 32, 0) < 0.03
),

landed as (
    select v.*, c.signup_t, c.segment, c.acquisition_channel, greatest(bday(v.t_update), $first_t) as day
    from versions as v
    join bench_customers as c using (i)
    where v.t_update < 1
)

select
    bcid(i) as customer_id,
    bts(signup_t, $e0) as signup_at,
    bts(t_update, $e0) as updated_at,
    bfirst(i) as first_name,
    blast(i) as last_name,
    bemail(i) as email,
    case when bu(i, 35, 0) < 0.6 then '+1555' || lpad((hash(i, 36) % 10000000)::varchar, 7, '0') end as phone,
    bchoice(['US', 'GB', 'DE', 'FR', 'CA', 'AU', 'NL', 'ES'],
            [0.40, 0.54, 0.66, 0.75, 0.83, 0.89, 0.95], bu(i, 37, 0)) as country,
    acquisition_channel,
    segment,
    email_opt_in,
    bu(i, 35, 0) < 0.6 and bu(i, 38, 0) < 0.45 as sms_opt_in,
    case when acquisition_channel = 'referral' then bcid(floor(bu(i, 39, 0) * $n)::bigint) end as referred_by,
    $new_day::date + day as _partition_date
from landed
where day between $lo and $hi
