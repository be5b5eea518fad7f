//! Organizations and their members. Every route under `/orgs/{org_id}` acts through the
//! caller's membership ([`Actor`](crate::access::Actor)); membership changes keep the
//! invariants of [`lock`] and [`ensure_an_owner_remains`].

pub mod invitations;
pub mod members;
pub mod organizations;

use sqlx::Transaction;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::{AppState, db::Db, error::AppError};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(
            organizations::create_organization,
            organizations::list_organizations
        ))
        .routes(routes!(
            organizations::get_organization,
            organizations::update_organization,
            organizations::delete_organization
        ))
        .routes(routes!(members::list_members))
        .routes(routes!(members::change_role, members::remove_member))
        .routes(routes!(members::transfer_ownership))
        .merge(invitations::router())
}

/// Locks the organization's row until `tx` ends, so that transactions changing one
/// organization's memberships run one after another and each sees the others' result.
/// Every such transaction calls this first. 404 if the organization is gone.
pub async fn lock(tx: &mut Transaction<'static, Db>, org_id: Uuid) -> Result<(), AppError> {
    // `no key update`: inserts of rows that reference the organization (a resource
    // whose member check holds a membership until it commits) still go ahead, where
    // `for update` would have them wait on this while this waits on their membership.
    sqlx::query_scalar::<_, Uuid>("select id from organizations where id = $1 for no key update")
        .bind(org_id)
        .fetch_optional(&mut **tx)
        .await?
        .map(|_| ())
        .ok_or(AppError::NotFound)
}

/// The last check of every transaction that changes memberships, before it commits:
/// an organization always keeps at least one owner. 409 otherwise, and the caller's
/// transaction is dropped, so nothing it did is kept.
pub async fn ensure_an_owner_remains(
    tx: &mut Transaction<'static, Db>,
    org_id: Uuid,
) -> Result<(), AppError> {
    let owners: i64 =
        sqlx::query_scalar("select count(*) from memberships where org_id = $1 and role = 'owner'")
            .bind(org_id)
            .fetch_one(&mut **tx)
            .await?;
    if owners == 0 {
        return Err(AppError::Conflict(
            "an organization must keep at least one owner",
        ));
    }
    Ok(())
}
