-- Note: each row belongs to one user. Written by `saas add resource`.
create table notes (
    id blob primary key not null,
    user_id blob not null references users (id) on delete cascade,
    body text not null,
    pinned integer not null,
    created_at text not null,
    updated_at text not null
) strict;

-- Serves the list: one user's notes, newest first.
create index notes_user_id_id on notes (user_id, id);
