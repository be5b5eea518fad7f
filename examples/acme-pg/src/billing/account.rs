//! A billing owner's row in `billing_accounts`: its Stripe customer and subscription,
//! as the webhook last left them, and what that subscription entitles it to.

use sqlx::FromRow;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::db::{self, Db, DbPool};

/// The columns every query of this module reads.
pub const COLUMNS: &str = "owner_id, stripe_customer_id, stripe_subscription_id, \
     checkout_session_id, plan, status, current_period_end, cancel_at_period_end, trial_end, \
     last_event_created, last_event_id, payment_failed_at";

/// One owner's billing state. An owner without a row has never been billed: free.
#[derive(Debug, Clone, FromRow)]
pub struct Account {
    pub owner_id: Uuid,
    pub stripe_customer_id: Option<String>,
    /// Once set, never empty again: whether the owner ever had a subscription.
    pub stripe_subscription_id: Option<String>,
    /// The Checkout session created last and not completed yet.
    pub checkout_session_id: Option<String>,
    /// The plan of the subscription's price, when that price is one of ours.
    pub plan: Option<String>,
    /// The subscription's Stripe status (`active`, `past_due`, …).
    pub status: Option<String>,
    pub current_period_end: Option<OffsetDateTime>,
    pub cancel_at_period_end: bool,
    pub trial_end: Option<OffsetDateTime>,
    /// The `created` time of the last subscription event applied (Unix seconds).
    pub last_event_created: i64,
    /// The id of that event: of events made in the same second, the greatest is kept.
    pub last_event_id: Option<String>,
    /// When the first payment failure that no later successful payment settled was
    /// made; null while paid up.
    pub payment_failed_at: Option<OffsetDateTime>,
}

/// Whether a subscription with this status has ended for good: Stripe never brings a
/// `canceled` or `incomplete_expired` subscription back (a new one gets a new id).
pub fn is_terminal(status: &str) -> bool {
    matches!(status, "canceled" | "incomplete_expired")
}

impl Account {
    /// The id of the paid plan this account is entitled to now, if any: `trialing` and
    /// `active` keep it; `past_due` keeps it while Stripe retries the payment, until
    /// `grace` after the first failure no payment has settled (never from the period's
    /// end, which Stripe moves forward before it charges); every other status, known
    /// or not, falls back to free.
    pub fn paid_plan(&self, grace: Duration, now: OffsetDateTime) -> Option<&str> {
        let entitled = match self.status.as_deref()? {
            "trialing" | "active" => true,
            "past_due" => self.grace_ends_at(grace).is_some_and(|ends| now < ends),
            _ => false,
        };
        entitled.then_some(self.plan.as_deref()).flatten()
    }

    /// Whether a new subscription may start with a trial: only for an owner that never
    /// had one, so cancelling and subscribing again is no way to trial forever.
    pub fn may_trial(&self) -> bool {
        self.stripe_subscription_id.is_none()
    }

    /// While the subscription is past due: when its paid plan ends unless a payment
    /// goes through first.
    pub fn grace_ends_at(&self, grace: Duration) -> Option<OffsetDateTime> {
        if self.status.as_deref() != Some("past_due") {
            return None;
        }
        self.payment_failed_at.map(|failed_at| failed_at + grace)
    }
}

/// The owner's account, if it has one.
pub async fn find<'e>(
    executor: impl sqlx::Executor<'e, Database = Db>,
    owner_id: Uuid,
) -> Result<Option<Account>, sqlx::Error> {
    let sql = format!("select {COLUMNS} from billing_accounts where owner_id = $1");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(owner_id)
        .fetch_optional(executor)
        .await
}

/// The owner's account, created if missing, locked until the transaction ends: what
/// makes a plan-limit check and the insert it allows one step for concurrent requests.
pub async fn lock(
    tx: &mut sqlx::Transaction<'static, Db>,
    owner_id: Uuid,
) -> Result<Account, sqlx::Error> {
    sqlx::query(
        "insert into billing_accounts (owner_id) values ($1) on conflict (owner_id) do nothing",
    )
    .bind(owner_id)
    .execute(&mut **tx)
    .await?;
    sqlx::query_as(sqlx::AssertSqlSafe(locking_select("owner_id")))
        .bind(owner_id)
        .fetch_one(&mut **tx)
        .await
}

/// The owner's account if it has one, locked until the transaction ends.
pub async fn lock_existing(
    tx: &mut sqlx::Transaction<'static, Db>,
    owner_id: Uuid,
) -> Result<Option<Account>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(locking_select("owner_id")))
        .bind(owner_id)
        .fetch_optional(&mut **tx)
        .await
}

