-- Users and their sessions, and the helper that keeps `updated_at` current.

create function set_updated_at() returns trigger as $$
begin
    new.updated_at = now();
    return new;
end;
$$ language plpgsql;

create table users (
    id uuid primary key,
    -- Stored trimmed and lowercased by the app, so this index makes emails unique
    -- whatever their case.
    email text not null unique,
    name text not null,
    password_hash text not null,
    -- Null until the user confirms the address.
    email_verified_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

create trigger users_updated_at before update on users
for each row execute function set_updated_at();

create table sessions (
    id uuid primary key,
    user_id uuid not null references users (id) on delete cascade,
    -- SHA-256 of the token, hex; the token itself is only ever in the cookie.
    token_hash text not null unique,
    -- Null when the client sent none.
    user_agent text,
    created_at timestamptz not null,
    last_seen_at timestamptz not null
);

create index sessions_user_id on sessions (user_id);
