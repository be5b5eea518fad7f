//! `saas upgrade`: render the project again from `saas.toml` with this saas, record
//! that as the new baseline, and merge what changed between the old baseline and the
//! new one into the user's tree, file by file, with git's own merge.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::Context;
use serde::Serialize;

use crate::{
    Error,
    baseline::{self, Repo},
    cli::UpgradeArgs,
    hashes::{self, Hashes},
    manifest::{self, Manifest},
    migration, new,
    plan::{Op, Plan},
    render::{FeaturesContext, Renderer, Tenancy},
    resource::{Project, plan_add},
    sink,
    spec::features::{Feature, FeatureSet},
    spec::naming::ProjectName,
    spec::{Database, ProjectSpec, ResourceSpec, resource::ResourceRequest},
};

/// The exit status of an upgrade that left conflicts to resolve.
pub const CONFLICTS_EXIT: u8 = 3;

/// Writes into `dir` (empty) the whole project `manifest` describes, as this saas
/// generates it: `saas new` with its answers, then `saas add resource` for each of its
/// resources in order, with the migration versions recorded for them. Generation is
/// deterministic, so this is byte for byte what those commands wrote (the golden
/// examples hold it).
pub fn render_project(manifest: &Manifest, dir: &Path) -> anyhow::Result<()> {
    let spec = ProjectSpec {
        name: ProjectName::parse(&manifest.name)?,
        database: manifest.database,
        features: manifest.features.clone(),
        destination: dir.to_path_buf(),
        git: false,
    };
    let mut plan = new::plan_project(&spec)?;
    for (from, to) in &manifest.migration_names {
        let from = Path::new("migrations").join(from);
        let op = plan
            .ops
            .iter_mut()
            .find(|op| op.path() == from)
            .with_context(|| {
                format!(
                    "saas.toml names {}, which saas does not write",
                    from.display()
                )
            })?;
        if let Op::Create { path, .. } = op {
            *path = Path::new("migrations").join(to);
        }
        let text = String::from_utf8(plan.file(manifest::FILE_NAME).expect("written").to_vec())?;
        let text = manifest::set_migration_name(&text, from_name(&from), to)?;
        plan.create(manifest::FILE_NAME.into(), text.into_bytes());
    }
    sink::write_plain(dir, &plan)?;
    for entry in &manifest.resources {
        let project = Project::find(dir)?;
        let limits: Vec<String> = entry
            .limits
            .iter()
            .map(|(plan, max)| format!("{plan}={max}"))
            .collect();
        let request = ResourceRequest {
            name: &entry.name,
            fields: &entry.fields,
            plural: Some(&entry.table),
            limits: &limits,
            feature: entry.feature.as_deref(),
        };
        let spec = ResourceSpec::parse(&request, &project.manifest)
            .with_context(|| format!("resource `{}` of saas.toml", entry.name))?;
        let version = entry
            .files
            .iter()
            .find_map(|file| {
                let name = file.path.strip_prefix("migrations/")?;
                let (version, _) = name.split_once('_')?;
                Some(version.to_owned())
            })
            .unwrap_or_else(|| migration::next_version(dir));
        let addition = plan_add(&spec, &project, &version)?;
        if let Some(problem) = addition.unformatted {
            anyhow::bail!("{}", problem.warning());
        }
        sink::write_plain(dir, &addition.plan)?;
    }
    Ok(())
}

/// The project `target` describes, with the files `extra`, rendered into a scratch
/// directory (removed when the first value is dropped); the second is its root.
fn render_target(
    target: &Manifest,
    extra: &[(PathBuf, Vec<u8>)],
) -> anyhow::Result<(tempfile::TempDir, PathBuf)> {
    let scratch = tempfile::tempdir()?;
    let rendered = scratch.path().join("project");
    std::fs::create_dir(&rendered)?;
    render_project(target, &rendered)?;
    for (path, contents) in extra {
        std::fs::write(rendered.join(path), contents)?;
    }
    Ok((scratch, rendered))
}

fn from_name(path: &Path) -> &str {
    path.file_name()
        .and_then(|name| name.to_str())
        .unwrap_or_default()
}

