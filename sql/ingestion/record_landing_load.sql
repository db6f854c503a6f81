insert or replace into quality.landing_loads
values (?, ?::date, ?, ?, ?, ?, now())
