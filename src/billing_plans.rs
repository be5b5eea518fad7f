//! `config/plans.toml` of a billing project, as `saas add resource --limit/--feature`
//! edits it and `saas remove resource` undoes it: toml_edit, so the user's comments,
//! order and layout survive. Plans are `[plans.<id>]` tables with a `features` array
//! and a `limits` table (inline, `limits = { projects = 3 }`, or `[plans.<id>.limits]`).

use toml_edit::{Array, DocumentMut, InlineTable, Item, TableLike, Value};

use crate::{Error, spec::PlanLimit};

/// Where the plans are, from the project's root.
pub const FILE: &str = "config/plans.toml";

/// The plan that never gets a new feature by default.
const FREE: &str = "free";

/// The result of adding a resource's limits and feature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Added {
    pub text: String,
    /// With a feature no plan listed yet: the plans whose `features` it was added to
    /// (empty when the only plan is `free`). `None` without a feature, or when some plan
    /// lists it already.
    pub feature_added_to: Option<Vec<String>>,
}

/// The plan ids of `text`, in the file's order.
pub fn plan_ids(text: &str) -> Result<Vec<String>, Error> {
    let document = parse(text)?;
    Ok(plans(&document)?
        .iter()
        .map(|(id, _)| id.to_owned())
        .collect())
}

/// `text` with `limits` written into each named plan's `limits` under the key `table`,
/// and, when no plan lists `feature` yet, `feature` added to every plan but `free`.
pub fn add(
    text: &str,
    table: &str,
    limits: &[PlanLimit],
    feature: Option<&str>,
) -> Result<Added, Error> {
    let mut document = parse(text)?;
    let ids: Vec<String> = plans(&document)?
        .iter()
        .map(|(id, _)| id.to_owned())
        .collect();
    for limit in limits {
        if !ids.contains(&limit.plan) {
            return Err(unknown_plan(&limit.plan, &ids));
        }
    }
    let plans = plans_mut(&mut document)?;
    for limit in limits {
        let plan = plan_mut(plans, &limit.plan)?;
        let max = Value::from(i64::from(limit.max));
        match plan.get_mut("limits") {
            None => {
                let mut inline = InlineTable::new();
                inline.insert(table, max);
                inline.fmt();
                plan.insert("limits", Item::Value(Value::InlineTable(inline)));
            }
            Some(item) => {
                let existing = limits_mut(item, &limit.plan)?;
                match existing.get_mut(table) {
                    // Kept in place, with its comments; only the number changes.
                    Some(old) => {
                        let decor = old.as_value().map(|value| value.decor().clone());
                        *old = Item::Value(max);
                        if let (Some(decor), Some(value)) = (decor, old.as_value_mut()) {
                            *value.decor_mut() = decor;
                        }
                    }
                    None => {
                        existing.insert(table, Item::Value(max));
                    }
                }
                if let Some(inline) = item.as_inline_table_mut() {
                    spaced(inline);
                }
            }
        }
    }

    let mut feature_added_to = None;
    if let Some(feature) = feature {
        let listed = ids.iter().try_fold(false, |listed, id| {
            let plan = plan_mut(plans, id)?;
            Ok::<_, Error>(
                listed
                    || match plan.get_mut("features") {
                        Some(item) => features_mut(item, id)?
                            .iter()
                            .any(|value| value.as_str() == Some(feature)),
                        None => false,
                    },
            )
        })?;
        if !listed {
            let mut added_to = Vec::new();
            for id in ids.iter().filter(|id| id.as_str() != FREE) {
                let plan = plan_mut(plans, id)?;
                match plan.get_mut("features") {
                    Some(item) => push_string(features_mut(item, id)?, feature),
                    None => {
                        let mut array = Array::new();
                        array.push(feature);
                        plan.insert("features", Item::Value(Value::Array(array)));
                    }
                }
                added_to.push(id.clone());
            }
            feature_added_to = Some(added_to);
        }
    }
    Ok(Added {
        text: document.to_string(),
        feature_added_to,
    })
}

/// `text` without the key `table` in any plan's `limits` and, when given, without
/// `feature` in any plan's `features`; everything else as it was.
pub fn remove(text: &str, table: &str, feature: Option<&str>) -> Result<String, Error> {
    let mut document = parse(text)?;
    let ids: Vec<String> = plans(&document)?
        .iter()
        .map(|(id, _)| id.to_owned())
        .collect();
    let plans = plans_mut(&mut document)?;
    for id in &ids {
        let plan = plan_mut(plans, id)?;
        if let Some(item) = plan.get_mut("limits") {
            limits_mut(item, id)?.remove(table);
            if let Some(inline) = item.as_inline_table_mut() {
                spaced(inline);
            }
        }
        if let Some(feature) = feature
            && let Some(item) = plan.get_mut("features")
        {
            remove_string(features_mut(item, id)?, feature);
        }
    }
    Ok(document.to_string())
}

fn parse(text: &str) -> Result<DocumentMut, Error> {
    text.parse()
        .map_err(|error: toml_edit::TomlError| Error::PlansFile {
            file: FILE,
            problem: format!("it is not valid TOML: {}", error.message()),
            help: "correct the file, then run the command again".to_owned(),
        })
}