/// The migrations `saas new` writes for `features` (their file names).
fn new_migrations(manifest: &Manifest, features: &FeatureSet) -> anyhow::Result<Vec<String>> {
    let spec = ProjectSpec {
        name: ProjectName::parse(&manifest.name)?,
        database: manifest.database,
        features: features.clone(),
        destination: PathBuf::new(),
        git: false,
    };
    Ok(new::plan_project(&spec)?
        .ops
        .iter()
        .filter_map(|op| op.path().strip_prefix("migrations").ok())
        .map(|name| name.to_string_lossy().into_owned())
        .collect())
}

/// The names in this project of the migrations `saas new` writes for `features`:
/// `saas.toml`'s `migration_names`, and for each one the project lacks (a feature's
/// being added, or one a newer saas writes) that would sort before a migration the
/// project has, a version after the newest. A database that applied every migration of
/// the project then applies it next, and a new one (the tests') applies them in the
/// same order, so a migration never runs before one it builds on. Also the next
/// version free after those.
fn place_new_migrations(
    project: &Project,
    features: &FeatureSet,
) -> anyhow::Result<(BTreeMap<String, String>, u64)> {
    let manifest = &project.manifest;
    let version_of = |name: &str| -> Option<u64> { name.split('_').next()?.parse().ok() };
    let dir = project.root.join("migrations");
    let newest = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .filter_map(|entry| version_of(&entry.ok()?.file_name().into_string().ok()?))
        .max()
        .unwrap_or(0);
    let mut names = manifest.migration_names.clone();
    let mut next: u64 = migration::next_version(&project.root).parse()?;
    for name in new_migrations(manifest, features)? {
        let current = names.get(&name).unwrap_or(&name);
        if dir.join(current).exists() || version_of(&name).is_none_or(|version| version > newest) {
            continue;
        }
        let description = name.split_once('_').map_or(name.as_str(), |(_, rest)| rest);
        names.insert(name.clone(), format!("{next}_{description}"));
        next += 1;
    }
    Ok((names, next))
}

/// What an upgrade does to the user's tree.
#[derive(Debug)]
pub struct Upgrade {
    pub plan: Plan,
    /// Files left with conflict markers.
    pub conflicts: Vec<String>,
    /// Without git: files the user changed, with saas's new version written beside
    /// each (`<path>.saas-new`).
    pub beside: Vec<String>,
    /// Changes of saas not made, because the user deleted or changed the file: each a
    /// sentence naming the file.
    pub kept: Vec<String>,
    /// The new baseline's commit (not yet on the ref).
    pub commit: String,
    /// Whether the new baseline has the same files as the old: nothing to merge, and
    /// the ref stays.
    pub unchanged: bool,
}

