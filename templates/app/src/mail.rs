//! One mailer: SMTP in production, `.eml` files in `MAIL_DIR` everywhere else.

use std::{path::PathBuf, sync::Arc};

use anyhow::Context;
use lettre::{
    AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, MultiPart},
};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::config::{Config, Environment};

/// A message to one recipient, with a plain-text and an HTML body. Serialisable, to
/// be sent by a job (`jobs::Job::SendMail`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Mail {
    /// A mail whose point is one link: `before` it, the link, then `after` it, in plain
    /// text and in HTML. The texts are the app's own; nothing a user typed goes in.
    pub fn with_link(to: &str, subject: &str, before: &str, link: &str, after: &str) -> Self {
        Self {
            to: to.to_owned(),
            subject: subject.to_owned(),
            text: format!("{before}\n\n{link}\n\n{after}\n"),
            html: format!("<p>{before}</p><p><a href=\"{link}\">{link}</a></p><p>{after}</p>"),
        }
    }

    /// A mail of one paragraph.
    pub fn notice(to: &str, subject: &str, paragraph: &str) -> Self {
        Self {
            to: to.to_owned(),
            subject: subject.to_owned(),
            text: format!("{paragraph}\n"),
            html: format!("<p>{paragraph}</p>"),
        }
    }
}

/// Sends mail; cheap to clone. Handlers do not call it: they enqueue a job
/// (`jobs::Job::SendMail`) in their transaction, and the job worker calls it.
#[derive(Clone)]
pub struct Mailer {
    transport: Arc<Transport>,
    from: Mailbox,
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// Writes each message to `<id>.eml` in `dir`, and beside it `<id>.json`: the mail
    /// as the app wrote it, unencoded, for `GET /dev/mail`.
    Files {
        files: AsyncFileTransport<Tokio1Executor>,
        dir: PathBuf,
    },
}

/// A message in the outbox, as `<id>.json` holds it.
#[derive(Debug, Serialize, Deserialize)]
pub struct Sent {
    pub id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub sent_at: OffsetDateTime,
    #[serde(flatten)]
    pub mail: Mail,
}

impl Mailer {
    /// SMTP when `SMTP_URL` is set (required in production), the outbox directory otherwise.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let from: Mailbox = config
            .mail_from
            .parse()
            .with_context(|| format!("MAIL_FROM={:?} is not a mailbox", config.mail_from))?;
        let transport = match (&config.smtp_url, config.environment) {
            (Some(url), _) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
                    .context("SMTP_URL is not a valid SMTP URL")?
                    .build(),
            ),
            (None, Environment::Production) => anyhow::bail!("SMTP_URL is required in production"),
            (None, Environment::Development | Environment::Test) => {
                std::fs::create_dir_all(&config.mail_dir).with_context(|| {
                    format!("could not create MAIL_DIR {}", config.mail_dir.display())
                })?;
                Transport::Files {
                    files: AsyncFileTransport::new(&config.mail_dir),
                    dir: config.mail_dir.clone(),
                }
            }
        };
        Ok(Self {
            transport: Arc::new(transport),
            from,
        })
    }

    /// Sends `mail` and waits for the transport to accept it.
    pub async fn send(&self, mail: Mail) -> anyhow::Result<()> {
        let message = Message::builder()
            .from(self.from.clone())
            .to(mail.to.parse().context("invalid recipient")?)
            .subject(&mail.subject)
            .multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                mail.html.clone(),
            ))
            .context("could not build the message")?;
        match self.transport.as_ref() {
            Transport::Smtp(smtp) => smtp.send(message).await.map(drop)?,
            Transport::Files { files, dir } => {
                let id = files.send(message).await?;
                let sent = Sent {
                    sent_at: OffsetDateTime::now_utc(),
                    id,
                    mail,
                };
                // Renamed into place, so the list never reads half a file.
                let path = dir.join(format!("{}.json", sent.id));
                let partial = path.with_extension("json.partial");
                tokio::fs::write(&partial, serde_json::to_vec_pretty(&sent)?).await?;
                tokio::fs::rename(partial, path).await?;
            }
        }
        Ok(())
    }
}
