//! Random secrets, and the keyed hash that stores them.
//!
//! Generated secrets (API tokens' ids, OAuth client secrets, one-time
//! tokens) carry 256 random bits, so nobody can guess them by trying: a
//! keyed SHA-256 (HMAC) is enough to store them, and costs a microsecond
//! where argon2 would cost tens of milliseconds. Passwords, which people
//! choose, are hashed with argon2id instead (`password`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// `n` random bytes from the operating system.
///
/// # Panics
/// When the operating system has no randomness to give, which leaves no
/// safe way to make a secret.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system provides randomness");
    bytes
}

/// 32 random bytes as base64url (43 characters).
pub fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

/// 16 random bytes as base64url (22 characters): an id that must be unique,
/// not secret, such as a JWT's `jti`, which every request carries.
pub fn random_id() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<16>())
}

/// A user's first generation: a random number below 2^52 (so that it stays
/// exact wherever a token's claims are read as a double), so that a token
/// can only ever match the row it was issued for.
pub fn random_generation() -> i64 {
    let bits = u64::from_le_bytes(random_bytes::<8>()) & ((1 << 52) - 1);
    i64::try_from(bits).unwrap_or(0)
}

/// A keyed hash for high-entropy secrets.
#[derive(Clone)]
pub struct SecretHasher {
    key: Hmac<Sha256>,
}

impl std::fmt::Debug for SecretHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretHasher(..)")
    }
}

impl SecretHasher {
    /// A hasher with `key`.
    pub fn new(key: &[u8]) -> SecretHasher {
        SecretHasher {
            key: Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length"),
        }
    }

    /// The hash of `secret`, as lowercase hex.
    pub fn hash(&self, secret: &str) -> String {
        let mut mac = self.key.clone();
        mac.update(secret.as_bytes());
        hex(&mac.finalize().into_bytes())
    }

    /// Whether `secret` hashes to `stored`, comparing in constant time.
    pub fn verify(&self, secret: &str, stored: &str) -> bool {
        let computed = self.hash(secret);
        computed.len() == stored.len() && bool::from(computed.as_bytes().ct_eq(stored.as_bytes()))
    }
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_keyed_and_verified() {
        let a = SecretHasher::new(b"key-a");
        let b = SecretHasher::new(b"key-b");
        let secret = random_token();
        assert_eq!(secret.len(), 43);
        assert_ne!(random_token(), secret);
        let stored = a.hash(&secret);
        assert!(a.verify(&secret, &stored));
        assert!(!b.verify(&secret, &stored));
        assert!(!a.verify("other", &stored));
        assert!(!a.verify(&secret, "short"));
    }
}