/// Plans the merge into the project at `project.root` of what changes from the baseline
/// `old` to the project `target` describes (the project's own manifest for an upgrade,
/// one with a feature more for `add feature`), with the files `extra` too (a data
/// migration); writes the new baseline's objects into `repo` (its commit says
/// `message`) but changes no ref and no file of the user's.
pub fn plan_upgrade(
    project: &Project,
    target: &Manifest,
    extra: &[(PathBuf, Vec<u8>)],
    repo: &Repo,
    old: &str,
    message: &str,
) -> anyhow::Result<Upgrade> {
    let (_scratch, rendered) = render_target(target, extra)?;
    // A migration the project has is never changed or deleted: a database may have
    // applied it, and sqlx refuses a migration whose text changed since. So those of
    // removed resources (saas.toml no longer names them) stay, and those this saas would
    // write differently (a fixed template, or a resource's table as another feature set
    // makes it) keep the text they have; changes come as new migrations.
    for path in repo.paths(old)? {
        if path.starts_with("migrations/") {
            let contents = repo.file(old, &path)?.unwrap_or_default();
            std::fs::write(rendered.join(&path), contents)?;
        }
    }
    let commit = repo.commit_tree(&rendered, Some(old), message)?;

    let written_by = format!("saas {}", project.manifest.saas_version);
    let this = format!("saas {}", manifest::THIS_VERSION);
    let mut upgrade = Upgrade::nothing_yet(commit);
    let changed = repo.changed_paths(old, &upgrade.commit)?;
    upgrade.unchanged = changed.is_empty();
    for path in changed {
        let base = repo.file(old, &path)?;
        let theirs = repo.file(&upgrade.commit, &path)?;
        let full = project.root.join(&path);
        let ours = match std::fs::read(&full) {
            Ok(contents) => Some(contents),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => return Err(Error::Read { path: full, source }.into()),
        };
        let file = PathBuf::from(&path);
        match (base, theirs, ours) {
            (_, Some(theirs), Some(ours)) if ours == theirs => {}
            (Some(base), Some(theirs), Some(ours)) if ours == base => {
                upgrade.plan.ops.push(edit(file, theirs));
            }
            (base, Some(theirs), Some(ours)) => {
                let base = base.unwrap_or_default();
                let (merged, conflicts) =
                    baseline::merge_file(&ours, &base, &theirs, ["yours", &written_by, &this])?;
                if conflicts > 0 {
                    upgrade.conflicts.push(path.clone());
                }
                if merged != ours {
                    upgrade.plan.ops.push(edit(file, merged));
                }
            }
            (None, Some(theirs), None) => upgrade.plan.ops.push(Op::Create {
                path: file,
                contents: theirs,
            }),
            (Some(_), Some(_), None) => upgrade.kept.push(format!(
                "{path}: you deleted it, and {this} changes it; it stays deleted"
            )),
            (Some(base), None, Some(ours)) if ours == base => {
                upgrade.plan.ops.push(Op::Delete { path: file });
            }
            (Some(_), None, Some(_)) => upgrade.kept.push(format!(
                "{path}: {this} no longer writes it, and you changed it; it is kept"
            )),
            (_, None, _) => {}
        }
    }
    Ok(upgrade)
}

