-- Organizations, who belongs to them with which role, and invitations to join.
--
-- Deleting an organization deletes its memberships, its invitations and every row
-- that references it; deleting a user deletes their memberships.

create table organizations (
    id uuid primary key,
    name text not null,
    -- Unique across the app, for URLs people read.
    slug text not null unique,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

create trigger organizations_updated_at before update on organizations
for each row execute function set_updated_at();

create table memberships (
    org_id uuid not null references organizations (id) on delete cascade,
    user_id uuid not null references users (id) on delete cascade,
    role text not null check (role in ('owner', 'admin', 'member')),
    -- When the user joined.
    created_at timestamptz not null default now(),
    primary key (org_id, user_id)
);

create index memberships_user_id on memberships (user_id);

create table invitations (
    id uuid primary key,
    org_id uuid not null references organizations (id) on delete cascade,
    -- Stored trimmed and lowercased, as users' emails are.
    email text not null,
    role text not null check (role in ('owner', 'admin', 'member')),
    -- SHA-256 of the token, hex; the token itself is only ever in the mail. Null
    -- until the job that sends the mail issues it.
    token_hash text unique,
    -- Null once the inviter's account is deleted; the invitation still stands.
    invited_by uuid references users (id) on delete set null,
    created_at timestamptz not null,
    expires_at timestamptz not null,
    accepted_at timestamptz,
    revoked_at timestamptz
);

-- At most one pending invitation per address and organization.
create unique index invitations_pending_email on invitations (org_id, email)
where accepted_at is null and revoked_at is null;

-- An API token limited to one organization reaches that organization's routes only;
-- null for a token that reaches every organization of its user.
alter table api_tokens add column org_id uuid references organizations (id) on delete cascade;
