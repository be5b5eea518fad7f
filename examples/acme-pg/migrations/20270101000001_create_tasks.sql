-- Task: each row belongs to one organization. Written by `saas add resource`.
create table tasks (
    id uuid primary key,
    org_id uuid not null references organizations (id) on delete cascade,
    title text not null,
    project_id uuid not null references projects (id) on delete cascade,
    -- Null when not given.
    assignee_id uuid references users (id) on delete set null,
    created_at timestamptz not null,
    updated_at timestamptz not null
);

-- Serves the list: one organization's tasks, newest first.
create index tasks_org_id_id on tasks (org_id, id);
create index tasks_project_id on tasks (project_id);
create index tasks_assignee_id on tasks (assignee_id);