/// The upgrade of a project without git, from the hashes of what saas wrote (`hashes`):
/// a file is replaced only while its hash is still saas's; saas's new version of a file
/// the user changed is written beside it. The new hashes are part of the plan.
pub fn plan_by_hashes(
    project: &Project,
    target: &Manifest,
    extra: &[(PathBuf, Vec<u8>)],
    recorded: &Hashes,
) -> anyhow::Result<Upgrade> {
    let (_scratch, rendered) = render_target(target, extra)?;
    let this = format!("saas {}", manifest::THIS_VERSION);
    let mut upgrade = Upgrade::nothing_yet(String::new());
    let mut next = Hashes::of_tree(&rendered)?;
    let read = |path: &str| -> anyhow::Result<Option<Vec<u8>>> {
        let full = project.root.join(path);
        match std::fs::read(&full) {
            Ok(contents) => Ok(Some(contents)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(Error::Read { path: full, source }.into()),
        }
    };
    let new_paths: Vec<String> = next.paths().map(str::to_owned).collect();
    for path in &new_paths {
        let theirs = std::fs::read(rendered.join(path))?;
        let ours = read(path)?;
        let was = recorded.get(path);
        let file = PathBuf::from(path);
        // A migration the project has is never changed (see `plan_upgrade`).
        if path.starts_with("migrations/")
            && let Some(ours) = &ours
        {
            match was {
                Some(was) => next.set(path, was),
                None => next.record(&file, ours),
            }
            continue;
        }
        let saas_changed = was != Some(hashes::sha256(&theirs).as_str());
        match ours {
            Some(ours) if ours == theirs => {}
            // Yours, and saas writes it as before.
            Some(_) if !saas_changed => {}
            Some(ours) if was == Some(hashes::sha256(&ours).as_str()) => {
                upgrade.plan.ops.push(edit(file, theirs));
            }
            Some(_) => {
                let beside = hashes::beside(&file);
                let op = if project.root.join(&beside).exists() {
                    edit(beside, theirs)
                } else {
                    Op::Create {
                        path: beside,
                        contents: theirs,
                    }
                };
                upgrade.plan.ops.push(op);
                upgrade.beside.push(path.clone());
            }
            None if was.is_none() => upgrade.plan.ops.push(Op::Create {
                path: file,
                contents: theirs,
            }),
            None if saas_changed => upgrade.kept.push(format!(
                "{path}: you deleted it, and {this} changes it; it stays deleted"
            )),
            None => {}
        }
    }
    for path in recorded.paths() {
        if new_paths.iter().any(|new| new == path) {
            continue;
        }
        let file = PathBuf::from(path);
        match read(path)? {
            // Never deleted: databases may have applied it.
            Some(_) if path.starts_with("migrations/") => {
                next.set(path, recorded.get(path).expect("listed"));
            }
            Some(ours) if recorded.get(path) == Some(hashes::sha256(&ours).as_str()) => {
                upgrade.plan.ops.push(Op::Delete { path: file });
            }
            Some(_) => upgrade.kept.push(format!(
                "{path}: {this} no longer writes it, and you changed it; it is kept"
            )),
            None => {}
        }
    }
    upgrade.unchanged = upgrade.plan.ops.is_empty() && next == *recorded;
    if next != *recorded {
        upgrade
            .plan
            .ops
            .push(edit(PathBuf::from(hashes::FILE), next.render()));
    }
    Ok(upgrade)
}

impl Upgrade {
    /// An upgrade to the baseline `commit` (empty without git) that changes nothing yet.
    fn nothing_yet(commit: String) -> Self {
        Self {
            plan: Plan::default(),
            conflicts: Vec::new(),
            beside: Vec::new(),
            kept: Vec::new(),
            commit,
            unchanged: false,
        }
    }
}

fn edit(path: PathBuf, contents: Vec<u8>) -> Op {
    Op::Edit {
        path,
        contents,
        markers: Vec::new(),
    }
}

/// `saas upgrade`, run from `cwd`.
pub fn run(args: UpgradeArgs, cwd: &Path) -> anyhow::Result<ExitCode> {
    let project = Project::find(cwd)?;
    let from = project.manifest.saas_version.clone();
    let to = manifest::THIS_VERSION;
    let (migration_names, _) = place_new_migrations(&project, &project.manifest.features)?;
    let merge = Merge {
        target: Manifest {
            migration_names,
            ..project.manifest.clone()
        },
        extra: Vec::new(),
        message: format!("saas upgrade: what saas {to} generates"),
        done: format!("Upgraded from saas {from} to saas {to}"),
        dry_run: args.dry_run,
        baseline: args.baseline,
    };
    merge.run(&project)
}

/// `saas add feature`, run from `cwd`: the merge of an upgrade, to the project with
/// one feature more.
pub fn add_feature(feature: Feature, dry_run: bool, cwd: &Path) -> anyhow::Result<ExitCode> {
    let project = Project::find(cwd)?;
    let manifest = &project.manifest;
    if manifest.features.contains(feature) {
        return Err(Error::FeatureExists(feature.as_str()).into());
    }
    if let Some(required) = feature.requires()
        && !manifest.features.contains(required)
    {
        return Err(Error::AddFeatureRequires {
            feature: feature.as_str(),
            requires: required.as_str(),
        }
        .into());
    }
    let mut features: Vec<Feature> = manifest.features.iter().collect();
    features.push(feature);
    let features = FeatureSet::new(features)?;
    if manifest.saas_version != manifest::THIS_VERSION {
        return Err(Error::FeatureNeedsUpgrade {
            written_by: manifest.saas_version.clone(),
        }
        .into());
    }
    let (migration_names, version) = place_new_migrations(&project, &features)?;
    let target = Manifest {
        features,
        migration_names,
        ..manifest.clone()
    };
    let mut extra = Vec::new();
    if feature == Feature::Orgs {
        let path = PathBuf::from(format!("migrations/{version}_personal_organizations.sql"));
        extra.push((path, personal_organizations(&target)?.into_bytes()));
    }
    let merge = Merge {
        target,
        extra,
        message: format!("saas add feature {feature}"),
        done: format!("Added feature `{feature}`"),
        dry_run,
        baseline: None,
    };
    merge.run(&project)
}

/// The data migration of `saas add feature orgs` for the project `target` describes
/// (which has orgs): a personal organization for every account, and each resource's
/// rows, and with billing the billing owners, moved to it. On SQLite each table is made
/// again as `target` makes it, so its statements come from rendering `target`.
fn personal_organizations(target: &Manifest) -> anyhow::Result<String> {
    #[derive(Serialize)]
    struct Context {
        sqlite: bool,
        billing: bool,
        features: FeaturesContext,
        resources: Vec<MovedTable>,
    }
    #[derive(Serialize)]
    struct MovedTable {
        table: String,
        /// The owner column and the list's index, before and after.
        from: Owner,
        to: Owner,
        /// Its `create table` and indexes, as `saas add resource` writes them for orgs.
        schema: String,
    }

    #[derive(Serialize)]
    struct Owner {
        column: &'static str,
        index: String,
    }

    let scratch = tempfile::tempdir()?;
    render_project(target, scratch.path())?;
    let by_user = Tenancy::of(&FeatureSet::default());
    let by_org = Tenancy::of(&target.features);
    let owner = |tenancy: &Tenancy, table: &str| Owner {
        column: tenancy.column,
        index: tenancy.list_index(table),
    };
    let mut resources = Vec::new();
    for entry in &target.resources {
        let migration = entry
            .files
            .iter()
            .find(|file| file.path.starts_with("migrations/"))
            .with_context(|| format!("saas.toml names no migration of `{}`", entry.name))?;
        let text = std::fs::read_to_string(scratch.path().join(&migration.path))?;
        // Past the first line, which says who wrote the file.
        let schema = text.split_once('\n').map_or("", |(_, rest)| rest);
        resources.push(MovedTable {
            from: owner(&by_user, &entry.table),
            to: owner(&by_org, &entry.table),
            table: entry.table.clone(),
            schema: schema.to_owned(),
        });
    }
    let context = Context {
        sqlite: target.database == Database::Sqlite,
        billing: target.features.contains(Feature::Billing),
        features: FeaturesContext::new(&target.features),
        resources,
    };
    Ok(Renderer::new().render_template("upgrade/personal_organizations.sql.jinja", &context)?)
}

/// Why `saas remove feature` refuses `feature`.
pub fn why_not_removed(feature: Feature) -> &'static str {
    match feature {
        Feature::Orgs => {
            "its tables hold your organizations and memberships, and every resource's rows belong to an organization, so a migration would have to drop data and move every row back to a user; your code may use it too"
        }
        Feature::Rbac => {
            "every resource route would stop checking permissions, so a plain member could again delete what only owners and admins may delete now; saas will not widen access silently"
        }
        Feature::Billing => {
            "its tables hold your customers and subscriptions with Stripe, which a migration would have to drop while Stripe keeps billing them"
        }
    }
}