/// The owner's account, created if the owner exists but has none yet (a checkout
/// completed before this app stored its customer), locked until the transaction ends;
/// `None` when there is no such owner.
pub async fn lock_for_owner(
    tx: &mut sqlx::Transaction<'static, Db>,
    owner_id: Uuid,
) -> Result<Option<Account>, sqlx::Error> {
    sqlx::query(
        "insert into billing_accounts (owner_id) select id from organizations where id = $1
         on conflict (owner_id) do nothing",
    )
    .bind(owner_id)
    .execute(&mut **tx)
    .await?;
    lock_existing(tx, owner_id).await
}

/// The account of a Stripe customer, locked until the transaction ends.
pub async fn lock_of_customer(
    tx: &mut sqlx::Transaction<'static, Db>,
    customer_id: &str,
) -> Result<Option<Account>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(locking_select("stripe_customer_id")))
        .bind(customer_id)
        .fetch_optional(&mut **tx)
        .await
}

/// Records `session_id` as the owner's open Checkout session; returns the one it
/// replaces, which the caller expires at Stripe. Concurrent checkouts take turns on the
/// row, so each session but the last stored is returned to exactly one of them.
pub async fn replace_checkout_session(
    db: &DbPool,
    owner_id: Uuid,
    session_id: &str,
) -> Result<Option<String>, sqlx::Error> {
    let mut tx = db::begin_write(db).await?;
    let previous = lock(&mut tx, owner_id).await?.checkout_session_id;
    sqlx::query("update billing_accounts set checkout_session_id = $2 where owner_id = $1")
        .bind(owner_id)
        .bind(session_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(previous)
}

/// Whether the app cancelled `subscription_id` as a second live subscription.
pub async fn is_duplicate<'e>(
    executor: impl sqlx::Executor<'e, Database = Db>,
    subscription_id: &str,
) -> Result<bool, sqlx::Error> {
    let found: Option<String> = sqlx::query_scalar(
        "select subscription_id from billing_duplicate_subscriptions where subscription_id = $1",
    )
    .bind(subscription_id)
    .fetch_optional(executor)
    .await?;
    Ok(found.is_some())
}

/// Records `subscription_id` as a duplicate of the owner's subscription, before it is
/// cancelled: from then on its events are ignored.
pub async fn mark_duplicate<'e>(
    executor: impl sqlx::Executor<'e, Database = Db>,
    owner_id: Uuid,
    subscription_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into billing_duplicate_subscriptions (subscription_id, owner_id) values ($1, $2)
         on conflict (subscription_id) do nothing",
    )
    .bind(subscription_id)
    .bind(owner_id)
    .execute(executor)
    .await?;
    Ok(())
}

/// Whose subscription a failed-payment mail is about, as its text says it.
pub const WHOSE_SUBSCRIPTION: &str = "the subscription of an organization you own";

/// Who is told about the owner's billing: the organization's owners.
pub async fn owner_emails<'e>(
    executor: impl sqlx::Executor<'e, Database = Db>,
    owner_id: Uuid,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "select users.email from memberships
         join users on users.id = memberships.user_id
         where memberships.org_id = $1 and memberships.role = 'owner'
         order by users.email",
    )
    .bind(owner_id)
    .fetch_all(executor)
    .await
}

/// Whether `owner_id` has a subscription that will charge again: one that has not
/// ended and is not set to end with its period. A subscription whose status no event
/// has told yet counts as one that renews.
pub async fn renews(
    tx: &mut sqlx::Transaction<'static, Db>,
    owner_id: Uuid,
) -> Result<bool, sqlx::Error> {
    let row: Option<(Option<String>, Option<String>, bool)> = sqlx::query_as(
        "select stripe_subscription_id, status, cancel_at_period_end
         from billing_accounts where owner_id = $1",
    )
    .bind(owner_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some((subscription, status, cancel_at_period_end)) = row else {
        return Ok(false);
    };
    let ended = status.as_deref().is_some_and(is_terminal);
    Ok(subscription.is_some() && !cancel_at_period_end && !ended)
}

/// Selects the account whose `column` is `$1`, locking its row.
fn locking_select(column: &str) -> String {
    format!("select {COLUMNS} from billing_accounts where {column} = $1 for update")
}

/// The Idempotency-Key for creating the owner's Stripe customer: one per owner, made on
/// first use in one statement, so concurrent checkouts send the same key and Stripe
/// makes one customer.
pub async fn customer_idempotency_key<'e>(
    executor: impl sqlx::Executor<'e, Database = Db>,
    owner_id: Uuid,
) -> Result<String, sqlx::Error> {
    sqlx::query_scalar(
        "insert into billing_accounts (owner_id, customer_idempotency_key) values ($1, $2)
         on conflict (owner_id) do update
         set customer_idempotency_key = coalesce(
             billing_accounts.customer_idempotency_key,
             excluded.customer_idempotency_key
         )
         returning customer_idempotency_key",
    )
    .bind(owner_id)
    .bind(format!("customer-{owner_id}-{}", Uuid::now_v7()))
    .fetch_one(executor)
    .await
}

