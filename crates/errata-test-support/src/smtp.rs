//! A real SMTP server for a test: `tests/smtp/sink.py` (aiosmtpd) in a
//! process of its own, on a port of the system's choosing, writing what it
//! accepts into a directory the test reads; and the keys and certificates
//! the mail tests need, made by `openssl`.
//!
//! The Python it runs is `MAIL_TEST_PYTHON`, by default the virtual
//! environment `scripts/test` makes (`~/.cache/errata-test-python`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The Python with aiosmtpd and dkimpy.
pub fn python() -> PathBuf {
    match std::env::var_os("MAIL_TEST_PYTHON") {
        Some(path) => PathBuf::from(path),
        None => {
            let home = std::env::var_os("HOME").unwrap_or_default();
            Path::new(&home).join(".cache/errata-test-python/bin/python")
        }
    }
}

fn sink_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/smtp/sink.py")
}

fn scratch(what: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("errata-{what}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// How the server behaves.
#[derive(Debug, Clone, Default)]
pub struct SinkOptions {
    /// A certificate and key (PEM files): STARTTLS is offered with them,
    /// or, with `implicit_tls`, TLS is spoken from the first byte.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// TLS from the first byte (SMTPS).
    pub implicit_tls: bool,
    /// Refuse mail before STARTTLS.
    pub require_starttls: bool,
    /// Require authentication as this user and password.
    pub auth: Option<(String, String)>,
}

/// A running SMTP server; stopped when dropped.
#[derive(Debug)]
pub struct SmtpSink {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Where it writes what it accepts.
    pub dir: PathBuf,
}

/// A message the server accepted.
#[derive(Debug, Clone)]
pub struct Received {
    /// The file holding its bytes.
    pub path: PathBuf,
    /// Its bytes, as text.
    pub raw: String,
    /// `MAIL FROM`.
    pub mail_from: String,
    /// `RCPT TO`s accepted.
    pub rcpt_tos: Vec<String>,
    /// Whether the session was encrypted (TLS or STARTTLS).
    pub encrypted: bool,
    /// Whether the client authenticated.
    pub authenticated: bool,
}

/// A message decoded by Python's email package.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// Its headers, in order, decoded.
    pub headers: Vec<(String, String)>,
    /// Its leaf parts: content type and decoded text.
    pub parts: Vec<(String, String)>,
}

impl Parsed {
    /// The first header named `name`, in any case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The text of the first part of `content_type`.
    pub fn part(&self, content_type: &str) -> Option<&str> {
        self.parts
            .iter()
            .find(|(t, _)| t == content_type)
            .map(|(_, v)| v.as_str())
    }
}

impl Received {
    /// The message decoded.
    pub fn parsed(&self) -> Parsed {
        let out = Command::new(python())
            .arg(sink_script())
            .arg("parts")
            .arg(&self.path)
            .output()
            .expect("the sink script runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: Value = serde_json::from_slice(&out.stdout).expect("the script prints JSON");
        let pairs = |v: &Value| -> Vec<(String, String)> {
            v.as_array()
                .expect("a list")
                .iter()
                .map(|p| {
                    (
                        p[0].as_str().unwrap_or_default().to_owned(),
                        p[1].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        };
        Parsed {
            headers: pairs(&json["headers"]),
            parts: pairs(&json["parts"]),
        }
    }

    /// Whether its DKIM signature verifies against `record`, the key's DNS
    /// TXT record (dkimpy, given the record instead of asking DNS).
    pub fn dkim_verifies(&self, record: &str) -> bool {
        Command::new(python())
            .arg(sink_script())
            .arg("dkim-verify")
            .arg(&self.path)
            .arg(record)
            .status()
            .expect("the sink script runs")
            .success()
    }
}

impl SmtpSink {
    /// A plain server taking any mail.
    pub fn start() -> SmtpSink {
        SmtpSink::start_with(SinkOptions::default())
    }

    /// A server behaving as `options` say.
    pub fn start_with(options: SinkOptions) -> SmtpSink {
        let dir = scratch("smtp-sink");
        let python = python();
        let mut command = Command::new(&python);
        command
            .arg(sink_script())
            .arg("serve")
            .arg("--dir")
            .arg(&dir)
            .stdout(Stdio::piped())
            .stdin(Stdio::null());
        if let Some((cert, key)) = &options.tls {
            command
                .arg("--tls-cert")
                .arg(cert)
                .arg("--tls-key")
                .arg(key);
        }
        if options.implicit_tls {
            command.arg("--implicit-tls");
        }
        if options.require_starttls {
            command.arg("--require-starttls");
        }
        if let Some((user, password)) = &options.auth {
            command.arg("--auth").arg(format!("{user}:{password}"));
        }
        let mut child = command.spawn().unwrap_or_else(|e| {
            panic!(
                "{} cannot run ({e}): scripts/test installs aiosmtpd and dkimpy there, \
                 or set MAIL_TEST_PYTHON",
                python.display()
            )
        });
        let stdout = child.stdout.take().expect("piped");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the sink says where it listens");
        let port = line
            .trim()
            .strip_prefix("listening ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| {
                let _ = child.kill();
                panic!(
                    "the SMTP sink did not start (it said {line:?}); is aiosmtpd installed for {}?",
                    python.display()
                )
            });
        SmtpSink { child, port, dir }
    }

    /// What it has accepted so far, oldest first.
    pub fn received(&self) -> Vec<Received> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .expect("the sink's directory")
            .map(|e| e.expect("an entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|path| {
                let meta: Value = serde_json::from_slice(
                    &std::fs::read(path.with_extension("json")).expect("the envelope"),
                )
                .expect("JSON");
                Received {
                    raw: String::from_utf8_lossy(&std::fs::read(&path).expect("the message"))
                        .into_owned(),
                    mail_from: meta["mail_from"].as_str().unwrap_or_default().to_owned(),
                    rcpt_tos: meta["rcpt_tos"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect(),
                    encrypted: meta["encrypted"].as_bool().unwrap_or(false),
                    authenticated: meta["authenticated"].as_bool().unwrap_or(false),
                    path,
                }
            })
            .collect()
    }

    /// Waits until it has accepted at least `count` messages, for at most
    /// `within`; what it has then.
    pub async fn wait_for(&self, count: usize, within: Duration) -> Vec<Received> {
        let start = Instant::now();
        loop {
            let received = self.received();
            if received.len() >= count || start.elapsed() > within {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn openssl(args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl runs (scripts/test installs it)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A DKIM key: the private key, PEM (PKCS#8 when `pkcs8`, else PKCS#1),
/// and the DNS TXT record publishing its public half.
pub fn dkim_key(pkcs8: bool) -> (String, String) {
    let dir = scratch("dkim");
    let key = dir.join("key.pem");
    let key_path = key.to_str().expect("a UTF-8 path");
    openssl(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        key_path,
    ]);
    let private = if pkcs8 {
        std::fs::read_to_string(&key).expect("the key")
    } else {
        String::from_utf8(openssl(&["rsa", "-in", key_path, "-traditional"])).expect("PEM")
    };
    let der = dir.join("public.der");
    let der_path = der.to_str().expect("a UTF-8 path");
    openssl(&[
        "pkey", "-in", key_path, "-pubout", "-outform", "DER", "-out", der_path,
    ]);
    let public = String::from_utf8(openssl(&["base64", "-A", "-in", der_path])).expect("base64");
    let _ = std::fs::remove_dir_all(&dir);
    (private, format!("v=DKIM1; k=rsa; p={}", public.trim()))
}

/// A self-signed certificate for `localhost` and its key, as PEM files
/// in a fresh directory.
pub fn self_signed_certificate() -> (PathBuf, PathBuf) {
    let dir = scratch("tls");
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=DNS:localhost,IP:127.0.0.1",
        "-keyout",
        key.to_str().expect("a UTF-8 path"),
        "-out",
        cert.to_str().expect("a UTF-8 path"),
    ]);
    (cert, key)
}
