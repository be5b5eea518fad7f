-- Users and their sessions.
--
-- Timestamps are RFC 3339 text in UTC, as sqlx writes them; ids are UUIDv7 as
-- 16-byte blobs, so ordering by id is ordering by creation time.

create table users (
    id blob primary key not null,
    -- Stored trimmed and lowercased by the app, so this index makes emails unique
    -- whatever their case.
    email text not null unique,
    name text not null,
    password_hash text not null,
    -- Null until the user confirms the address.
    email_verified_at text,
    created_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) strict;

create trigger users_updated_at after update on users
for each row when new.updated_at = old.updated_at
begin
    update users set updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') where id = new.id;
end;

create table sessions (
    id blob primary key not null,
    user_id blob not null references users (id) on delete cascade,
    -- SHA-256 of the token, hex; the token itself is only ever in the cookie.
    token_hash text not null unique,
    -- Null when the client sent none.
    user_agent text,
    created_at text not null,
    last_seen_at text not null
) strict;

create index sessions_user_id on sessions (user_id);
