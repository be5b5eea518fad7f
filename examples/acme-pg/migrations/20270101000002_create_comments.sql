-- Comment: each row belongs to one organization. Written by `saas add resource`.
create table comments (
    id uuid primary key,
    org_id uuid not null references organizations (id) on delete cascade,
    body text not null,
    task_id uuid not null references tasks (id) on delete cascade,
    created_at timestamptz not null,
    updated_at timestamptz not null
);

-- Serves the list: one organization's comments, newest first.
create index comments_org_id_id on comments (org_id, id);
create index comments_task_id on comments (task_id);
