-- The synthetic customer universe of the bulk benchmark history (benchmarks/history.py).
--
-- Time is `t`, in days relative to the start of the new day ($new_day, t = 0; t = -1 is the
-- day before). Everything is a pure function of the customer number, so a warehouse with 1
-- year and one with 3 years of history hold the same rows for their common days, and the new
-- day's landing files are the same for both. Randomness: hashes of (customer, purpose, ...).
--
-- bench_signup_days   day weights of signups over $universe_days: growth, weekends, burst days
-- bench_customers     one row per customer: signup, persona, buying stints, rates, segment, channel
-- bench_windows       activity windows: [lo, hi) in t with an order rate and an event rate per day

-- uniform [0, 1) from a hash of three values; from a hash and a purpose; exponential; normal
create or replace temp macro bu(a, b, c) as ((hash(a, b, c) >> 11)::double / 9007199254740992.0);
create or replace temp macro bh(h, k) as ((hash(h, k) >> 11)::double / 9007199254740992.0);
create or replace temp macro bexp(a, b, mean) as (-ln(1.0 - bu(a, b, 0)) * mean);
create or replace temp macro bnorm(a, b) as (sqrt(-2.0 * ln(1.0 - bu(a, b, 0))) * cos(2 * pi() * bu(a, b, 1)));
-- a value of `vals` by the cumulative shares `cum` (one fewer than vals) and a uniform u
create or replace temp macro bchoice(vals, cum, u) as vals[1 + len(list_filter(cum, lambda x: x <= u))];
create or replace temp macro bcid(i) as ('C' || lpad(i::varchar, 7, '0'));
-- instant t (days from the new day's start) as a timestamp, and the business day it falls in
create or replace temp macro bts(t, e0) as to_timestamp(floor(e0 + t * 86400));
create or replace temp macro bday(t) as floor(t)::integer;
create or replace temp macro bfirst(i) as bchoice(
    ['Ada', 'Ben', 'Chloe', 'Dmitri', 'Elif', 'Farah', 'Gustav', 'Hana', 'Ivan', 'Jia', 'Kofi', 'Lena'],
    [0.08, 0.16, 0.25, 0.33, 0.41, 0.5, 0.58, 0.66, 0.75, 0.83, 0.91], bu(i, 33, 0));
create or replace temp macro blast(i) as bchoice(
    ['Smith', 'Mueller', 'Garcia', 'Chen', 'Okafor', 'Kowalski', 'Nguyen', 'Rossi'],
    [0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875], bu(i, 34, 0));
create or replace temp macro bemail(i) as lower(bfirst(i) || '.' || blast(i) || '.' || i || '@example.com');

create or replace temp table bench_signup_days as
with days as (
    select
        t,
        exp($growth * t / 365.0)
            * case dayofweek($new_day::date + t::integer) when 6 then 1.25 when 0 then 1.15 else 1.0 end
            * case when bu(t, 7, 0) < 0.03 then 4.0 else 1.0 end as weight
    from range(-$universe_days, 1) as r(t)
)
select
    t,
    coalesce(sum(weight) over (order by t rows between unbounded preceding and 1 preceding), 0)
        / sum(weight) over () as cum_lo
from days;

create or replace temp table bench_customers as
with drawn as (
    select i, bu(i, 1, 0) as u_signup
    from range($n) as r(i)
),

signed_up as (
    select drawn.i, d.t + bu(drawn.i, 2, 0) as signup_t
    from drawn asof join bench_signup_days as d on drawn.u_signup >= d.cum_lo
),

typed as (
    select
        i,
        signup_t,
        bchoice(['prospect', 'one_time', 'repeat', 'loyal', 'lapsing', 'returning'],
                [0.22, 0.52, 0.72, 0.80, 0.93], bu(i, 3, 0)) as persona,
        exp(0.6 * bnorm(i, 4) - 0.18) as order_mult,
        exp(0.6 * bnorm(i, 5) - 0.18) as event_mult
    from signed_up
),

stints as (
    select
        *,
        case when persona <> 'prospect' then signup_t + bexp(i, 6, 4.0) end as first_t
    from typed
),

ends as (
    select
        *,
        case persona
            when 'repeat' then first_t + bexp(i, 7, 900.0)
            when 'loyal' then first_t + bexp(i, 7, 1500.0)
            when 'lapsing' then first_t + 40 + 110 * bu(i, 7, 0)
            when 'returning' then first_t + 30 + 50 * bu(i, 7, 0)
        end as stint_end
    from stints
)

select
    i,
    signup_t,
    persona,
    first_t,
    stint_end,
    case when persona = 'returning' then stint_end + 95 + 105 * bu(i, 8, 0) end as comeback_t,
    case when persona = 'returning' then stint_end + 95 + 105 * bu(i, 8, 0) + bexp(i, 9, 900.0)
         else coalesce(stint_end, first_t, signup_t) end as end_t,
    $order_scale * order_mult * case persona
        when 'repeat' then 1 / 35.0 when 'loyal' then 1 / 11.0 when 'lapsing' then 1 / 18.0
        when 'returning' then 1 / 22.0 else 0.0 end as order_rate,
    $event_scale * event_mult * case persona
        when 'loyal' then 0.55 else 0.30 end as event_rate,
    bchoice([1.0, 2.4, 5.5], [0.72, 0.93], bu(i, 10, 0)) as spend_factor,
    bchoice(['consumer', 'smb', 'enterprise'], [0.72, 0.93], bu(i, 10, 0)) as segment,
    bchoice(['organic', 'paid_search', 'social', 'display', 'affiliate', 'email', 'referral'],
            [0.30, 0.52, 0.70, 0.77, 0.83, 0.90], bu(i, 11, 0)) as acquisition_channel,
    bchoice(['electronics', 'home', 'fashion', 'beauty', 'sports', 'books', 'toys'],
            [0.20, 0.38, 0.55, 0.68, 0.80, 0.91], bu(i, 12, 0)) as favourite_category
from ends;

create or replace temp table bench_windows as
-- everyone browses after signing up
select i, 0 as w, signup_t as lo, signup_t + 1 + 24 * bu(i, 20, 0) as hi, 0.0 as order_rate,
       0.25 * $event_scale as event_rate
from bench_customers
union all
-- a one-time buyer browses a while after the only order
select i, 1, first_t, first_t + 5 + 40 * bu(i, 21, 0), 0.0, 0.15 * $event_scale
from bench_customers
where persona = 'one_time'
union all
-- buying stints: repeat purchases and activity (a returning buyer has a second stint after a pause)
select i, 2, first_t, stint_end, order_rate, event_rate
from bench_customers
where stint_end is not null
union all
select i, 3, comeback_t, end_t, order_rate, event_rate
from bench_customers
where comeback_t is not null
union all
-- a tail of occasional activity after the last stint
select i, 4, end_t, end_t + 5 + 40 * bu(i, 22, 0), 0.0, 0.1 * $event_scale
from bench_customers
where stint_end is not null;

-- the windows cut into 30-day blocks b (block b holds days -30b-29 .. -30b), for blocks b0..b1
create or replace temp macro bench_window_blocks(b0, b1) as table
select
    w.i,
    w.w,
    r.b,
    greatest(w.lo, -30.0 * r.b - 29) as lo,
    least(w.hi, -30.0 * r.b + 1) as hi,
    w.order_rate,
    w.event_rate
from bench_windows as w, range(b0, b1 + 1) as r(b)
where w.lo < -30.0 * r.b + 1
    and w.hi > -30.0 * r.b - 29;

-- every order placed in blocks b0..b1: each buyer's first order, then Poisson-like repeats
-- (count = rate x days, rounded at random) at uniform instants of the window's block part
create or replace temp macro bench_placed(b0, b1) as table
with counted as (
    select i, w, b, lo, hi, floor(order_rate * (hi - lo) + bu(i * 8 + w, b, 11))::integer as n
    from bench_window_blocks(b0, b1)
    where order_rate > 0
),

repeats as (
    select i, 'O' || i || '-' || w || '-' || b || '-' || k as order_id,
           lo + bu(i * 8 + w, b * 4096 + k, 12) * (hi - lo) as t
    from (select i, w, b, lo, hi, unnest(range(n)) as k from counted where n > 0)
),

firsts as (
    select i, 'O' || i || '-0' as order_id, first_t as t
    from bench_customers
    where first_t >= -30.0 * b1 - 29
        and first_t < -30.0 * b0 + 1
)

select i, order_id, t, hash(order_id) as h
from (select * from repeats union all select * from firsts);