fn no_plans() -> Error {
    Error::PlansFile {
        file: FILE,
        problem: "it has no `[plans.<id>]` tables".to_owned(),
        help: "the app needs its plans there: add `[plans.free]` with `name`, `features` and `limits`, as `saas new` wrote them".to_owned(),
    }
}

fn plans(document: &DocumentMut) -> Result<&dyn TableLike, Error> {
    document
        .get("plans")
        .and_then(Item::as_table_like)
        .ok_or_else(no_plans)
}

fn plans_mut(document: &mut DocumentMut) -> Result<&mut dyn TableLike, Error> {
    document
        .get_mut("plans")
        .and_then(Item::as_table_like_mut)
        .ok_or_else(no_plans)
}

fn plan_mut<'a>(plans: &'a mut dyn TableLike, id: &str) -> Result<&'a mut dyn TableLike, Error> {
    plans
        .get_mut(id)
        .and_then(Item::as_table_like_mut)
        .ok_or_else(|| Error::PlansFile {
            file: FILE,
            problem: format!("`plans.{id}` is not a table"),
            help: format!("write the plan as a `[plans.{id}]` table"),
        })
}

fn limits_mut<'a>(item: &'a mut Item, id: &str) -> Result<&'a mut dyn TableLike, Error> {
    item.as_table_like_mut().ok_or_else(|| Error::PlansFile {
        file: FILE,
        problem: format!("`plans.{id}.limits` is not a table"),
        help: "write the limits as a table of resource tables to numbers, such as `limits = { projects = 3 }`".to_owned(),
    })
}

fn features_mut<'a>(item: &'a mut Item, id: &str) -> Result<&'a mut Array, Error> {
    item.as_array_mut().ok_or_else(|| Error::PlansFile {
        file: FILE,
        problem: format!("`plans.{id}.features` is not an array"),
        help: "write the features as an array of names, such as `features = [\"reports\"]`"
            .to_owned(),
    })
}

fn unknown_plan(plan: &str, ids: &[String]) -> Error {
    let names: Vec<String> = ids.iter().map(|id| format!("`{id}`")).collect();
    Error::UnknownPlan {
        file: FILE,
        plan: plan.to_owned(),
        help: format!(
            "the plans are {}; name one of them, or add `[plans.{plan}]` to {FILE} first",
            names.join(", ")
        ),
    }
}

/// `{ a = 1, b = 2 }`, and `{}` when empty, whatever keys came and went.
fn spaced(inline: &mut InlineTable) {
    inline.fmt();
    if inline.is_empty() {
        inline.set_trailing("");
    }
}

/// Appends `value` laid out like the elements before it (one per line stays so).
fn push_string(array: &mut Array, value: &str) {
    // A lone first element's layout (no space before it) only fits a new one when it
    // stands on a line of its own.
    let on_lines = |value: &Value| {
        value
            .decor()
            .prefix()
            .and_then(|prefix| prefix.as_str())
            .is_some_and(|prefix| prefix.contains('\n'))
    };
    let decor = array
        .iter()
        .last()
        .filter(|last| array.len() >= 2 || on_lines(last))
        .map(|last| last.decor().clone());
    array.push(value);
    if let Some(decor) = decor
        && let Some(pushed) = array.iter_mut().last()
    {
        *pushed.decor_mut() = decor;
    }
}

