-- Organizations, who belongs to them with which role, and invitations to join.
--
-- Deleting an organization deletes its memberships, its invitations and every row
-- that references it; deleting a user deletes their memberships.

create table organizations (
    id blob primary key not null,
    name text not null,
    -- Unique across the app, for URLs people read.
    slug text not null unique,
    created_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) strict;

create trigger organizations_updated_at after update on organizations
for each row when new.updated_at = old.updated_at
begin
    update organizations set updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') where id = new.id;
end;

create table memberships (
    org_id blob not null references organizations (id) on delete cascade,
    user_id blob not null references users (id) on delete cascade,
    role text not null check (role in ('owner', 'admin', 'member')),
    -- When the user joined.
    created_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    primary key (org_id, user_id)
) strict;

create index memberships_user_id on memberships (user_id);

create table invitations (
    id blob primary key not null,
    org_id blob not null references organizations (id) on delete cascade,
    -- Stored trimmed and lowercased, as users' emails are.
    email text not null,
    role text not null check (role in ('owner', 'admin', 'member')),
    -- SHA-256 of the token, hex; the token itself is only ever in the mail. Null
    -- until the job that sends the mail issues it.
    token_hash text unique,
    -- Null once the inviter's account is deleted; the invitation still stands.
    invited_by blob references users (id) on delete set null,
    created_at text not null,
    expires_at text not null,
    accepted_at text,
    revoked_at text
) strict;

-- At most one pending invitation per address and organization.
create unique index invitations_pending_email on invitations (org_id, email)
where accepted_at is null and revoked_at is null;

-- An API token limited to one organization reaches that organization's routes only;
-- null for a token that reaches every organization of its user.
alter table api_tokens add column org_id blob references organizations (id) on delete cascade;
