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

/// How much argon2 work may run and wait at once, server-wide. Each
/// verification holds 19 MiB for tens of milliseconds, so unbounded
/// concurrent logins or password changes would exhaust memory; past the
/// queue, callers are refused at once with `security.password_check_busy`
/// (503) instead of waiting.
#[derive(Debug)]
pub struct Gate {
    running: tokio::sync::Semaphore,
    admitted: std::sync::atomic::AtomicUsize,
    capacity: usize,
}

/// Seconds a refused caller is told to wait.
const BUSY_RETRY_AFTER: i64 = 1;

impl Gate {
    /// `parallel` running at once, `queue` more waiting.
    pub fn new(parallel: usize, queue: usize) -> Gate {
        let parallel = parallel.max(1);
        Gate {
            running: tokio::sync::Semaphore::new(parallel),
            admitted: std::sync::atomic::AtomicUsize::new(0),
            capacity: parallel + queue,
        }
    }

    /// Runs `work` on the blocking pool once a place is free, or refuses
    /// it when the queue is full.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, errata_catalog::Error> {
        use std::sync::atomic::Ordering;
        if self.admitted.fetch_add(1, Ordering::AcqRel) >= self.capacity {
            self.admitted.fetch_sub(1, Ordering::AcqRel);
            return Err(errata_errors::security::password_check_busy()
                .with_detail("retryAfter", BUSY_RETRY_AFTER));
        }
        let _admitted = Admitted(&self.admitted);
        let _permit = self
            .running
            .acquire()
            .await
            .map_err(|e| errata_errors::system::internal().with_source(e))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| errata_errors::system::internal().with_source(e))
    }
}

/// Gives the place back however the work ends, a cancelled request included.
struct Admitted<'a>(&'a std::sync::atomic::AtomicUsize);

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
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

    #[tokio::test]
    async fn the_gate_refuses_past_its_queue_and_frees_places() {
        let gate = std::sync::Arc::new(Gate::new(1, 1));
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let first = {
            let gate = std::sync::Arc::clone(&gate);
            tokio::spawn(async move { gate.run(move || hold.recv().is_ok()).await })
        };
        while gate.running.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        let second = {
            let gate = std::sync::Arc::clone(&gate);
            tokio::spawn(async move { gate.run(|| 2).await })
        };
        while gate.admitted.load(std::sync::atomic::Ordering::Acquire) < 2 {
            tokio::task::yield_now().await;
        }
        let refused = gate.run(|| 3).await.unwrap_err();
        assert_eq!(refused.id(), "security.password_check_busy");
        assert_eq!(refused.class().status(), 503);
        release.send(()).unwrap();
        assert!(first.await.unwrap().unwrap());
        assert_eq!(second.await.unwrap().unwrap(), 2);
        assert_eq!(gate.run(|| 4).await.unwrap(), 4, "places are given back");
    }

    #[test]
    fn rules() {
        assert!(is_acceptable("12345678"));
        assert!(!is_acceptable("1234567"));
        assert!(!is_acceptable("        "));
        assert!(!is_acceptable(&"x".repeat(MAX_LEN + 1)));
    }
}
