-- When each periodic task last started, whichever instance ran it. An instance runs a
-- task only after claiming it here (an update that only one instance can win), so a
-- fleet runs each task once per interval, not once per instance.

create table periodic_runs (
    task text primary key,
    -- RFC 3339, compared through julianday.
    started_at text not null
);

insert into periodic_runs (task, started_at) values ('cleanup', '1970-01-01T00:00:00Z');
