//! Checks that a webhook request comes from Stripe: the `Stripe-Signature` header is
//! `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` (several `v1` while a
//! secret is being rolled), keyed with the endpoint's signing secret.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// How far the signed time may be from ours, either way. Older deliveries may be
/// replays; future ones come from a wrong clock.
pub const TOLERANCE_SECONDS: i64 = 300;

/// The most `v1` signatures a header may carry. Stripe sends one per signing secret of
/// the endpoint (two while a secret is rolled); more is someone probing.
pub const MAX_SIGNATURES: usize = 8;

/// The longest header accepted: a timestamp and [`MAX_SIGNATURES`] signatures fit with
/// room to spare. Anything longer is refused before it is read.
pub const MAX_HEADER_BYTES: usize = 1024;

/// Why a signature was refused; logged, never shown in detail to the sender.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no Stripe-Signature header")]
    Missing,
    #[error("the Stripe-Signature header has no timestamp")]
    NoTimestamp,
    #[error("the Stripe-Signature header has no v1 signature")]
    NoSignature,
    #[error("the Stripe-Signature header is longer than {MAX_HEADER_BYTES} bytes")]
    TooLong,
    #[error("the Stripe-Signature header has more than {MAX_SIGNATURES} v1 signatures")]
    TooManySignatures,
    #[error("the signed time is {0} seconds away from now")]
    OutsideTolerance(i64),
    #[error("no v1 signature matches")]
    Mismatch,
}

/// Verifies `header` against the raw `body` with any of `secrets`, at `now` (Unix seconds).
///
/// The work a request can cause is bounded whatever it sends: the header's length and
/// its number of signatures are capped, the time is checked before any hashing, and the
/// body is hashed once per secret, not once per signature.
pub fn verify(
    header: Option<&str>,
    body: &[u8],
    secrets: &[SecretString],
    now: i64,
) -> Result<(), SignatureError> {
    let header = header
        .filter(|header| !header.trim().is_empty())
        .ok_or(SignatureError::Missing)?;
    if header.len() > MAX_HEADER_BYTES {
        return Err(SignatureError::TooLong);
    }
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for item in header.split(',') {
        match item.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signatures.extend(decode_hex(value)),
            // Other schemes (v0 is for tests on Stripe's side) are not accepted.
            _ => {}
        }
    }
    if signatures.len() > MAX_SIGNATURES {
        return Err(SignatureError::TooManySignatures);
    }
    let timestamp = timestamp.ok_or(SignatureError::NoTimestamp)?;
    if signatures.is_empty() {
        return Err(SignatureError::NoSignature);
    }
    let skew = now.saturating_sub(timestamp);
    if skew.abs() > TOLERANCE_SECONDS {
        return Err(SignatureError::OutsideTolerance(skew));
    }
    let matches = secrets.iter().any(|secret| {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes())
            .expect("HMAC takes a key of any length");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        // Each comparison finishes a copy of the hashed state (a few blocks, whatever the
        // body's size) and compares in constant time.
        signatures
            .iter()
            .any(|signature| mac.clone().verify_slice(signature).is_ok())
    });
    if matches {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// Lowercase or uppercase hex to bytes; `None` for anything else.
fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;
    const BODY: &[u8] = br#"{"id":"evt_1","type":"ping"}"#;

    fn secrets(values: &[&str]) -> Vec<SecretString> {
        values.iter().map(|value| (*value).into()).collect()
    }

    /// The signature as Stripe computes it: hex HMAC-SHA256 of "<t>.<body>".
    fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{timestamp}.").as_bytes());
        mac.update(body);
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }

    #[test]
    fn a_signature_made_with_the_secret_verifies() {
        let header = format!("t={NOW},v1={}", sign("whsec_a", NOW, BODY));
        assert_eq!(
            verify(Some(&header), BODY, &secrets(&["whsec_a"]), NOW),
            Ok(())
        );
    }

    #[test]
    fn any_of_several_signatures_and_secrets_may_match() {
        let header = format!(
            "t={NOW},v1={},v1={},v0=ignored",
            sign("whsec_old", NOW, BODY),
            sign("whsec_new", NOW, BODY)
        );
        assert_eq!(
            verify(Some(&header), BODY, &secrets(&["whsec_new"]), NOW),
            Ok(())
        );
        let header = format!("t={NOW},v1={}", sign("whsec_new", NOW, BODY));
        let rolling = secrets(&["whsec_old", "whsec_new"]);
        assert_eq!(verify(Some(&header), BODY, &rolling, NOW), Ok(()));
    }

    #[test]
    fn a_changed_body_or_another_secret_does_not_verify() {
        let header = format!("t={NOW},v1={}", sign("whsec_a", NOW, BODY));
        let tampered = br#"{"id":"evt_2","type":"ping"}"#;
        let keys = secrets(&["whsec_a"]);
        assert_eq!(
            verify(Some(&header), tampered, &keys, NOW),
            Err(SignatureError::Mismatch)
        );
        let other = secrets(&["whsec_b"]);
        assert_eq!(
            verify(Some(&header), BODY, &other, NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn the_signed_time_must_be_within_five_minutes_either_way() {
        let keys = secrets(&["whsec_a"]);
        for (at, accepted) in [
            (NOW - 300, true),
            (NOW - 301, false),
            (NOW + 300, true),
            (NOW + 301, false),
        ] {
            let header = format!("t={at},v1={}", sign("whsec_a", at, BODY));
            assert_eq!(
                verify(Some(&header), BODY, &keys, NOW).is_ok(),
                accepted,
                "t = {at}"
            );
        }
    }

    #[test]
    fn a_header_with_too_many_signatures_or_bytes_is_refused_unread() {
        let keys = secrets(&["whsec_a"]);
        let good = sign("whsec_a", NOW, BODY);
        let mut header = format!("t={NOW}");
        for _ in 0..MAX_SIGNATURES - 1 {
            header.push_str(&format!(",v1={}", "0".repeat(64)));
        }
        let last_of_many = format!("{header},v1={good}");
        assert_eq!(verify(Some(&last_of_many), BODY, &keys, NOW), Ok(()));

        let one_too_many = format!("{last_of_many},v1={good}");
        assert_eq!(
            verify(Some(&one_too_many), BODY, &keys, NOW),
            Err(SignatureError::TooManySignatures)
        );
        let padded = format!("t={NOW},v1={good},{}", "x".repeat(MAX_HEADER_BYTES));
        assert_eq!(
            verify(Some(&padded), BODY, &keys, NOW),
            Err(SignatureError::TooLong)
        );
    }

    #[test]
    fn malformed_headers_are_refused_with_their_reason() {
        let keys = secrets(&["whsec_a"]);
        let good = sign("whsec_a", NOW, BODY);
        let cases = [
            (None, SignatureError::Missing),
            (Some(String::new()), SignatureError::Missing),
            (Some(format!("v1={good}")), SignatureError::NoTimestamp),
            (
                Some(format!("t=soon,v1={good}")),
                SignatureError::NoTimestamp,
            ),
            (Some(format!("t={NOW}")), SignatureError::NoSignature),
            (
                Some(format!("t={NOW},v0={good}")),
                SignatureError::NoSignature,
            ),
            (
                Some(format!("t={NOW},v1=not-hex")),
                SignatureError::NoSignature,
            ),
        ];
        for (header, expected) in cases {
            assert_eq!(
                verify(header.as_deref(), BODY, &keys, NOW),
                Err(expected),
                "{header:?}"
            );
        }
    }
}
