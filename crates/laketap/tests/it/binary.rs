//! The `laketap` binary: `serve` on ephemeral ports stopped by SIGTERM, and
//! `query`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::fixture_catalog;

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_laketap");

#[test]
fn query_prints_a_table() {
    let output = Command::new(BIN)
        .args([
            "query",
            "SELECT count(*) AS n FROM amp.users WHERE platform = 'web'",
        ])
        .arg("--catalog")
        .arg(fixture_catalog())
        .output()
        .expect("run laketap query");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines.contains(&"| n |"), "{stdout}");
    assert!(lines.contains(&"| 2 |"), "{stdout}");
    assert!(lines.contains(&"(1 row)"), "{stdout}");
}

#[test]
fn query_reports_a_bad_statement() {
    let output = Command::new(BIN)
        .args(["query", "SELECT * FROM amp.nope"])
        .arg("--catalog")
        .arg(fixture_catalog())
        .output()
        .expect("run laketap query");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("amp.nope") && stderr.contains("not found"),
        "{stderr}"
    );
}

#[test]
fn serve_refuses_a_public_address_without_users() {
    let output = Command::new(BIN)
        .args(["serve", "--listen", "0.0.0.0:0", "--http", "127.0.0.1:0"])
        .arg("--catalog")
        .arg(fixture_catalog())
        .output()
        .expect("run laketap serve");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not a loopback address"), "{stderr}");
}

/// A child process killed when dropped: a test that fails (panics) while
/// its server runs does not leave the server behind.
pub(crate) struct Killed(pub std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl std::ops::Deref for Killed {
    type Target = std::process::Child;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Killed {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

/// `laketap serve` running as a child process on ephemeral ports (killed
/// when dropped).
pub(crate) struct Served {
    pub child: Killed,
    pub pg_port: u16,
    pub http_port: u16,
    /// The rest of the server's log, once the process has ended.
    pub log: std::thread::JoinHandle<String>,
}

/// Starts `laketap serve` on ephemeral loopback ports (`configure` adds
/// arguments and environment) and waits until it serves; its log is drained
/// on a thread so the server never blocks on a full pipe.
pub(crate) fn spawn_serve(configure: impl FnOnce(&mut Command)) -> Served {
    let mut command = Command::new(BIN);
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0"])
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .stderr(Stdio::piped())
        .stdout(Stdio::null());
    configure(&mut command);
    let mut child = Killed(command.spawn().expect("spawn laketap serve"));
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let (pg_port, http_port) = bound_ports(&mut stderr);
    let log = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut rest);
        rest
    });
    Served {
        child,
        pg_port,
        http_port,
        log,
    }
}

/// Reads the server's log until it says where it listens.
fn bound_ports(stderr: &mut impl BufRead) -> (u16, u16) {
    let mut line = String::new();
    loop {
        line.clear();
        let n = stderr.read_line(&mut line).expect("read log");
        assert!(n > 0, "server exited before serving");
        if line.contains("laketap is serving") {
            let port_of = |key: &str| -> u16 {
                let rest = &line
                    [line.find(key).unwrap_or_else(|| panic!("{key} in {line}")) + key.len()..];
                let addr = rest.split_whitespace().next().expect("address");
                addr.rsplit(':')
                    .next()
                    .expect("port")
                    .parse()
                    .expect("port number")
            };
            return (port_of("postgres="), port_of("http="));
        }
    }
}

#[test]
fn serve_answers_psql_and_http_then_stops_on_sigterm() {
    let Served {
        mut child,
        pg_port,
        http_port,
        log: drain,
    } = spawn_serve(|command| {
        command.arg("--catalog").arg(fixture_catalog());
    });

    let output = Command::new("psql")
        .arg(format!(
            "host=127.0.0.1 port={pg_port} user=laketap dbname=laketap"
        ))
        .args([
            "-X",
            "-A",
            "-t",
            "-c",
            "SELECT count(*) FROM amp.listen_events",
        ])
        .output()
        .expect("psql");
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "20");

    // Another user is refused with a FATAL that says who may connect.
    let output = Command::new("psql")
        .arg(format!(
            "host=127.0.0.1 port={pg_port} user=mallory dbname=laketap"
        ))
        .args(["-X", "-A", "-t", "-c", "SELECT 1"])
        .output()
        .expect("psql");
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("only \"laketap\" may connect"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // GET /health over a raw HTTP/1.1 request.
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", http_port)).expect("http connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    std::io::Write::write_all(
        &mut stream,
        b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .expect("send");
    let mut response = String::new();
    let _ = std::io::Read::read_to_string(&mut stream, &mut response);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"status\":\"ok\""), "{response}");
    assert!(response.contains("\"tables\":11"), "{response}");

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = child.wait().expect("wait");
    let log = drain.join().expect("drain");
    assert!(exit.success(), "exit {exit}; log:\n{log}");
    assert!(log.contains("laketap stopped"), "{log}");
}
