//! Plans for tests about something other than billing: put an owner on a plan straight
//! in the database, as if Stripe's webhook had.

use time::OffsetDateTime;
use uuid::Uuid;

use super::TestApp;

impl TestApp {
    /// Puts `owner_id` on an active subscription to `plan`, as a webhook would leave it.
    pub async fn give_plan(&self, owner_id: Uuid, plan: &str) {
        let period_end = OffsetDateTime::now_utc() + time::Duration::days(30);
        sqlx::query(
            "insert into billing_accounts (owner_id, plan, status, current_period_end)
             values ($1, $2, 'active', $3)
             on conflict (owner_id) do update
             set plan = excluded.plan, status = excluded.status,
                 current_period_end = excluded.current_period_end",
        )
        .bind(owner_id)
        .bind(plan)
        .bind(period_end)
        .execute(&self.db)
        .await
        .unwrap();
    }

    /// The first plan that limits nothing and includes every feature any plan has:
    /// where tests of a resource's routes run, so plans do not get in their way.
    pub fn unrestricted_plan(&self) -> String {
        let plans = &self.state.billing.plans;
        let features: Vec<&String> = plans.iter().flat_map(|plan| &plan.features).collect();
        plans
            .iter()
            .find(|plan| {
                plan.limits.is_empty() && features.iter().all(|feature| plan.includes(feature))
            })
            .map(|plan| plan.id.clone())
            .expect(
                "config/plans.toml has no plan without limits that includes every feature; \
                 the resource tests run their owners on one",
            )
    }

    /// Puts `owner_id` on [`Self::unrestricted_plan`].
    pub async fn give_unrestricted_plan(&self, owner_id: Uuid) {
        let plan = self.unrestricted_plan();
        self.give_plan(owner_id, &plan).await;
    }
}