/// A merge into the user's tree of what changes between the baseline and `target`.
struct Merge {
    target: Manifest,
    /// Files the target has beyond what `saas.toml` describes: a data migration.
    extra: Vec<(PathBuf, Vec<u8>)>,
    /// The new baseline commit's message.
    message: String,
    /// What the command did, for the user.
    done: String,
    dry_run: bool,
    baseline: Option<String>,
}

impl Merge {
    fn run(self, project: &Project) -> anyhow::Result<ExitCode> {
        if self.baseline.is_none()
            && let Some(recorded) = Hashes::of_project(&project.root)?
        {
            let upgrade = plan_by_hashes(project, &self.target, &self.extra, &recorded)?;
            if self.report(&upgrade)? {
                return Ok(ExitCode::SUCCESS);
            }
            sink::ProjectDir::new(&project.root).apply(&upgrade.plan)?;
            return Ok(self.finish(&upgrade)?);
        }
        let repo = Repo::of(&project.root).ok_or(Error::UpgradeNeedsGit)?;
        let changed = repo.changes(&project.root)?;
        if !changed.is_empty() {
            return Err(Error::DirtyTree(changed).into());
        }
        let current = repo.baseline();
        let old = match (&self.baseline, &current) {
            (Some(rev), _) => repo.commit(rev).ok_or_else(|| Error::InvalidOption {
                option: "--baseline",
                value: rev.clone(),
                help: "name a commit of this repository, e.g. the one `saas new` made".to_owned(),
            })?,
            (None, Some(commit)) => commit.clone(),
            (None, None) => {
                return Err(Error::NoBaseline {
                    reference: baseline::REF,
                }
                .into());
            }
        };

        // A dry run writes the new baseline's objects into a scratch directory, so that
        // nothing is written into the repository either.
        let scratch = tempfile::tempdir()?;
        let writer = if self.dry_run {
            repo.writing_objects_to(scratch.path())
        } else {
            repo.clone()
        };
        let upgrade = plan_upgrade(
            project,
            &self.target,
            &self.extra,
            &writer,
            &old,
            &self.message,
        )?;
        if self.report(&upgrade)? {
            return Ok(ExitCode::SUCCESS);
        }
        sink::ProjectDir::new(&project.root).apply_then(&upgrade.plan, || {
            repo.set_baseline(&upgrade.commit, current.as_deref())
                .map_err(|error| Error::Write {
                    path: PathBuf::from(baseline::REF),
                    source: std::io::Error::other(error.to_string()),
                })
        })?;
        Ok(self.finish(&upgrade)?)
    }

