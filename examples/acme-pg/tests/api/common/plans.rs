//! Plans for tests about something other than billing. The app under test reads
//! `config/plans.toml` plus one plan only the tests have, [`UNRESTRICTED`]: every
//! feature and no limit, so the tests of a resource's routes run whatever the plans
//! say. An owner is put on a plan straight in the database, as Stripe's webhook would.

use std::path::Path;

use time::OffsetDateTime;
use uuid::Uuid;

use app::{billing::plans::Plans, resources};

use super::TestApp;

/// The id of the plan only the tests have.
pub const UNRESTRICTED: &str = "unrestricted_for_tests";

/// `config/plans.toml` with [`UNRESTRICTED`] added, written into `dir`; returns the
/// file's path, for `PLANS_FILE`.
pub fn with_unrestricted_plan(dir: &Path) -> String {
    let source = Path::new("config/plans.toml");
    let plans = Plans::load(source, resources::TABLES, |_| None).expect("config/plans.toml");
    let mut features: Vec<&String> = plans.iter().flat_map(|plan| &plan.features).collect();
    features.sort();
    features.dedup();
    let mut text = std::fs::read_to_string(source).unwrap();
    text.push_str(&format!(
        "\n[plans.{UNRESTRICTED}]\nname = \"Unrestricted (tests only)\"\nfeatures = {features:?}\n"
    ));
    let path = dir.join("plans.toml");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

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

    /// Puts `owner_id` on [`UNRESTRICTED`].
    pub async fn give_unrestricted_plan(&self, owner_id: Uuid) {
        self.give_plan(owner_id, UNRESTRICTED).await;
    }
}
