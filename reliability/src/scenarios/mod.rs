//! The scenarios, each a function from the built app to a one-line report of what it
//! sent, what it saw and which invariants it checked; an error is a broken invariant.

mod kill;
mod limits;
mod logins;
mod outage;
mod owners;
mod pgbouncer;
mod rolling_deploy;
mod signups;
mod sigterm;
mod two_instances;
mod webhooks;
mod writers;

use std::{future::Future, pin::Pin};

use crate::app::{Build, Database};

type Run = fn(Build) -> Pin<Box<dyn Future<Output = anyhow::Result<String>>>>;

pub struct Scenario {
    pub name: &'static str,
    pub databases: &'static [Database],
    pub run: Run,
}

const BOTH: &[Database] = &[Database::Sqlite, Database::Postgres];

pub const ALL: &[Scenario] = &[
    Scenario {
        name: "signups",
        databases: BOTH,
        run: |build| Box::pin(signups::run(build)),
    },
    Scenario {
        name: "writers",
        databases: BOTH,
        run: |build| Box::pin(writers::run(build)),
    },
    Scenario {
        name: "limits",
        databases: BOTH,
        run: |build| Box::pin(limits::run(build)),
    },
    Scenario {
        name: "webhooks",
        databases: BOTH,
        run: |build| Box::pin(webhooks::run(build)),
    },
    Scenario {
        name: "owners",
        databases: BOTH,
        run: |build| Box::pin(owners::run(build)),
    },
    Scenario {
        name: "logins",
        databases: BOTH,
        run: |build| Box::pin(logins::run(build)),
    },
    Scenario {
        name: "sigterm",
        databases: BOTH,
        run: |build| Box::pin(sigterm::run(build)),
    },
    Scenario {
        name: "kill",
        databases: BOTH,
        run: |build| Box::pin(kill::run(build)),
    },
    Scenario {
        name: "two-instances",
        databases: &[Database::Postgres],
        run: |build| Box::pin(two_instances::run(build)),
    },
    Scenario {
        name: "outage",
        databases: &[Database::Postgres],
        run: |build| Box::pin(outage::run(build)),
    },
    Scenario {
        name: "pgbouncer",
        databases: &[Database::Postgres],
        run: |build| Box::pin(pgbouncer::run(build)),
    },
    // Last: it builds the next release in the shared target directory.
    Scenario {
        name: "rolling-deploy",
        databases: &[Database::Postgres],
        run: |build| Box::pin(rolling_deploy::run(build)),
    },
];

/// `ensure!` with the figures in the message.
#[macro_export]
macro_rules! check {
    ($condition:expr, $($message:tt)+) => {
        if !$condition {
            anyhow::bail!($($message)+);
        }
    };
}
