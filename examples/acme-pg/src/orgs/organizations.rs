//! Organizations: created by anyone signed in (who becomes the owner), read by their
//! members, renamed and deleted as the permission table allows.

use axum::{extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use sqlx::{FromRow, Transaction};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    AppState,
    access::{Actor, MemberErrors, Permission, PermissionErrors, Role},
    auth::{extract::CurrentUser, user::User},
    billing,
    db::{self, Db, DbPool},
    error::{AppError, ErrorBody},
    extract::AppJson,
    openapi::{AuthErrors, CrossSiteErrors, JsonBodyErrors, RateLimitErrors, ServerErrors},
    rate_limit,
};

/// An organization as one of its members sees it.
#[derive(Debug, Serialize, FromRow, ToSchema)]
pub struct OrganizationView {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    /// The caller's role in it.
    #[sqlx(try_from = "String")]
    pub role: Role,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// An organization and what the caller may do in it, so a client can hide the rest.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationDetail {
    #[serde(flatten)]
    pub organization: OrganizationView,
    /// The caller's permissions, such as `org:update`.
    pub permissions: Vec<&'static str>,
}

/// One of the caller's memberships, as `GET /auth/me` lists them.
#[derive(Debug, Serialize, FromRow, ToSchema)]
pub struct MembershipView {
    pub org_id: Uuid,
    pub org_name: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
}

/// The organizations `user_id` belongs to, oldest first.
pub async fn memberships_of(
    db: &DbPool,
    user_id: Uuid,
) -> Result<Vec<MembershipView>, sqlx::Error> {
    sqlx::query_as(
        "select m.org_id, o.name as org_name, m.role
         from memberships m join organizations o on o.id = m.org_id
         where m.user_id = $1 order by m.org_id",
    )
    .bind(user_id)
    .fetch_all(db)
    .await
}

#[derive(Deserialize, ToSchema)]
pub struct OrganizationRequest {
    /// 1 to 100 characters once trimmed.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: String,
}

/// A name trimmed, 1 to 100 characters; 422 otherwise.
fn parse_name(raw: &str) -> Result<&str, AppError> {
    let name = raw.trim();
    match name.chars().count() {
        0 => Err(AppError::invalid("name", "must not be empty")),
        n if n > 100 => Err(AppError::invalid("name", "must be at most 100 characters")),
        _ => Ok(name),
    }
}

/// The readable part of a slug: the name's letters and digits, lowercased, with single
/// dashes between words.
fn slug_base(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() && slug.len() < 40 {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() { "org" } else { slug }.to_owned()
}

/// Creates an organization owned by `owner_id` inside `tx`. The slug is the name's, or
/// with a random suffix when another organization has it: the unique index decides.
pub async fn create(
    tx: &mut Transaction<'static, Db>,
    name: &str,
    owner_id: Uuid,
) -> Result<OrganizationView, AppError> {
    let base = slug_base(name);
    let mut slug = base.clone();
    let id = loop {
        let inserted: Option<Uuid> = sqlx::query_scalar(
            "insert into organizations (id, name, slug) values ($1, $2, $3)
             on conflict (slug) do nothing returning id",
        )
        .bind(Uuid::now_v7())
        .bind(name)
        .bind(&slug)
        .fetch_optional(&mut **tx)
        .await?;
        if let Some(id) = inserted {
            break id;
        }
        let random = Uuid::now_v7().simple().to_string();
        slug = format!("{base}-{}", &random[random.len() - 6..]);
    };
    sqlx::query("insert into memberships (org_id, user_id, role) values ($1, $2, $3)")
        .bind(id)
        .bind(owner_id)
        .bind(Role::Owner.as_str())
        .execute(&mut **tx)
        .await?;
    Ok(find(&mut **tx, id, owner_id).await?.expect("just created"))
}

/// The personal organization every account starts with, created in its sign-up transaction.
pub async fn create_personal(
    tx: &mut Transaction<'static, Db>,
    user: &User,
) -> Result<OrganizationView, AppError> {
    create(tx, &user.name, user.id).await
}

async fn find(
    db: impl sqlx::Executor<'_, Database = Db>,
    org_id: Uuid,
    user_id: Uuid,
) -> Result<Option<OrganizationView>, sqlx::Error> {
    sqlx::query_as(
        "select o.id, o.name, o.slug, m.role, o.created_at
         from organizations o join memberships m on m.org_id = o.id
         where o.id = $1 and m.user_id = $2",
    )
    .bind(org_id)
    .bind(user_id)
    .fetch_optional(db)
    .await
}

/// Creates an organization; the caller becomes its owner.
#[utoipa::path(
    post,
    path = "/orgs",
    tag = "orgs",
    security(("session" = []), ("bearer" = [])),
    request_body = OrganizationRequest,
    responses(
        (status = 201, description = "Created; the caller is its owner", body = OrganizationView),
        (status = 422, description = "A missing or invalid name", body = ErrorBody),
        JsonBodyErrors, AuthErrors, CrossSiteErrors, RateLimitErrors, ServerErrors,
    )
)]
pub async fn create_organization(
    State(state): State<AppState>,
    caller: CurrentUser,
    AppJson(request): AppJson<OrganizationRequest>,
) -> Result<(StatusCode, AppJson<OrganizationView>), AppError> {
    let name = parse_name(&request.name)?;
    let key = format!("orgs-created-by:{}", caller.user.id);
    let limit = state.config.orgs_per_user_per_hour;
    rate_limit::hit(&state, &key, limit, rate_limit::HOURLY).await?;
    let mut tx = db::begin_write(&state.db).await?;
    let organization = create(&mut tx, name, caller.user.id).await?;
    tx.commit().await?;
    tracing::info!(org_id = %organization.id, user_id = %caller.user.id, "organization created");
    Ok((StatusCode::CREATED, AppJson(organization)))
}

