-- Stage spells and the day-to-day columns of lifecycle.customer_stage_daily, rebuilt
-- from $after onwards. $after is the last computed day before the earliest day just
-- written (NULL when there is none): everything up to it is unchanged, so only the
-- spells current at $after and later are redone. The result depends on the set of
-- daily rows only, never on the order the days were computed in.
--
-- A spell is a maximal run of a customer's consecutive computed days in one stage:
-- valid_from = its first day, valid_to = the day before the next spell starts (NULL
-- while open). previous_stage = the stage on the customer's previous computed day
-- (NULL on their first day); stage_since = the spell's valid_from;
-- days_in_stage = as_of_date - stage_since + 1.

-- 1. forget spells that start after $after; reopen the ones current at $after
delete from lifecycle.stage_history
where $after is null or valid_from > $after;

update lifecycle.stage_history set valid_to = null
where valid_to >= $after;

-- 2. a new spell wherever the stage differs from the previous computed day
insert into lifecycle.stage_history
with days as (
    select
        customer_id,
        as_of_date,
        stage,
        lag(stage) over (partition by customer_id order by as_of_date) as prior_stage
    from lifecycle.customer_stage_daily
    where $after is null or as_of_date >= $after
)

select
    customer_id,
    stage,
    as_of_date as valid_from,
    null::date as valid_to,
    prior_stage as previous_stage
from days
where ($after is null or as_of_date > $after)
    and prior_stage is distinct from stage;

-- 3. close every open spell that a later one follows
update lifecycle.stage_history as h
set valid_to = n.next_from - 1
from (
    select
        customer_id,
        valid_from,
        lead(valid_from) over (partition by customer_id order by valid_from) as next_from
    from lifecycle.stage_history
    where valid_to is null
) as n
where h.customer_id = n.customer_id
    and h.valid_from = n.valid_from
    and h.valid_to is null
    and n.next_from is not null;

-- 4. the day-to-day columns of every row after $after
update lifecycle.customer_stage_daily as d
set
    previous_stage = x.prior_stage,
    stage_since = x.valid_from,
    days_in_stage = date_diff('day', x.valid_from, d.as_of_date)::integer + 1
from (
    select
        s.customer_id,
        s.as_of_date,
        s.prior_stage,
        h.valid_from
    from (
        select
            customer_id,
            as_of_date,
            lag(stage) over (partition by customer_id order by as_of_date) as prior_stage
        from lifecycle.customer_stage_daily
        where $after is null or as_of_date >= $after
    ) as s
    inner join (
        -- only spells still open on $after or later can cover the days being rewritten
        select *
        from lifecycle.stage_history
        where $after is null or valid_to is null or valid_to >= $after
    ) as h
        on h.customer_id = s.customer_id
        and s.as_of_date >= h.valid_from
        and s.as_of_date <= coalesce(h.valid_to, s.as_of_date)
    where $after is null or s.as_of_date > $after
) as x
where d.customer_id = x.customer_id
    and d.as_of_date = x.as_of_date;
