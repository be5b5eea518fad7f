-- Project: each row belongs to one organization. Written by `saas add resource`.
create table projects (
    id uuid primary key,
    org_id uuid not null references organizations (id) on delete cascade,
    title text not null,
    -- Null when not given.
    description text,
    done boolean not null,
    -- Null when not given.
    due_on date,
    created_at timestamptz not null,
    updated_at timestamptz not null
);

-- Serves the list: one organization's projects, newest first.
create index projects_org_id_id on projects (org_id, id);
