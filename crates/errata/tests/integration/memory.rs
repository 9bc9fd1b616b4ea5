//! The server's memory under distinct megabyte bodies, measured on the
//! real binary: each cache entry used to keep its whole key (the document,
//! or the raw POST body), so 600 bodies of a megabyte of comment, each
//! valid and cacheable, took the server from 28 MB to 1.3 GB.
//!
//! Linux only: it reads the server's `/proc/<pid>/status`.

#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};

/// Bodies sent, each distinct.
const BODIES: usize = 2000;
/// Connections they are sent over, kept alive.
const CONNECTIONS: usize = 4;
/// Bytes of comment in each document: the body stays under the server's
/// default `max-body-bytes` (1 MiB).
const COMMENT: usize = 1_000_000;
/// What the server may hold afterwards.
const MAX_RSS_KB: u64 = 128 * 1024;

/// The server, stopped when the test ends however it ends.
struct Server {
    child: Child,
    addr: SocketAddr,
    data: std::path::PathBuf,
}

impl Server {
    fn start() -> Server {
        let data = std::env::temp_dir().join(format!("errata-memory-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&data);
        let mut child = Command::new(env!("CARGO_BIN_EXE_errata"))
            .args(["serve", "--addr", "127.0.0.1:0", "--rate-limit", "off"])
            .arg("--data")
            .arg(&data)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let mut lines = BufReader::new(stderr).lines();
        let addr = loop {
            let line = lines
                .next()
                .expect("the server logs where it listens")
                .expect("a log line");
            let event: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
            if event["message"] == "listening" {
                break event["addr"]
                    .as_str()
                    .and_then(|a| a.parse().ok())
                    .expect("an address");
            }
        };
        // The pipe is drained, so that a server with much to log never blocks.
        std::thread::spawn(move || for _ in lines {});
        Server { child, addr, data }
    }

    fn rss_kb(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the server's status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in kB")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

/// POSTs `body` on `stream` and reads the answer: status and body.
fn post(stream: &mut BufReader<TcpStream>, body: &str) -> (u16, String) {
    let head = format!(
        "POST /graphql HTTP/1.1\r\nhost: errata\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    let socket = stream.get_mut();
    socket.write_all(head.as_bytes()).expect("the head is sent");
    socket.write_all(body.as_bytes()).expect("the body is sent");
    let mut status = String::new();
    stream.read_line(&mut status).expect("a status line");
    let code = status
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status code");
    let mut length = 0;
    loop {
        let mut line = String::new();
        stream.read_line(&mut line).expect("a header line");
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().expect("a length");
        }
    }
    let mut answer = vec![0; length];
    stream.read_exact(&mut answer).expect("the body");
    (code, String::from_utf8_lossy(&answer).into_owned())
}

#[test]
fn megabyte_bodies_pile_up_in_the_caches() {
    let server = Server::start();
    let before = server.rss_kb();
    let comment = "x".repeat(COMMENT);
    std::thread::scope(|scope| {
        for connection in 0..CONNECTIONS {
            let (addr, comment) = (server.addr, &comment);
            scope.spawn(move || {
                let socket = TcpStream::connect(addr).expect("the server accepts");
                let mut stream = BufReader::new(socket);
                for i in (connection..BODIES).step_by(CONNECTIONS) {
                    let body =
                        format!("{{\"query\":\"# {i} {comment}\\n{{ catalog {{ name }} }}\"}}");
                    let (status, answer) = post(&mut stream, &body);
                    assert_eq!(status, 200, "body {i}: {answer}");
                    assert!(answer.contains("\"name\":\"errata\""), "body {i}: {answer}");
                }
            });
        }
    });
    let after = server.rss_kb();
    assert!(
        after < MAX_RSS_KB,
        "{BODIES} distinct bodies of {COMMENT} bytes took the server from {before} kB to {after} kB"
    );
}