/// Drops `key` after Stripe answered it with a 5xx: Stripe replays that answer to the
/// same key for a day, so the next attempt needs a new one.
pub async fn forget_customer_idempotency_key<'e>(
    executor: impl sqlx::Executor<'e, Database = Db>,
    owner_id: Uuid,
    key: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update billing_accounts set customer_idempotency_key = null
         where owner_id = $1 and customer_idempotency_key = $2",
    )
    .bind(owner_id)
    .bind(key)
    .execute(executor)
    .await?;
    Ok(())
}

/// Records the owner's Stripe customer unless it has one already; returns the one
/// that stays. One statement, so two concurrent checkouts agree on it.
pub async fn keep_customer<'e>(
    executor: impl sqlx::Executor<'e, Database = Db>,
    owner_id: Uuid,
    customer_id: &str,
) -> Result<String, sqlx::Error> {
    sqlx::query_scalar(
        "insert into billing_accounts (owner_id, stripe_customer_id) values ($1, $2)
         on conflict (owner_id) do update
         set stripe_customer_id = coalesce(billing_accounts.stripe_customer_id, excluded.stripe_customer_id)
         returning stripe_customer_id",
    )
    .bind(owner_id)
    .bind(customer_id)
    .fetch_one(executor)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An account on `pro` whose period ends in a month (where Stripe puts it when it
    /// renews, before it charges), with a payment that failed at `failed_at`.
    fn account(status: &str, failed_at: Option<OffsetDateTime>) -> Account {
        Account {
            owner_id: Uuid::nil(),
            stripe_customer_id: Some("cus_1".to_owned()),
            stripe_subscription_id: Some("sub_1".to_owned()),
            checkout_session_id: None,
            plan: Some("pro".to_owned()),
            status: Some(status.to_owned()),
            current_period_end: Some(OffsetDateTime::now_utc() + Duration::days(30)),
            cancel_at_period_end: false,
            trial_end: None,
            last_event_created: 0,
            last_event_id: None,
            payment_failed_at: failed_at,
        }
    }

    #[test]
    fn statuses_map_to_the_paid_plan_or_to_free() {
        let now = OffsetDateTime::now_utc();
        let grace = Duration::days(7);
        let failed_yesterday = Some(now - Duration::days(1));
        for (status, paid) in [
            ("trialing", true),
            ("active", true),
            ("past_due", true),
            ("incomplete", false),
            ("incomplete_expired", false),
            ("unpaid", false),
            ("canceled", false),
            ("paused", false),
            ("a_status_stripe_adds_later", false),
        ] {
            let entitled = account(status, failed_yesterday)
                .paid_plan(grace, now)
                .is_some();
            assert_eq!(entitled, paid, "{status}");
        }
    }

    #[test]
    fn past_due_keeps_the_plan_for_the_grace_after_the_first_unsettled_failure() {
        let now = OffsetDateTime::now_utc();
        let grace = Duration::days(7);
        let within = account("past_due", Some(now - Duration::days(6)));
        assert_eq!(within.paid_plan(grace, now), Some("pro"));
        assert_eq!(
            within.grace_ends_at(grace),
            Some(now - Duration::days(6) + grace)
        );
        // The period ends in a month, but the grace counts from the failure.
        let after = account("past_due", Some(now - Duration::days(8)));
        assert_eq!(after.paid_plan(grace, now), None);
        // Past due with no failure on record: no grace to count, so free.
        assert_eq!(account("past_due", None).paid_plan(grace, now), None);
        assert_eq!(account("active", Some(now)).grace_ends_at(grace), None);
    }

    #[test]
    fn a_price_that_is_none_of_our_plans_entitles_to_nothing() {
        let now = OffsetDateTime::now_utc();
        let mut unknown = account("active", None);
        unknown.plan = None;
        assert_eq!(unknown.paid_plan(Duration::days(7), now), None);
    }
}
