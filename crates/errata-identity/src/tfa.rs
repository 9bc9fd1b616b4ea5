//! Two-factor authentication: TOTP (RFC 6238, 6 digits, 30 s), accepting
//! one step either side for clock drift, and never the same step twice.

use totp_rs::{Algorithm, Secret, TOTP};

/// The step length, in seconds.
const STEP: u64 = 30;

/// A new secret, base32 as authenticator apps take it.
pub fn new_secret() -> String {
    match Secret::Raw(crate::secret::random_bytes::<20>().to_vec()).to_encoded() {
        Secret::Encoded(text) => text,
        Secret::Raw(_) => unreachable!("to_encoded always encodes"),
    }
}

/// The `otpauth://` URI an authenticator app scans.
pub fn uri(secret: &str, account: &str) -> String {
    let account: String = form_urlencoded(account);
    format!(
        "otpauth://totp/errata:{account}?secret={secret}&issuer=errata&algorithm=SHA1&digits=6&period=30"
    )
}

fn form_urlencoded(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn totp(secret: &str) -> Option<TOTP> {
    let bytes = Secret::Encoded(secret.to_owned()).to_bytes().ok()?;
    TOTP::new(Algorithm::SHA1, 6, 1, STEP, bytes).ok()
}

/// Whether a code is shaped like one: six ASCII digits.
pub fn is_code(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())
}

/// The step at which `code` is valid for `secret` at `now` (±1 step), if it
/// is later than `last_step`, the step of the last code used.
pub fn check(secret: &str, code: &str, now: u64, last_step: i64) -> Option<i64> {
    let totp = totp(secret)?;
    let current = now / STEP;
    let mut matched = None;
    for step in [current.saturating_sub(1), current, current + 1] {
        let expected = totp.generate(step * STEP);
        if subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), code.as_bytes()).into() {
            matched = Some(step as i64);
        }
    }
    matched.filter(|step| *step > last_step)
}

/// The code for `secret` at `time`; for tests and for clients of the CLI.
pub fn code_at(secret: &str, time: u64) -> Option<String> {
    Some(totp(secret)?.generate(time))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_accepted_one_step_either_side_and_only_once() {
        let secret = new_secret();
        let now = 1_800_000_000;
        let code = code_at(&secret, now).unwrap();
        let step = check(&secret, &code, now, 0).expect("current code");
        assert_eq!(check(&secret, &code, now, step), None, "replay");
        let previous = code_at(&secret, now - 30).unwrap();
        assert!(check(&secret, &previous, now, 0).is_some());
        let next = code_at(&secret, now + 30).unwrap();
        assert!(check(&secret, &next, now, 0).is_some());
        let old = code_at(&secret, now - 90).unwrap();
        if old != code && old != previous && old != next {
            assert_eq!(check(&secret, &old, now, 0), None);
        }
        assert!(is_code("012345"));
        assert!(!is_code("01234a"));
        assert!(uri(&secret, "a b@x.io").starts_with("otpauth://totp/errata:a%20b@x.io?secret="));
    }
}