/// The organizations the caller belongs to, with their role in each.
#[utoipa::path(
    get,
    path = "/orgs",
    tag = "orgs",
    security(("session" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The caller's organizations, oldest first (with an API token limited to one organization, that one)", body = Vec<OrganizationView>),
        AuthErrors, ServerErrors,
    )
)]
pub async fn list_organizations(
    State(state): State<AppState>,
    caller: CurrentUser,
) -> Result<AppJson<Vec<OrganizationView>>, AppError> {
    // A token limited to one organization sees that one only.
    let organizations = sqlx::query_as(
        "select o.id, o.name, o.slug, m.role, o.created_at
         from organizations o join memberships m on m.org_id = o.id
         where m.user_id = $1 and ($2 is null or o.id = $2) order by o.id",
    )
    .bind(caller.user.id)
    .bind(caller.scope.org_id)
    .fetch_all(&state.db)
    .await?;
    Ok(AppJson(organizations))
}

/// One organization, with the caller's role and permissions in it.
#[utoipa::path(
    get,
    path = "/orgs/{org_id}",
    tag = "orgs",
    security(("session" = []), ("bearer" = [])),
    extensions(("x-permission" = json!(Permission::OrgRead.as_str()))),
    params(("org_id" = Uuid, Path, description = "The organization")),
    responses(
        (status = 200, description = "The organization", body = OrganizationDetail),
        MemberErrors, PermissionErrors, ServerErrors,
    )
)]
pub async fn get_organization(
    State(state): State<AppState>,
    actor: Actor,
) -> Result<AppJson<OrganizationDetail>, AppError> {
    actor.require(Permission::OrgRead)?;
    let organization = find(&state.db, actor.org_id, actor.user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(AppJson(OrganizationDetail {
        organization,
        permissions: actor.permissions(),
    }))
}

/// Renames an organization.
#[utoipa::path(
    patch,
    path = "/orgs/{org_id}",
    tag = "orgs",
    security(("session" = []), ("bearer" = [])),
    extensions(("x-permission" = json!(Permission::OrgUpdate.as_str()))),
    params(("org_id" = Uuid, Path, description = "The organization")),
    request_body = OrganizationRequest,
    responses(
        (status = 200, description = "Renamed", body = OrganizationView),
        (status = 422, description = "A missing or invalid name", body = ErrorBody),
        JsonBodyErrors, MemberErrors, PermissionErrors, ServerErrors,
    )
)]
pub async fn update_organization(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(request): AppJson<OrganizationRequest>,
) -> Result<AppJson<OrganizationView>, AppError> {
    actor.require(Permission::OrgUpdate)?;
    let name = parse_name(&request.name)?;
    sqlx::query("update organizations set name = $1 where id = $2")
        .bind(name)
        .bind(actor.org_id)
        .execute(&state.db)
        .await?;
    let organization = find(&state.db, actor.org_id, actor.user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(AppJson(organization))
}

/// Deletes an organization with its memberships, invitations and every row it owns.
///
/// An organization whose subscription renews is refused: cancel it first.
#[utoipa::path(
    delete,
    path = "/orgs/{org_id}",
    tag = "orgs",
    security(("session" = []), ("bearer" = [])),
    extensions(("x-permission" = json!(Permission::OrgDelete.as_str()))),
    params(("org_id" = Uuid, Path, description = "The organization")),
    responses(
        (status = 204, description = "Deleted, with everything it owned"),
        (status = 409, description = "Its subscription renews: cancel it in the billing portal first (`subscription_renews`); nothing changed", body = ErrorBody),
        MemberErrors, PermissionErrors, ServerErrors,
    )
)]
pub async fn delete_organization(
    State(state): State<AppState>,
    actor: Actor,
) -> Result<StatusCode, AppError> {
    actor.require(Permission::OrgDelete)?;
    let mut tx = db::begin_write(&state.db).await?;
    // Deleting the billing row would leave Stripe charging for an organization that no
    // longer exists, with nobody to see it.
    if billing::account::renews(&mut tx, actor.org_id).await? {
        return Err(AppError::SubscriptionRenews);
    }
    // Foreign keys cascade: memberships, invitations and resource rows go with it.
    sqlx::query("delete from organizations where id = $1")
        .bind(actor.org_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(org_id = %actor.org_id, user_id = %actor.user_id, "organization deleted");
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_keep_letters_and_digits_with_single_dashes() {
        assert_eq!(slug_base("  Acme Corp, Inc. "), "acme-corp-inc");
        assert_eq!(slug_base("Ünïcode Ω"), "n-code");
        assert_eq!(slug_base("!!!"), "org");
    }
}
