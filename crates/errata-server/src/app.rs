//! Starting and stopping the server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;

use errata_catalog::Error;
use errata_store::Notice;

use crate::config::Config;
use crate::routes::router;
use crate::state::AppState;

/// A running server.
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    /// The outbox's worker.
    mail: tokio::task::JoinHandle<()>,
    state: Arc<AppState>,
}

impl Running {
    /// The address it listens on (useful after binding port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting connections and waits for requests in flight.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.finish().await
    }

    /// Waits until the server stops by itself (it does not, unless it fails).
    pub async fn wait(self) -> std::io::Result<()> {
        self.finish().await
    }

    async fn finish(mut self) -> std::io::Result<()> {
        let result = (&mut self.task)
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        // The mails being sent get one timeout to finish; the rest of
        // their batch is taken again when its lease ends.
        self.state.mail.stop();
        let grace = Duration::from_millis(self.state.config.mail.timeout_ms.max(1));
        if tokio::time::timeout(grace, &mut self.mail).await.is_err() {
            self.mail.abort();
        }
        if let Some(identity) = self.state.identity.get()
            && let Err(e) = identity.flush_last_used().await
        {
            tracing::warn!(error = %e, "API tokens' last use could not be saved");
        }
        self.state.storage.close().await;
        result
    }
}

/// The async runtime `errata serve` runs on: `config.workers` worker
/// threads, or one per core.
pub fn runtime(config: &Config) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if let Some(workers) = config.workers {
        builder.worker_threads(workers.max(1));
    }
    builder.build()
}

/// Binds `config.addr` and starts serving; the returned handle stops it.
pub async fn start(config: Config) -> Result<Running, StartError> {
    let state = AppState::new(config).await.map_err(StartError::Storage)?;
    let listener = tokio::net::TcpListener::bind(state.config.addr)
        .await
        .map_err(|e| StartError::Bind(state.config.addr, e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| StartError::Bind(state.config.addr, e))?;
    let (stop, stopped) = oneshot::channel::<()>();
    let app = router(Arc::clone(&state)).into_make_service_with_connect_info::<SocketAddr>();
    if let Some(handle) = state.metrics.clone() {
        // The exporter keeps every histogram sample until upkeep folds them
        // into buckets; without it, memory grows with each request.
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tick.tick().await;
                handle.run_upkeep();
            }
        });
    }
    let limiters: Vec<crate::ratelimit::ClientLimiter> = (state.limiter.iter())
        .chain(state.operation_limiters.iter().map(|(_, l)| l))
        .cloned()
        .collect();
    if !limiters.is_empty() {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                for limiter in &limiters {
                    limiter.shrink();
                }
            }
        });
    }
    tokio::spawn(identity_upkeep(Arc::clone(&state)));
    let mail = tokio::spawn(deliver_mail(Arc::clone(&state)));
    tokio::spawn(forget_on_page_changes(
        state.pages.subscribe(),
        Arc::downgrade(&state),
    ));
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });
    Ok(Running {
        addr,
        stop: Some(stop),
        task,
        mail,
        state,
    })
}

/// The outbox's worker, once the database answers.
async fn deliver_mail(state: Arc<AppState>) {
    state.bring_up().await;
    let mail = state.mail.clone();
    drop(state);
    mail.run().await;
}

/// What keeps identity current, once the database answers (at once, or
/// when PostgreSQL comes back after a start without it): `lastUsed` writes,
/// other instances' change notices, and the periodic reread and purge.
async fn identity_upkeep(state: Arc<AppState>) {
    let identity = state.bring_up().await.clone();
    let flushing = identity.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(10));
        loop {
            tick.tick().await;
            if let Err(e) = flushing.flush_last_used().await {
                tracing::warn!(error = %e, "API tokens' last use could not be saved");
            }
        }
    });
    if let Some(mut changes) = state.storage.changes() {
        // Other instances' writes, within a round trip of their commit.
        // This instance hears its own too, which is harmless.
        let identity = identity.clone();
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            loop {
                let notice = changes.next().await;
                let reread = matches!(&notice, Notice::Lost)
                    || matches!(&notice, Notice::Changed(domain) if domain == "identity");
                if reread && let Err(e) = identity.reload().await {
                    tracing::warn!(error = %e, "the identity directory could not be reloaded");
                }
                if matches!(&notice, Notice::Lost)
                    || matches!(&notice, Notice::Changed(domain) if domain == errata_pages::CHANNEL)
                {
                    state.pages.forget();
                }
                state.pipeline.forget_responses();
            }
        });
    }
    let refresh = Duration::from_secs(state.config.auth.directory_refresh_secs.max(1));
    let mut tick = tokio::time::interval(refresh);
    tick.tick().await;
    loop {
        tick.tick().await;
        if let Err(e) = identity.reload().await {
            tracing::warn!(error = %e, "the identity directory could not be reloaded");
        }
        if let Err(e) = identity.purge().await {
            tracing::warn!(error = %e, "expired identity records could not be purged");
        }
    }
}

/// Drops kept answers when this process changes pages (other instances'
/// changes come as notices). The task ends with the state.
async fn forget_on_page_changes(
    mut changes: tokio::sync::broadcast::Receiver<()>,
    state: std::sync::Weak<AppState>,
) {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        match changes.recv().await {
            Ok(()) | Err(RecvError::Lagged(_)) => match state.upgrade() {
                Some(state) => state.pipeline.forget_responses(),
                None => return,
            },
            Err(RecvError::Closed) => return,
        }
    }
}

/// Why the server could not start.
#[derive(Debug)]
pub enum StartError {
    /// The data directory or database could not be opened.
    Storage(Error),
    /// The address could not be bound.
    Bind(SocketAddr, std::io::Error),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Storage(e) => match e.cause() {
                Some(cause) => write!(f, "{e} ({cause})"),
                None => write!(f, "{e}"),
            },
            StartError::Bind(addr, e) => write!(f, "cannot listen on {addr}: {e}"),
        }
    }
}

impl std::error::Error for StartError {}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runtime_has_the_configured_workers() {
        let config = Config {
            workers: Some(1),
            ..Config::default()
        };
        assert_eq!(runtime(&config).unwrap().metrics().num_workers(), 1);
        let config = Config {
            workers: Some(3),
            ..Config::default()
        };
        assert_eq!(runtime(&config).unwrap().metrics().num_workers(), 3);
    }
}
