//! The links the app mails. Each opens a page of the frontend (`FRONTEND_URL`) with a
//! one-time token in its query, and that page completes it with one API call.

use crate::config::Config;

/// A kind of mailed link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailedLink {
    VerifyEmail,
    ResetPassword,
    AcceptInvitation,
}

/// How a link's page completes it: a `POST` of a JSON body that holds the token.
pub struct Completion {
    /// What the page is for, as its title.
    pub title: &'static str,
    /// The API route the page posts to.
    pub route: &'static str,
    /// The body's fields besides `token`, each with an example value.
    pub other_fields: &'static [(&'static str, &'static str)],
    /// Whether the call needs the user signed in (the session cookie or a token).
    pub signed_in: bool,
}

impl MailedLink {
    pub const ALL: &[Self] = &[
        Self::VerifyEmail,
        Self::ResetPassword,
        Self::AcceptInvitation,
    ];

    /// The path of the frontend page the link opens.
    pub fn page(self) -> &'static str {
        match self {
            Self::VerifyEmail => "/verify-email",
            Self::ResetPassword => "/reset-password",
            Self::AcceptInvitation => "/accept-invitation",
        }
    }

    /// The link that carries `token`: built from `FRONTEND_URL`, never from a
    /// request's Host header.
    pub fn url(self, config: &Config, token: &str) -> String {
        format!("{}{}?token={token}", config.frontend_url, self.page())
    }

    pub fn completion(self) -> Completion {
        match self {
            Self::VerifyEmail => Completion {
                title: "Confirm your email address",
                route: "/auth/verify-email",
                other_fields: &[],
                signed_in: false,
            },
            Self::ResetPassword => Completion {
                title: "Choose a new password",
                route: "/auth/password/reset",
                other_fields: &[("password", "a new long password")],
                signed_in: false,
            },
            Self::AcceptInvitation => Completion {
                title: "Accept the invitation",
                route: "/invitations/accept",
                other_fields: &[],
                signed_in: true,
            },
        }
    }
}
