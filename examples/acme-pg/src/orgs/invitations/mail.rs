//! The invitation mail, sent by the job worker: it issues the token, keeps its hash,
//! and mails the link.

use sqlx::FromRow;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{
    AppState,
    access::Role,
    auth::session::{hash_token, new_token},
    db,
    links::MailedLink,
    mail::Mail,
};

/// What the invitation mail says.
#[derive(FromRow)]
struct PendingMail {
    email: String,
    #[sqlx(try_from = "String")]
    role: Role,
    org_name: String,
    expires_at: OffsetDateTime,
}

/// Issues the invitation's token and mails its link; run by the job worker
/// (`Job::SendInvitation`). Does nothing if the invitation was accepted, revoked or
/// has expired since the job was enqueued.
pub async fn send_invitation(state: &AppState, invitation_id: Uuid) -> anyhow::Result<()> {
    let mut tx = db::begin_write(&state.db).await?;
    let pending: Option<PendingMail> = sqlx::query_as(
        "select i.email, i.role, o.name as org_name, i.expires_at
         from invitations i join organizations o on o.id = i.org_id
         where i.id = $1 and i.accepted_at is null and i.revoked_at is null",
    )
    .bind(invitation_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(pending) = pending.filter(|pending| pending.expires_at > OffsetDateTime::now_utc())
    else {
        return Ok(());
    };
    let token = new_token();
    sqlx::query("update invitations set token_hash = $1 where id = $2")
        .bind(hash_token(&token))
        .bind(invitation_id)
        .execute(&mut *tx)
        .await?;
    // Committed before sending: if sending fails, the retry issues a new token, and
    // only the newest link works.
    tx.commit().await?;
    state
        .mailer
        .send(invitation_mail(state, &pending, &token))
        .await?;
    tracing::info!(%invitation_id, "invitation sent");
    Ok(())
}

fn invitation_mail(state: &AppState, pending: &PendingMail, token: &str) -> Mail {
    let link = MailedLink::AcceptInvitation.url(&state.config, token);
    let expires = pending
        .expires_at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let before = |org_name: &str| {
        format!(
            "You are invited to join {org_name} as {role}. \
             To accept, sign in (or sign up) with this email address and open:",
            role = pending.role
        )
    };
    let after = format!(
        "The link works once, until {expires}. If you did not expect it, ignore this mail."
    );
    // The organization's name is the only text a user typed: escaped in the HTML part.
    Mail {
        to: pending.email.clone(),
        subject: "You are invited to join an organization".to_owned(),
        text: format!("{}\n\n{link}\n\n{after}\n", before(&pending.org_name)),
        html: format!(
            "<p>{}</p><p><a href=\"{link}\">{link}</a></p><p>{after}</p>",
            before(&escape_html(&pending.org_name))
        ),
    }
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
