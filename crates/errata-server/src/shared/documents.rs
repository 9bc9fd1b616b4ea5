//! Persisted queries in Redis, so that a document registered on one
//! instance runs by its hash on every other.

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use redis::AsyncCommands;

use super::Redis;

/// The largest document shared: a client registering a heavier one runs it
/// on the instance it sent it to, and sends it again to the others when
/// they do not know its hash. Documents past the token limit could not run
/// anyway, and Redis's memory is every instance's.
pub const MAX_SHARED_DOCUMENT: usize = 64 * 1024;

/// How long a shared document lives after it was last registered: a
/// client that still uses it registers it again once it has expired.
pub const SHARED_DOCUMENT_SECS: u64 = 24 * 3600;

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
                .call(
                    |mut connection| async move { connection.get::<_, Option<String>>(key).await },
                )
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
