//! Persisted queries in Redis, so that a document registered on one
//! instance runs by its hash on every other.

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use redis::AsyncCommands;

use super::Redis;

/// The largest document shared: a client registering a heavier one runs it
/// on the instance it sent it to, and sends it again to the others when
/// they do not know its hash. Anyone may register documents, and a valid
/// one may carry any amount of comment up to the body limit, so this and
/// the life below bound what one client can store in Redis, whose memory
/// is every instance's: at most its rate limit times 16 KiB times an hour.
pub const MAX_SHARED_DOCUMENT: usize = 16 * 1024;

/// How long a shared document lives after it was last registered or run
/// by its hash (each lookup renews it): a client that still uses it
/// registers it again once it has expired.
pub const SHARED_DOCUMENT_SECS: u64 = 3600;

/// The persisted queries every instance sees, under `{prefix}apq:{hash}`.
#[derive(Debug)]
pub struct SharedDocuments {
    redis: Redis,
}

impl SharedDocuments {
    /// The store in `redis`.
    pub fn new(redis: &Redis) -> SharedDocuments {
        SharedDocuments {
            redis: redis.clone(),
        }
    }

    fn key(&self, hash: &str) -> String {
        format!("{}apq:{hash}", self.redis.prefix())
    }
}

impl errata_graphql::SharedDocuments for SharedDocuments {
    fn get<'a>(&'a self, hash: &'a str) -> BoxFuture<'a, Option<String>> {
        let key = self.key(hash);
        async move {
            let text: String = self
                .redis
                .call(|mut connection| async move {
                    connection
                        .get_ex::<_, Option<String>>(key, redis::Expiry::EX(SHARED_DOCUMENT_SECS))
                        .await
                })
                .await??;
            // Anything may have written the key; only what this store
            // would have kept is taken.
            (text.len() <= MAX_SHARED_DOCUMENT).then_some(text)
        }
        .boxed()
    }

    fn put<'a>(&'a self, hash: &'a str, document: &'a str) -> BoxFuture<'a, ()> {
        let key = self.key(hash);
        async move {
            if document.len() > MAX_SHARED_DOCUMENT {
                return;
            }
            self.redis
                .call(|mut connection| async move {
                    connection
                        .set_ex::<_, _, ()>(key, document, SHARED_DOCUMENT_SECS)
                        .await
                })
                .await;
        }
        .boxed()
    }
}
