//! The app's outbox (`MAIL_DIR`), read as a mail client would read it.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use tempfile::TempDir;

/// A temporary `MAIL_DIR`, removed when the test ends.
pub struct Outbox(TempDir);

/// A delivered message: its recipient, subject and plain-text body.
#[derive(Debug, Clone)]
pub struct Message {
    pub to: String,
    pub subject: String,
    pub text: String,
}

impl Outbox {
    pub fn new() -> Self {
        Self(tempfile::tempdir().expect("a temporary mail directory"))
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }

    /// Every message written in full so far. The mailer writes a file in more than one
    /// step, so a file without its closing boundary yet is one still being written.
    pub fn messages(&self) -> Vec<Message> {
        std::fs::read_dir(self.path())
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
            .map(|path| std::fs::read_to_string(path).unwrap())
            .filter(|raw| is_complete(raw))
            .map(|raw| parse(&raw))
            .collect()
    }

    /// The messages to `to` whose subject contains `subject`.
    pub fn messages_to(&self, to: &str, subject: &str) -> Vec<Message> {
        self.messages()
            .into_iter()
            .filter(|message| message.to == to && message.subject.contains(subject))
            .collect()
    }

    /// Waits (mail is sent in the background) until `count` such messages arrived.
    pub async fn wait_for(&self, to: &str, subject: &str, count: usize) -> Vec<Message> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let messages = self.messages_to(to, subject);
            if messages.len() >= count {
                return messages;
            }
            assert!(
                Instant::now() < deadline,
                "no mail {subject:?} to {to}: {:?}",
                self.messages()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The token of the mail to `to` whose subject contains `subject`, once it arrived.
    /// There must be exactly one: files are not in the order they were sent, so a test
    /// that sends several tells their tokens apart itself.
    pub async fn token(&self, to: &str, subject: &str) -> String {
        let messages = self.wait_for(to, subject, 1).await;
        assert_eq!(messages.len(), 1, "more than one mail {subject:?} to {to}");
        token_in(&messages[0].text)
    }
}

/// The `token=` parameter of the link in a mail body.
pub fn token_in(text: &str) -> String {
    let start = text.find("token=").expect("a link with a token") + "token=".len();
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

/// Whether `raw` is a whole multipart message: its last line closes the outer boundary.
fn is_complete(raw: &str) -> bool {
    let Some((headers, _)) = raw.split_once("\r\n\r\n") else {
        return false;
    };
    let Some(boundary) = headers.split("boundary=").nth(1) else {
        return false;
    };
    let boundary = boundary
        .split(['\r', ';'])
        .next()
        .unwrap_or_default()
        .trim_matches('"');
    raw.trim_end().ends_with(&format!("--{boundary}--"))
}

/// Parses the parts of an RFC 5322 message this app writes: headers, and the
/// text/plain part of a multipart/alternative body.
fn parse(raw: &str) -> Message {
    let (headers, body) = raw.split_once("\r\n\r\n").expect("headers and a body");
    // Long headers are folded onto indented continuation lines.
    let headers = headers.replace("\r\n ", " ").replace("\r\n\t", " ");
    let header = |name: &str| {
        headers
            .split("\r\n")
            .find_map(|line| {
                line.strip_prefix(name)
                    .and_then(|rest| rest.strip_prefix(": "))
            })
            .unwrap_or_default()
            .to_owned()
    };
    let to = header("To");
    let to = to
        .rsplit_once('<')
        .map_or(to.as_str(), |(_, address)| address.trim_end_matches('>'))
        .to_owned();
    let boundary = header("Content-Type")
        .split("boundary=")
        .nth(1)
        .expect("a multipart body")
        .trim_matches('"')
        .to_owned();
    let text_part = body
        .split(&format!("--{boundary}"))
        .find(|part| part.contains("Content-Type: text/plain"))
        .expect("a text/plain part");
    let (part_headers, part_body) = text_part.split_once("\r\n\r\n").unwrap();
    let text = if part_headers.contains("Content-Transfer-Encoding: quoted-printable") {
        decode_quoted_printable(part_body)
    } else {
        part_body.to_owned()
    };
    Message {
        to,
        subject: header("Subject"),
        text: text.replace("\r\n", "\n"),
    }
}

fn decode_quoted_printable(encoded: &str) -> String {
    let joined = encoded.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            decoded.push(u8::from_str_radix(hex, 16).expect("a quoted-printable escape"));
            i += 3;
        } else {
            decoded.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(decoded).unwrap()
}
