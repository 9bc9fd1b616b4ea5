//! Passwords: argon2id, and the rules a new one must follow.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::LazyLock;

/// OWASP's first recommended argon2id setting: 19 MiB, 2 passes, 1 lane.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("constant parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Shortest and longest password accepted. The upper bound keeps one
/// login from costing more than any other.
pub const MIN_LEN: usize = 8;
/// See `MIN_LEN`.
pub const MAX_LEN: usize = 256;

/// Hashes a password as a PHC string.
pub fn hash(password: &str) -> String {
    let salt = SaltString::encode_b64(&crate::secret::random_bytes::<16>())
        .expect("16 bytes make a valid salt");
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashes any password within MAX_LEN")
        .to_string()
}

/// Whether `password` matches the PHC string `stored`. A stored value that
/// does not parse matches nothing.
pub fn verify(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Spends the time of one verification, for a user that does not exist, so
/// that an unknown user and a wrong password take as long.
pub fn verify_nothing(password: &str) {
    static DUMMY: LazyLock<String> = LazyLock::new(|| hash("errata-timing-equalizer"));
    let _ = verify(password, &DUMMY);
}

/// Whether a new password is acceptable.
pub fn is_acceptable(password: &str) -> bool {
    let chars = password.chars().count();
    (MIN_LEN..=MAX_LEN).contains(&chars) && !password.chars().all(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_are_salted() {
        let a = hash("correct horse");
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert!(verify("correct horse", &a));
        assert!(!verify("wrong horse", &a));
        assert_ne!(hash("correct horse"), a);
        assert!(!verify("x", "not a hash"));
    }

    #[test]
    fn rules() {
        assert!(is_acceptable("12345678"));
        assert!(!is_acceptable("1234567"));
        assert!(!is_acceptable("        "));
        assert!(!is_acceptable(&"x".repeat(MAX_LEN + 1)));
    }
}