/// Removes every `value` from the array; the element that becomes first takes the
/// layout of the first one removed.
fn remove_string(array: &mut Array, value: &str) {
    loop {
        let Some(index) = array.iter().position(|item| item.as_str() == Some(value)) else {
            return;
        };
        let decor = array.get(index).map(|item| item.decor().clone());
        array.remove(index);
        if index == 0
            && let (Some(decor), Some(first)) = (decor, array.get_mut(0))
        {
            *first.decor_mut() = decor;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As `saas new` writes it, with a comment a person added.
    const PLANS: &str = "\
# Plans of Acme.
[plans.free]
name = \"Free\"
features = []
limits = {} # nothing yet

[plans.pro]
name = \"Pro\"
# What Pro unlocks.
features = [\"exports\"]
limits = {}
trial_days = 14
";

    fn limit(plan: &str, max: u32) -> PlanLimit {
        PlanLimit {
            plan: plan.to_owned(),
            max,
        }
    }

    #[test]
    fn plan_ids_are_listed_in_the_files_order() {
        assert_eq!(plan_ids(PLANS).unwrap(), ["free", "pro"]);
        let error = plan_ids("name = \"x\"\n").unwrap_err().to_string();
        assert!(error.contains("it has no `[plans.<id>]` tables"), "{error}");
    }

    #[test]
    fn a_limit_goes_into_the_inline_table_keeping_comments_and_order() {
        let added = add(PLANS, "projects", &[limit("free", 3)], None).unwrap();
        assert_eq!(
            added.text,
            PLANS.replace(
                "limits = {} # nothing yet",
                "limits = { projects = 3 } # nothing yet"
            )
        );
        assert_eq!(added.feature_added_to, None);

        let both = add(
            &added.text,
            "tasks",
            &[limit("free", 10), limit("pro", 100)],
            None,
        )
        .unwrap()
        .text;
        assert!(
            both.contains("limits = { projects = 3, tasks = 10 } # nothing yet\n"),
            "{both}"
        );
        assert!(
            both.contains("limits = { tasks = 100 }\ntrial_days = 14\n"),
            "{both}"
        );
    }

    #[test]
    fn a_limit_goes_into_a_limits_table_when_the_user_wrote_one() {
        let text =
            "[plans.free]\nname = \"Free\"\n\n[plans.free.limits]\n# Keep it small.\ntasks = 5\n";
        let added = add(text, "projects", &[limit("free", 3)], None)
            .unwrap()
            .text;
        assert_eq!(
            added,
            "[plans.free]\nname = \"Free\"\n\n[plans.free.limits]\n# Keep it small.\ntasks = 5\nprojects = 3\n"
        );
        assert_eq!(remove(&added, "projects", None).unwrap(), text);
    }

    #[test]
    fn a_plan_without_limits_gets_an_inline_table() {
        let text = "[plans.free]\nname = \"Free\"\n";
        let added = add(text, "projects", &[limit("free", 3)], None)
            .unwrap()
            .text;
        assert_eq!(
            added,
            "[plans.free]\nname = \"Free\"\nlimits = { projects = 3 }\n"
        );
    }

    #[test]
    fn an_unknown_plan_is_refused_naming_the_plans_and_the_fix() {
        let error = add(
            PLANS,
            "projects",
            &[limit("free", 3), limit("gold", 9)],
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.starts_with("there is no plan `gold` in config/plans.toml\n"),
            "{error}"
        );
        assert!(
            error.contains("help: the plans are `free`, `pro`; name one of them, or add `[plans.gold]` to config/plans.toml first"),
            "{error}"
        );
    }

    #[test]
    fn a_new_feature_goes_to_every_plan_but_free() {
        let text = format!("{PLANS}\n[plans.team]\nname = \"Team\"\n");
        let added = add(&text, "reports", &[], Some("reports")).unwrap();
        assert_eq!(
            added.feature_added_to,
            Some(vec!["pro".to_owned(), "team".to_owned()])
        );
        assert!(
            added
                .text
                .contains("features = []\nlimits = {} # nothing yet")
        );
        assert!(
            added
                .text
                .contains("# What Pro unlocks.\nfeatures = [\"exports\", \"reports\"]\n"),
            "{}",
            added.text
        );
        assert!(
            added
                .text
                .ends_with("[plans.team]\nname = \"Team\"\nfeatures = [\"reports\"]\n"),
            "{}",
            added.text
        );
    }

    #[test]
    fn a_feature_some_plan_lists_already_is_left_as_the_user_set_it() {
        let added = add(PLANS, "exports", &[], Some("exports")).unwrap();
        assert_eq!(added.text, PLANS);
        assert_eq!(added.feature_added_to, None);
    }

    #[test]
    fn a_multi_line_features_array_stays_one_per_line() {
        let text = "[plans.pro]\nfeatures = [\n    \"exports\",\n]\n";
        let added = add(text, "reports", &[], Some("reports")).unwrap().text;
        assert_eq!(
            added,
            "[plans.pro]\nfeatures = [\n    \"exports\",\n    \"reports\",\n]\n"
        );
        assert_eq!(remove(&added, "reports", Some("reports")).unwrap(), text);
    }

    #[test]
    fn remove_undoes_add_exactly() {
        let added = add(
            PLANS,
            "projects",
            &[limit("free", 3), limit("pro", 100)],
            Some("reports"),
        )
        .unwrap()
        .text;
        assert_ne!(added, PLANS);
        assert_eq!(remove(&added, "projects", Some("reports")).unwrap(), PLANS);
    }

    #[test]
    fn remove_takes_out_only_its_own_key_and_feature() {
        let text = PLANS
            .replace(
                "limits = {} # nothing yet",
                "limits = { projects = 3, tasks = 10 } # nothing yet",
            )
            .replace("[\"exports\"]", "[\"reports\", \"exports\"]");
        let removed = remove(&text, "projects", Some("reports")).unwrap();
        assert!(
            removed.contains("limits = { tasks = 10 } # nothing yet\n"),
            "{removed}"
        );
        assert!(removed.contains("features = [\"exports\"]\n"), "{removed}");
        let kept = remove(&text, "projects", None).unwrap();
        assert!(kept.contains("[\"reports\", \"exports\"]"), "{kept}");
    }

    #[test]
    fn malformed_files_are_refused_naming_the_key() {
        let error = add(
            "[plans.free]\nlimits = 3\n",
            "projects",
            &[limit("free", 1)],
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("`plans.free.limits` is not a table"),
            "{error}"
        );
        let error = add("[plans.pro]\nfeatures = \"x\"\n", "r", &[], Some("r"))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("`plans.pro.features` is not an array"),
            "{error}"
        );
        let error = add("[plans.free\n", "r", &[], None)
            .unwrap_err()
            .to_string();
        assert!(error.contains("it is not valid TOML"), "{error}");
    }
}
