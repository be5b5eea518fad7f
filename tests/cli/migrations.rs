//! Migrations are append-only across releases: a migration file a released saas wrote
//! is never changed by a later one (databases have run it; sqlx refuses a changed
//! checksum). Schema changes come as new files, which sort after the existing ones.

use std::path::Path;

use crate::upgrade::{PREVIOUS, released_example};

#[test]
fn every_migration_of_the_previous_release_is_unchanged_in_the_golden_examples() {
    let repository = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut compared = 0;
    for example in ["acme-pg", "acme-lite"] {
        let (_parent, released) = released_example(example);
        let current = repository.join("examples").join(example);
        for entry in std::fs::read_dir(released.join("migrations")).unwrap() {
            let name = entry.unwrap().file_name();
            let path = Path::new("migrations").join(&name);
            let then = std::fs::read(released.join(&path)).unwrap();
            let now = std::fs::read(current.join(&path)).unwrap_or_else(|_| {
                panic!(
                    "{example}/{} that saas {PREVIOUS} wrote is gone: migrations are never deleted",
                    path.display()
                )
            });
            assert!(
                then == now,
                "{example}/{} differs from what saas {PREVIOUS} wrote: a released migration \
                 is never edited\nhelp: put it back (`git show <commit>:examples/{example}/{}`) \
                 and make the change a new migration that sorts after it",
                path.display(),
                path.display()
            );
            compared += 1;
        }
    }
    // acme-pg's six built-in migrations and three resources', acme-lite's four and one.
    assert!(compared >= 14, "{compared} migrations compared");
}
