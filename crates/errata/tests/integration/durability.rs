//! An acknowledged write survives `kill -9` on SQLite: the server is killed
//! during a stream of user creations, started again on the same data
//! directory, and every user whose creation was answered is there.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

const ADMIN: &str = "admin@example.com";
const PASSWORD: &str = "a long enough password";

fn start(data: &std::path::Path) -> (Child, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_errata"))
        .args(["serve", "--addr", "127.0.0.1:0", "--rate-limit", "off"])
        .arg("--data")
        .arg(data)
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
        let event: Value = serde_json::from_str(&line).unwrap_or_default();
        if event["message"] == "listening" {
            break event["addr"]
                .as_str()
                .and_then(|a| a.parse().ok())
                .expect("an address");
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (child, addr)
}

/// POSTs a GraphQL request; `None` when the server did not answer.
fn post(addr: SocketAddr, body: &Value, token: Option<&str>) -> Option<Value> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let body = body.to_string();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        stream,
        "POST /graphql HTTP/1.1\r\nHost: errata\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let (head, body) = answer.split_once("\r\n\r\n")?;
    if !head.starts_with("HTTP/1.1 200") {
        return None;
    }
    serde_json::from_str(body).ok()
}

fn session(addr: SocketAddr) -> String {
    let login = post(
        addr,
        &json!({
            "query": "mutation($u: String!, $p: String!) { authentication { login(username: $u, password: $p) { jwt } } }",
            "variables": {"u": ADMIN, "p": PASSWORD}
        }),
        None,
    )
    .expect("login answers");
    login["data"]["authentication"]["login"]["jwt"]
        .as_str()
        .unwrap_or_else(|| panic!("login succeeds: {login}"))
        .to_owned()
}

#[test]
fn every_acknowledged_user_survives_kill_9() {
    let data = std::env::temp_dir().join(format!("errata-durability-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let created = Command::new(env!("CARGO_BIN_EXE_errata"))
        .args([
            "users",
            "create",
            "--email",
            ADMIN,
            "--password",
            PASSWORD,
            "--admin",
        ])
        .arg("--data")
        .arg(&data)
        .output()
        .expect("the binary runs");
    assert!(created.status.success(), "{created:?}");

    let (mut server, addr) = start(&data);
    let token = session(addr);
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let killed = Arc::new(AtomicBool::new(false));
    // Four writers, so that the kill lands while writes are in flight.
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (acknowledged, killed, token) =
                (Arc::clone(&acknowledged), Arc::clone(&killed), token.clone());
            std::thread::spawn(move || {
                for i in 0.. {
                    let email = format!("w{w}-{i}@example.com");
                    let answer = post(
                        addr,
                        &json!({
                            "query": "mutation($e: String!) { users { create(email: $e, passwordRaw: \"a long enough password\") { responseResult { succeeded } } } }",
                            "variables": {"e": email}
                        }),
                        Some(&token),
                    );
                    match answer {
                        Some(a) if a["data"]["users"]["create"]["responseResult"]["succeeded"] == true => {
                            acknowledged.lock().unwrap().push(email)
                        }
                        _ if killed.load(Ordering::SeqCst) => return,
                        Some(a) => panic!("a creation failed before the kill: {a}"),
                        None => panic!("the server stopped answering before the kill"),
                    }
                }
            })
        })
        .collect();
    while acknowledged.lock().unwrap().len() < 40 {
        std::thread::sleep(Duration::from_millis(5));
    }
    killed.store(true, Ordering::SeqCst);
    server.kill().expect("SIGKILL");
    server.wait().expect("the server is reaped");
    for writer in writers {
        writer.join().expect("a writer");
    }

    let (mut again, addr) = start(&data);
    let token = session(addr);
    let list = post(
        addr,
        &json!({"query": "{ users { list { email } } }"}),
        Some(&token),
    )
    .expect("the list answers");
    let _ = again.kill();
    let _ = again.wait();
    let emails: Vec<&str> = list["data"]["users"]["list"]
        .as_array()
        .unwrap_or_else(|| panic!("a list: {list}"))
        .iter()
        .filter_map(|u| u["email"].as_str())
        .collect();
    let acknowledged = acknowledged.lock().unwrap();
    for email in acknowledged.iter() {
        assert!(
            emails.contains(&email.as_str()),
            "{email} was acknowledged and lost"
        );
    }
    let _ = std::fs::remove_dir_all(&data);
}
