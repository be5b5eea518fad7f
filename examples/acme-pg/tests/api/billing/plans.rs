//! The plan only the tests have, which the tests of resources run their owners on: it
//! limits nothing, includes every feature of `config/plans.toml`, and an owner put on it
//! straight in the database is on it for the app.

use serde_json::json;

use app::{billing::plans::Plans, db::DbPool, resources};

use crate::common::{plans::UNRESTRICTED, spawn_app};

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn the_tests_plan_limits_nothing_and_includes_every_feature(db: DbPool) {
    let app = spawn_app(db).await;
    let own = Plans::load("config/plans.toml".as_ref(), resources::TABLES, |_| None).unwrap();

    let unrestricted = app.state.billing.plans.get(UNRESTRICTED).unwrap();

    assert!(unrestricted.limits.is_empty(), "{unrestricted:?}");
    for feature in own.iter().flat_map(|plan| &plan.features) {
        assert!(
            unrestricted.includes(feature),
            "{feature}: {unrestricted:?}"
        );
    }
    for plan in own.iter() {
        assert_eq!(app.state.billing.plans.get(&plan.id), Some(plan));
    }
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_plan_given_in_the_database_is_the_plan_billing_reports(db: DbPool) {
    let app = spawn_app(db).await;
    let owner = app.new_owner("alice@example.com").await;
    assert_eq!(owner.plan(&app).await, "free");

    app.give_unrestricted_plan(owner.id).await;

    let plan = app.state.billing.plans.get(UNRESTRICTED).unwrap();
    let status = owner.status(&app).await;
    assert_eq!(status["plan"], UNRESTRICTED, "{status}");
    assert_eq!(status["status"], "active", "{status}");
    assert_eq!(status["features"], json!(plan.features), "{status}");
}