    /// Says what the upgrade does (or would do); `true` when there is nothing more to
    /// do: nothing changes, or this is a dry run.
    fn report(&self, upgrade: &Upgrade) -> std::io::Result<bool> {
        let to = manifest::THIS_VERSION;

        if upgrade.unchanged {
            outln!(
                "Nothing to change: the project is as saas {to} generates it, with your changes."
            );
            return Ok(true);
        }
        if upgrade.plan.ops.is_empty() {
            outln!("Your files have every change already; only the baseline moves on.");
        } else {
            out!("{}", upgrade.plan.describe());
        }
        if !upgrade.kept.is_empty() {
            outln!("\nLeft as you have them:");
            for kept in &upgrade.kept {
                outln!("  {kept}");
            }
        }
        let would = if self.dry_run { "would be " } else { "" };
        if !upgrade.conflicts.is_empty() {
            outln!(
                "\nConflicts {would}left in these files, between `<<<<<<< yours` and `>>>>>>> saas {to}` markers:"
            );
            for path in &upgrade.conflicts {
                outln!("  {path}");
            }
        }
        if !upgrade.beside.is_empty() {
            outln!(
                "\nYou changed these files, and saas {to} changes them too: its version {would}written beside each, as <file>{}:",
                hashes::NEW_SUFFIX
            );
            for path in &upgrade.beside {
                outln!("  {path}");
            }
        }
        if self.dry_run {
            outln!("\nDry run: nothing was written.");
            return Ok(true);
        }
        Ok(false)
    }

    /// Says what was done and what is left to the user; the exit status.
    fn finish(&self, upgrade: &Upgrade) -> std::io::Result<ExitCode> {
        let to = manifest::THIS_VERSION;
        if upgrade.commit.is_empty() {
            outln!(
                "\n{}; {} records what saas wrote now.",
                self.done,
                hashes::FILE
            );
        } else {
            outln!(
                "\n{}; `git diff` shows every change, for you to review and commit.",
                self.done
            );
        }
        if upgrade
            .plan
            .ops
            .iter()
            .any(|op| op.path() == Path::new(".env.example"))
        {
            outln!(
                "note: .env.example changed; .env is yours (git ignores it): copy into it what you need."
            );
        }
        if !upgrade.beside.is_empty() {
            outln!(
                "help: merge each {suffix} file into the file beside it by hand (`diff -u <file> <file>{suffix}` \
                 shows saas's changes with yours), delete it, and run `cargo test`. The next `saas upgrade` \
                 treats the file as yours unless it is then exactly saas {to}'s.",
                suffix = hashes::NEW_SUFFIX
            );
            return Ok(ExitCode::from(CONFLICTS_EXIT));
        }
        if upgrade.conflicts.is_empty() {
            return Ok(ExitCode::SUCCESS);
        }
        outln!(
            "help: in each file above, keep what you want between the markers and delete the marker lines \
             (`<<<<<<<`, `=======`, `>>>>>>>`), then run `cargo test` and commit. The baseline \
             is now saas {to}'s: running `saas upgrade` again does not redo this merge."
        );
        Ok(ExitCode::from(CONFLICTS_EXIT))
    }
}
