//! A real nginx in front of two errata instances, running the repository's
//! own configuration (`deploy/nginx/errata.conf`), as a child of the test:
//! not a daemon, with its pid file, logs and temporary files in a directory
//! of its own, on a free port of the loopback (IPv4 and IPv6). It is killed
//! when the guard is dropped.
//!
//! nginx must be installed (`scripts/services` installs Debian's
//! `nginx-light` when it is missing); `ERRATA_TEST_NGINX` names another
//! binary. Without one, starting panics, saying how to get it: a test that
//! skipped would prove nothing.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The configuration errata's README tells operators to use.
const DEPLOYED: &str = include_str!("../../../deploy/nginx/errata.conf");

/// A running nginx, killed on drop.
#[derive(Debug)]
pub struct Nginx {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Nginx {
    /// Starts nginx in front of `a` and `b`, round robin.
    pub async fn start(a: SocketAddr, b: SocketAddr) -> Nginx {
        let binary = binary();
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("errata-nginx-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("nginx's directory is made");
        // A port found free may be taken before nginx binds it: try again.
        let mut failures = Vec::new();
        for _ in 0..5 {
            let port = free_port();
            let conf = dir.join("nginx.conf");
            std::fs::write(&conf, configuration(&dir, port, a, b))
                .expect("nginx's configuration is written");
            let _ = std::fs::remove_file(dir.join("error.log"));
            let child = Command::new(&binary)
                .arg("-p")
                .arg(&dir)
                .arg("-c")
                .arg(&conf)
                .arg("-e")
                .arg(dir.join("error.log"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("{} cannot be started: {e}", binary.display()));
            let mut nginx = Nginx {
                child,
                port,
                dir: dir.clone(),
            };
            match nginx.ready().await {
                Ok(()) => return nginx,
                Err(log) => {
                    failures.push(log);
                    // The next try uses the directory.
                    nginx.dir = PathBuf::new();
                }
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        panic!("nginx did not start: {failures:#?}");
    }

    /// Waits until nginx accepts connections; its error log if it exits.
    async fn ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default();
                return Err(format!("nginx exited ({status}): {log}"));
            }
            let v4 = tokio::net::TcpStream::connect(self.addr()).await.is_ok();
            let v6 = tokio::net::TcpStream::connect(self.addr_v6()).await.is_ok();
            if v4 && v6 {
                return Ok(());
            }
            assert!(
                Instant::now() < deadline,
                "nginx did not listen within 10 s: {}",
                std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Where it listens on 127.0.0.1.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// Where it listens on ::1.
    pub fn addr_v6(&self) -> SocketAddr {
        SocketAddr::from((Ipv6Addr::LOCALHOST, self.port))
    }

    /// The URL of `path` through it, on 127.0.0.1.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr())
    }

    /// Which instance nginx sent the request whose errata request id is
    /// `id` to, from its access log (nginx writes the line once the
    /// response is sent, so this waits for it a little).
    pub async fn upstream_of(&self, id: &str) -> SocketAddr {
        let needle = format!(" request_id={id} ");
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let log = std::fs::read_to_string(self.dir.join("access.log")).unwrap_or_default();
            if let Some(line) = log.lines().find(|l| l.contains(&needle)) {
                let upstream = line
                    .split(' ')
                    .find_map(|field| field.strip_prefix("upstream="))
                    .unwrap_or_else(|| panic!("no upstream in nginx's line: {line}"));
                return upstream
                    .parse()
                    .unwrap_or_else(|_| panic!("one instance answers a request: {line}"));
            }
            assert!(
                Instant::now() < deadline,
                "nginx logged no request {id}: {log}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // One process (master_process off): killing it leaves nothing behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !self.dir.as_os_str().is_empty() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The nginx binary: `ERRATA_TEST_NGINX`, else `nginx` on the path or in
/// /usr/sbin (where Debian puts it, often off a user's path).
fn binary() -> PathBuf {
    let missing = |what: &str| -> ! {
        panic!(
            "nginx is needed by this test, and {what}: install it with \
             `apt-get install nginx-light` (scripts/services does, as root), \
             or set ERRATA_TEST_NGINX to an nginx binary"
        )
    };
    if let Some(path) = std::env::var_os("ERRATA_TEST_NGINX") {
        let path = PathBuf::from(path);
        if !path.is_file() {
            missing(&format!(
                "ERRATA_TEST_NGINX ({}) is no file",
                path.display()
            ));
        }
        return path;
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join("nginx"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| missing("it is neither on the PATH nor in /usr/sbin"))
}

/// A port free on both 127.0.0.1 and ::1 just now.
fn free_port() -> u16 {
    loop {
        let v4 = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("a free port");
        let port = v4.local_addr().expect("a local address").port();
        if TcpListener::bind((Ipv6Addr::LOCALHOST, port)).is_ok() {
            return port;
        }
    }
}

/// nginx's whole configuration: a test's own process settings and paths
/// around the deployed file, in which the instances, the port and the log
/// are this test's.
fn configuration(dir: &Path, port: u16, a: SocketAddr, b: SocketAddr) -> String {
    let path = |name: &str| format!("\"{}\"", dir.join(name).display());
    let site = [
        ("server 127.0.0.1:8081;", format!("server {a};")),
        ("server 127.0.0.1:8082;", format!("server {b};")),
        (
            "listen 80;",
            format!("listen 127.0.0.1:{port}; listen [::1]:{port};"),
        ),
        ("/var/log/nginx/errata.access.log", path("access.log")),
    ]
    .iter()
    .fold(DEPLOYED.to_owned(), |text, (from, to)| {
        assert_eq!(
            text.matches(from).count(),
            1,
            "deploy/nginx/errata.conf has `{from}` once, for the test to replace"
        );
        text.replace(from, to)
    });
    format!(
        "daemon off;\n\
         # One process, so that killing it stops nginx whole.\n\
         master_process off;\n\
         pid {pid};\n\
         error_log {error} notice;\n\
         events {{ worker_connections 256; }}\n\
         http {{\n\
         client_body_temp_path {body};\n\
         proxy_temp_path {proxy};\n\
         fastcgi_temp_path {fastcgi};\n\
         uwsgi_temp_path {uwsgi};\n\
         scgi_temp_path {scgi};\n\
         {site}\n\
         }}\n",
        pid = path("nginx.pid"),
        error = path("error.log"),
        body = path("client_body"),
        proxy = path("proxy"),
        fastcgi = path("fastcgi"),
        uwsgi = path("uwsgi"),
        scgi = path("scgi"),
    )
}
