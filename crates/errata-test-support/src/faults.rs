//! A TCP proxy a test puts between errata and a service, and breaks on
//! purpose: it refuses connections, resets them, or lets them hang
//! (a blackhole), until it is restored.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the proxy does with connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forwards both ways: the service answers.
    None,
    /// Nothing listens: connecting fails at once; open connections are reset.
    Refuse,
    /// Connections are accepted and reset at once; open ones are reset.
    Reset,
    /// Connections are accepted, and nothing goes through either way: bytes
    /// wait, as on a network that drops packets, until the proxy is restored.
    Blackhole,
}

/// A proxy to one service.
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    fault: watch::Sender<Fault>,
}

impl FaultProxy {
    /// A proxy on 127.0.0.1 forwarding to `upstream`.
    pub async fn start(upstream: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the proxy listens");
        let addr = listener.local_addr().expect("a local address");
        let (fault, watching) = watch::channel(Fault::None);
        tokio::spawn(accept(listener, addr, upstream, watching));
        FaultProxy { addr, fault }
    }

    /// Where errata should connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Breaks the proxy (or restores it with `Fault::None`), at once for
    /// open connections too.
    pub fn set(&self, fault: Fault) {
        self.fault.send_replace(fault);
    }
}

async fn accept(
    listener: TcpListener,
    addr: SocketAddr,
    upstream: SocketAddr,
    mut fault: watch::Receiver<Fault>,
) {
    let mut listener = Some(listener);
    loop {
        let now = *fault.borrow_and_update();
        if now == Fault::Refuse {
            // Closing the listener is what makes connecting fail.
            listener = None;
            if fault.changed().await.is_err() {
                return;
            }
            continue;
        }
        let bound = match listener.take() {
            Some(bound) => bound,
            None => match rebind(addr).await {
                Some(bound) => bound,
                None => return,
            },
        };
        tokio::select! {
            accepted = bound.accept() => {
                if let Ok((client, _)) = accepted {
                    tokio::spawn(pipe(client, upstream, fault.clone()));
                }
            }
            changed = fault.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
        listener = Some(bound);
    }
}

/// The listener again on the same port, once the old one is closed.
async fn rebind(addr: SocketAddr) -> Option<TcpListener> {
    for _ in 0..100 {
        if let Ok(listener) = TcpListener::bind(addr).await {
            return Some(listener);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    None
}

/// Carries one connection's bytes while the proxy is sound.
async fn pipe(client: TcpStream, upstream: SocketAddr, mut fault: watch::Receiver<Fault>) {
    // Closed with a reset rather than a clean end, whenever it is closed.
    let _ = client.set_zero_linger();
    if *fault.borrow() == Fault::Reset {
        return;
    }
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let mut from_client = vec![0u8; 16 * 1024];
    let mut from_server = vec![0u8; 16 * 1024];
    loop {
        let now = *fault.borrow_and_update();
        match now {
            Fault::Refuse | Fault::Reset => return,
            Fault::Blackhole => {
                if fault.changed().await.is_err() {
                    return;
                }
            }
            Fault::None => {
                tokio::select! {
                    read = client_read.read(&mut from_client) => match read {
                        Ok(n) if n > 0 => {
                            if server_write.write_all(&from_client[..n]).await.is_err() {
                                return;
                            }
                        }
                        _ => return,
                    },
                    read = server_read.read(&mut from_server) => match read {
                        Ok(n) if n > 0 => {
                            if client_write.write_all(&from_server[..n]).await.is_err() {
                                return;
                            }
                        }
                        _ => return,
                    },
                    changed = fault.changed() => {
                        if changed.is_err() {
                            return;
                        }
                    }
                }
            }
        }
    }
}
