-- Billing: each billing owner's Stripe customer and subscription, and every Stripe
-- event applied, so a redelivered event is recognised and changes nothing.

create table billing_accounts (
    owner_id uuid primary key references organizations (id) on delete cascade,
    stripe_customer_id text unique,
    -- The Idempotency-Key of creating the customer: shared by concurrent checkouts so
    -- Stripe makes one customer; replaced after Stripe answers 5xx, which it replays.
    customer_idempotency_key text,
    -- The subscription the owner's plan follows; once set, never empty again, which is
    -- how the app knows the owner had a subscription (and gets no second trial).
    stripe_subscription_id text,
    -- The Checkout session the app created last and Stripe has not completed: a new
    -- checkout expires it, so an owner has one open session at most.
    checkout_session_id text,
    -- The plan of the subscription's price; null when it is none of config/plans.toml.
    plan text,
    -- The subscription's Stripe status; null before the first subscription.
    status text,
    current_period_end timestamptz,
    cancel_at_period_end boolean not null default false,
    trial_end timestamptz,
    -- Stripe's `created` (Unix seconds) and id of the last subscription event
    -- applied: an older event arriving late does not overwrite a newer one, and of two
    -- made in the same second the one with the greater id is kept, whatever the order
    -- of arrival. The id is null before the first.
    last_event_created bigint not null default 0,
    last_event_id text,
    -- Stripe's `created` of the newest event saying the subscription is active: it
    -- settles every payment failure made before it. `payment_failed_at` is the first
    -- failure in `billing_payment_failures` made after it, whatever order the events
    -- arrive in; a past-due subscription's grace counts from there.
    last_active_event_created bigint not null default 0,
    payment_failed_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

create trigger billing_accounts_updated_at before update on billing_accounts
for each row execute function set_updated_at();

-- Kept for good: Stripe redelivers for days, and the rows are small.
create table stripe_events (
    id text primary key,
    type text not null,
    created bigint not null,
    received_at timestamptz not null
);

-- Every payment failure Stripe reported (`invoice.payment_failed`, or a subscription
-- event saying `past_due`), by event, so the first one an `active` event has not
-- settled can be found whatever order they arrive in.
create table billing_payment_failures (
    event_id text primary key references stripe_events (id) on delete cascade,
    owner_id uuid not null references billing_accounts (owner_id) on delete cascade,
    created bigint not null
);

create index billing_payment_failures_owner on billing_payment_failures (owner_id, created);

-- Subscriptions the app cancelled because the owner already had a live one (two
-- checkouts both paid): their events are ignored, so they never replace the one kept.
create table billing_duplicate_subscriptions (
    subscription_id text primary key,
    owner_id uuid not null references billing_accounts (owner_id) on delete cascade,
    cancelled_at timestamptz not null default now()
);
