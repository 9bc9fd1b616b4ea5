//! Change notices between instances: PostgreSQL's `LISTEN`/`NOTIFY`.
//!
//! A notice names the domain whose data changed; instances reread what
//! they keep of it. A notice can be lost while the listening connection
//! is down, so every reconnection is reported as [`Notice::Lost`], after
//! which the listener rereads everything. Reconnection happens before
//! that report, so nothing committed after the reread goes unnoticed.

use std::time::Duration;

use sqlx::postgres::PgListener;

/// The channel every instance listens on.
pub(crate) const CHANNEL: &str = "errata_changes";

/// What happened on the channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// Another instance changed this domain's data.
    Changed(String),
    /// The channel was (re)opened; notices may have been missed.
    Lost,
}

/// The notices other instances send, reconnecting by itself.
#[derive(Debug)]
pub struct Changes {
    url: String,
    listener: Option<PgListener>,
    backoff: Duration,
}

/// The longest wait between two attempts to reconnect.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

impl Changes {
    pub(crate) fn new(url: String) -> Changes {
        Changes {
            url,
            listener: None,
            backoff: Duration::from_millis(100),
        }
    }

    /// The next notice. Never fails: while PostgreSQL is down it keeps
    /// trying, and reports [`Notice::Lost`] once it is listening again.
    pub async fn next(&mut self) -> Notice {
        loop {
            let Some(listener) = &mut self.listener else {
                match listen(&self.url).await {
                    Ok(listener) => {
                        self.listener = Some(listener);
                        self.backoff = Duration::from_millis(100);
                        return Notice::Lost;
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "change notices: cannot listen yet");
                        tokio::time::sleep(self.backoff).await;
                        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
                        continue;
                    }
                }
            };
            match listener.try_recv().await {
                Ok(Some(notice)) => return Notice::Changed(notice.payload().to_owned()),
                // The connection dropped and the listener has already
                // reconnected and listens again (eager reconnection).
                Ok(None) => return Notice::Lost,
                Err(e) => {
                    tracing::debug!(error = %e, "change notices: connection lost");
                    self.listener = None;
                }
            }
        }
    }
}

async fn listen(url: &str) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect(url).await?;
    listener.eager_reconnect(true);
    listener.listen(CHANNEL).await?;
    Ok(listener)
}
