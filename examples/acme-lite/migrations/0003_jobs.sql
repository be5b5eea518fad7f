-- Background jobs: the outbox of mail and any other work done after a request.
--
-- A job is inserted in the same transaction as the change that causes it, so it
-- exists if and only if that change committed. A worker claims a due job by setting
-- `locked_until` (a lease) and counting the attempt; a worker that dies mid-job
-- leaves a lease that runs out, and the job is claimed again.

create table jobs (
    id blob primary key not null,
    -- What to do: the name of a `Job` variant, such as `send_mail`.
    kind text not null,
    -- The variant's fields, as JSON.
    payload text not null,
    -- Claims so far, the current one included.
    attempts integer not null default 0,
    -- Not before: the time of enqueueing, pushed back after each failure.
    run_at text not null,
    -- While in the future, a worker is running the job; null when nobody claimed it.
    locked_until text,
    -- Higher runs first: account mail (verification and reset links) is 1, so it never
    -- waits behind a flood of other jobs; everything else is 0.
    priority integer not null default 0,
    -- Why the last attempt failed.
    last_error text,
    -- `pending` until the job succeeds (`done`) or fails for good (`failed`).
    state text not null default 'pending' check (state in ('pending', 'done', 'failed')),
    created_at text not null,
    -- When the job became `done` or `failed`; old finished jobs are deleted.
    finished_at text
) strict;

-- Workers look only at pending jobs, the highest priority first; cleanup only at
-- finished ones.
create index jobs_pending on jobs (priority desc, id) where state = 'pending';
create index jobs_finished on jobs (finished_at) where state <> 'pending';
