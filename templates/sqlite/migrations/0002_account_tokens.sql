-- API tokens, the one-time tokens sent by mail, and rate-limit counters.

create table api_tokens (
    id blob primary key not null,
    user_id blob not null references users (id) on delete cascade,
    name text not null,
    -- The first characters of the token, to tell tokens apart in a list.
    prefix text not null,
    -- SHA-256 of the token, hex; the token itself was shown once and never stored.
    token_hash text not null unique,
    created_at text not null,
    -- Null until the token is first used.
    last_used_at text,
    -- After this the token no longer authenticates; null for a token that never expires.
    expires_at text,
    -- A read-only token reads (GET) and changes nothing.
    read_only integer not null default 0
) strict;

create index api_tokens_user_id on api_tokens (user_id);

-- Email verification and password reset tokens.
create table one_time_tokens (
    id blob primary key not null,
    user_id blob not null references users (id) on delete cascade,
    purpose text not null check (purpose in ('verify_email', 'reset_password')),
    -- The address the token was sent to: it proves that address, and no other.
    email text not null,
    token_hash text not null unique,
    created_at text not null,
    expires_at text not null,
    -- Null until the token is used; a used token answers 410.
    used_at text
) strict;

create index one_time_tokens_user_id_purpose on one_time_tokens (user_id, purpose);

-- One counter per key (such as `auth-ip:203.0.113.7`) in a fixed window, shared by
-- every instance of the app.
create table rate_limits (
    key text primary key not null,
    -- Unix seconds at which the current window began.
    window_start integer not null,
    hits integer not null
) strict;
