//! Secure by default, through the real `laketap serve` and real clients:
//! SCRAM with verifiers from `laketap passwd` (tokio-postgres and psql's
//! libpq), the same error for an unknown user and a wrong password, users
//! and grants reloaded while sessions stay open, reads and writes per role
//! (SQL, COPY, HTTP ingest, pg_catalog, information_schema, views, joins,
//! table functions), nothing reaching the file system from SQL, TLS with
//! require_tls and a misconfiguration that stops startup, and the limits:
//! auth timeout, statement_timeout default, query memory (53200),
//! protocol message sizes, a client that vanishes mid-result, 200
//! connections at once.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::binary::{BIN, Served, spawn_serve};
use crate::ingest::wait_count;
use crate::{TestServer, answer, fixture_catalog, fixture_copy};

/// `laketap passwd` for `password`: the verifier it prints.
fn passwd(user: &str, password: &str) -> String {
    let mut child = Command::new(BIN)
        .args(["passwd", "--user", user])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("laketap passwd");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{password}\n").as_bytes())
        .expect("write password");
    let output = child.wait_with_output().expect("passwd output");
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(stdout.contains(&format!("name = \"{user}\"")), "{stdout}");
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("scram = \""))
        .unwrap_or_else(|| panic!("no scram line in {stdout}"));
    let verifier = line.trim_end_matches('"').to_string();
    assert!(verifier.starts_with("SCRAM-SHA-256$4096:"), "{verifier}");
    verifier
}

const ROLES: &str = "[roles.analyst]\nread = [\"kpi\"]\n\
                     [roles.engineer]\nread = [\"amp\", \"kpi\"]\nwrite = [\"amp\"]\n\
                     [roles.public_writer]\nread = [\"amp\"]\nwrite = [\"public\"]\n\
                     [roles.admin]\nadmin = true\n";

/// A config with ana (analyst, password from LT_ANA_PW), eng (engineer,
/// `eng_verifier`) and root (admin, LT_ROOT_PW).
fn users_config(dir: &Path, eng_verifier: &str, ana_role: &str, extra: &str) -> PathBuf {
    let path = dir.join("laketap.toml");
    let text = format!(
        "catalog = \"catalog\"\n{extra}\n\
         [[users]]\nname = \"ana\"\npassword_env = \"LT_ANA_PW\"\nroles = [\"{ana_role}\"]\n\
         [[users]]\nname = \"eng\"\nscram = \"{eng_verifier}\"\nroles = [\"engineer\"]\n\
         [[users]]\nname = \"root\"\npassword_env = \"LT_ROOT_PW\"\nroles = [\"admin\"]\n\
         [[users]]\nname = \"pub\"\npassword_env = \"LT_PUB_PW\"\nroles = [\"public_writer\"]\n{ROLES}"
    );
    // Written whole and renamed, so a reload never reads half a file.
    let tmp = dir.join("laketap.toml.tmp");
    std::fs::write(&tmp, text).expect("write config");
    std::fs::rename(&tmp, &path).expect("rename config");
    path
}

fn serve_with(config: &Path) -> Served {
    spawn_serve(|command| {
        command
            .arg("--config")
            .arg(config)
            .env("LT_ANA_PW", "ana-pw")
            .env("LT_ROOT_PW", "root-pw")
            .env("LT_PUB_PW", "pub-pw");
    })
}

async fn login(
    port: u16,
    user: &str,
    password: &str,
) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(
        &format!("host=127.0.0.1 port={port} user={user} password={password} dbname=laketap"),
        tokio_postgres::NoTls,
    )
    .await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

async fn must_login(port: u16, user: &str, password: &str) -> tokio_postgres::Client {
    login(port, user, password)
        .await
        .unwrap_or_else(|e| panic!("{user} logs in: {e}"))
}

fn db_error(e: &tokio_postgres::Error) -> (String, String) {
    let db = e
        .as_db_error()
        .unwrap_or_else(|| panic!("a server error, got {e}"));
    (db.code().code().to_string(), db.message().to_string())
}

/// The error of `sql` (code, message); panics if it succeeds.
async fn refused(client: &tokio_postgres::Client, sql: &str) -> (String, String) {
    match answer(client, sql).await {
        Ok(rows) => panic!("{sql} should be refused, got {rows:?}"),
        Err(e) => e,
    }
}

async fn count(client: &tokio_postgres::Client, sql: &str) -> i64 {
    client
        .query_one(sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get(0)
}

fn psql_as(
    port: u16,
    user: &str,
    password: &str,
    extra: &str,
    command: &str,
) -> std::process::Output {
    Command::new("psql")
        .arg(format!(
            "host=127.0.0.1 port={port} user={user} dbname=laketap {extra}"
        ))
        .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", command])
        .env("PGPASSWORD", password)
        .env("PGCONNECT_TIMEOUT", "10")
        .output()
        .expect("psql must be installed")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scram_logins_same_error_for_unknown_users_and_reload_without_restart() {
    let dir = fixture_copy();
    let eng = passwd("eng", "eng-pw");
    let config = users_config(dir.path(), &eng, "analyst", "[auth]\ntimeout_ms = 1000\n");
    let served = serve_with(&config);
    let port = served.pg_port;

    // tokio-postgres and libpq both speak SCRAM-SHA-256 with the server.
    let ana = must_login(port, "ana", "ana-pw").await;
    assert!(count(&ana, "SELECT count(*) FROM kpi.user_profile").await > 0);
    let out = psql_as(port, "eng", "eng-pw", "", "SELECT count(*) FROM amp.users");
    assert!(out.status.success(), "{out:?}");
    let users: i64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("a count");
    assert!(users > 0);

    // A wrong password and an unknown user: the same error.
    let wrong = db_error(
        &login(port, "ana", "nope")
            .await
            .expect_err("wrong password"),
    );
    let unknown = db_error(
        &login(port, "mallory", "nope")
            .await
            .expect_err("unknown user"),
    );
    assert_eq!(
        wrong,
        (
            "28P01".to_string(),
            "password authentication failed for user \"ana\"".to_string()
        )
    );
    assert_eq!(
        unknown,
        (
            "28P01".to_string(),
            "password authentication failed for user \"mallory\"".to_string()
        )
    );
    // The no-users default user is gone once users are configured.
    let default = db_error(
        &login(port, "laketap", "")
            .await
            .expect_err("no default user"),
    );
    assert_eq!(default.0, "28P01");
    // A client that starts but never answers the SCRAM challenge is closed
    // after the auth timeout, with PostgreSQL's message.
    let mut stalled = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stalled.write_all(&startup_message("ana")).expect("startup");
    let (said, closed) = read_until(&mut stalled, Duration::from_secs(10));
    assert!(closed, "the server never closed the connection");
    let said = String::from_utf8_lossy(&said).to_string();
    assert!(said.contains("SCRAM-SHA-256"), "{said:?}");
    assert!(said.contains("08006"), "{said:?}");
    assert!(
        said.contains("canceling authentication due to timeout"),
        "{said:?}"
    );

    // Rotate eng's password and make ana an engineer, while ana's session is open.
    assert_eq!(
        refused(&ana, "SELECT count(*) FROM amp.users").await.0,
        "42501"
    );
    let eng2 = passwd("eng", "eng-pw-2");
    users_config(dir.path(), &eng2, "engineer", "[auth]\ntimeout_ms = 1000\n");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if login(port, "eng", "eng-pw-2").await.is_ok() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the new password never took effect"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let old = db_error(
        &login(port, "eng", "eng-pw")
            .await
            .expect_err("old password"),
    );
    assert_eq!(old.0, "28P01");
    // The open session continues, under its new grants.
    assert_eq!(count(&ana, "SELECT count(*) FROM amp.users").await, users);
    // A statement prepared under a grant that is then revoked is refused.
    let prepared = ana
        .prepare("SELECT count(*) FROM amp.users")
        .await
        .expect("prepared while an engineer");
    users_config(dir.path(), &eng2, "analyst", "[auth]\ntimeout_ms = 1000\n");
    let deadline = Instant::now() + Duration::from_secs(10);
    while answer(&ana, "SELECT count(*) FROM amp.users").await.is_ok() {
        assert!(Instant::now() < deadline, "the revoke never took effect");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let e = ana
        .query_one(&prepared, &[])
        .await
        .expect_err("the prepared statement after the revoke");
    assert_eq!(db_error(&e).0, "42501");

    // A broken file keeps the users in force.
    std::fs::write(&config, "[[users]]\nname = \"x\"\n").expect("break config");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    must_login(port, "eng", "eng-pw-2").await;
    let log = crate::ingest::kill_served(served);
    assert!(log.contains("users and roles not reloaded"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_limit_reads_writes_and_what_the_catalogs_show() {
    let dir = fixture_copy();
    let config = users_config(dir.path(), &passwd("eng", "eng-pw"), "analyst", "");
    let served = serve_with(&config);
    let port = served.pg_port;
    let ana = must_login(port, "ana", "ana-pw").await;
    let eng = must_login(port, "eng", "eng-pw").await;
    let root = must_login(port, "root", "root-pw").await;

    // A view is the grant: the analyst reads kpi.user_profile, whose rows
    // come from amp tables it may not read itself.
    let profiles = count(&root, "SELECT count(*) FROM kpi.user_profile").await;
    assert!(profiles > 0);
    assert_eq!(
        count(&ana, "SELECT count(*) FROM kpi.user_profile").await,
        profiles
    );
    for sql in [
        "SELECT * FROM amp.users",
        "SELECT count(*) FROM kpi.user_profile p JOIN amp.users u ON p.user_id = u.user_id",
        "WITH u AS (SELECT * FROM amp.users) SELECT count(*) FROM u",
        "SELECT count(*) FROM kpi.user_profile WHERE user_id IN (SELECT user_id FROM amp.users)",
        "SELECT * FROM table_history('amp.listen_events')",
        "EXPLAIN SELECT * FROM amp.users",
        "SELECT * FROM laketap.tables",
        "COPY amp.users TO STDOUT",
        "COPY (SELECT * FROM amp.users) TO STDOUT",
    ] {
        let (code, message) = refused(&ana, sql).await;
        assert_eq!(code, "42501", "{sql}: {message}");
        assert!(
            message.contains("permission denied for"),
            "{sql}: {message}"
        );
        assert!(message.contains("role \"ana\""), "{sql}: {message}");
    }
    let (_, message) = refused(&ana, "SELECT * FROM amp.users").await;
    assert_eq!(
        message,
        "permission denied for table amp.users: role \"ana\" may read kpi"
    );
    // Prepared (extended protocol) too.
    let e = ana
        .prepare("SELECT * FROM amp.users WHERE user_id = $1")
        .await
        .expect_err("prepare refused");
    assert_eq!(db_error(&e).0, "42501");

    // The catalogs show the analyst only what it may read.
    let schemas = answer(
        &ana,
        "SELECT DISTINCT table_schema FROM information_schema.tables ORDER BY 1",
    )
    .await
    .expect("information_schema");
    let schemas: Vec<String> = schemas.into_iter().filter_map(|r| r[0].clone()).collect();
    assert!(schemas.contains(&"kpi".to_string()), "{schemas:?}");
    for hidden in ["amp", "extra", "laketap"] {
        assert!(!schemas.contains(&hidden.to_string()), "{schemas:?}");
    }
    assert_eq!(
        count(
            &ana,
            "SELECT count(*) FROM pg_catalog.pg_namespace WHERE nspname IN ('amp', 'extra', 'laketap')"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &ana,
            "SELECT count(*) FROM pg_catalog.pg_class WHERE relname IN ('users', 'listen_events', 'csv_scores')"
        )
        .await,
        0
    );
    assert_eq!(
        count(&root, "SELECT count(*) FROM pg_catalog.pg_class WHERE relname IN ('users', 'listen_events', 'csv_scores')").await,
        3
    );
    assert!(
        count(
            &ana,
            "SELECT count(*) FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON a.attrelid = c.oid WHERE c.relname = 'user_profile'"
        )
        .await
            > 0
    );
    // Descriptions follow the grants: what the analyst can describe by OID is
    // exactly what its pg_class shows, and less than the admin can.
    let by_oid = "SELECT count(*) FROM generate_series(16384, 20000) t(o) \
                  WHERE obj_description(o, 'pg_class') IS NOT NULL";
    let visible = "SELECT count(*) FROM pg_catalog.pg_class c \
                   WHERE obj_description(c.oid, 'pg_class') IS NOT NULL";
    let ana_described = count(&ana, by_oid).await;
    assert_eq!(ana_described, count(&ana, visible).await);
    assert!(ana_described > 0);
    assert!(count(&root, by_oid).await > ana_described);
    // pg_description holds the same comments as rows, filtered alike: the
    // analyst sees the relation comments of what it may read, and the schema
    // comment of kpi but not of amp; the admin sees amp's relations too.
    let relation_rows = "SELECT count(*) FROM pg_catalog.pg_description d \
                         JOIN pg_catalog.pg_class c ON d.objoid = c.oid \
                         WHERE d.classoid = 'pg_class'::regclass AND d.objsubid = 0";
    assert_eq!(count(&ana, relation_rows).await, ana_described);
    assert_eq!(
        count(&root, relation_rows).await,
        count(&root, visible).await
    );
    let schema_comment = |schema: &str| {
        format!(
            "SELECT count(*) FROM pg_catalog.pg_description d \
             JOIN pg_catalog.pg_namespace n ON d.objoid = n.oid \
             WHERE d.classoid = 'pg_catalog.pg_namespace'::regclass AND n.nspname = '{schema}'"
        )
    };
    assert_eq!(count(&ana, &schema_comment("kpi")).await, 1);
    // amp.users is described, and the analyst (no read on amp) gets none of
    // its rows even when it names the OID the admin sees.
    let users_oid = count(
        &root,
        "SELECT c.oid + CAST(0 AS BIGINT) FROM pg_catalog.pg_class c \
         JOIN pg_catalog.pg_namespace n ON c.relnamespace = n.oid \
         WHERE n.nspname = 'amp' AND c.relname = 'users'",
    )
    .await;
    let users_rows =
        format!("SELECT count(*) FROM pg_catalog.pg_description WHERE objoid = {users_oid}");
    assert!(count(&root, &users_rows).await > 0);
    assert_eq!(count(&ana, &users_rows).await, 0);
    assert_eq!(count(&ana, &schema_comment("amp")).await, 0);
    // The privilege functions answer from the grants.
    let privileges = "SELECT has_table_privilege('amp.users', 'SELECT'), \
                      has_table_privilege('kpi.user_profile', 'SELECT'), \
                      has_schema_privilege('amp', 'USAGE'), \
                      has_table_privilege('amp.listen_events', 'INSERT'), \
                      has_table_privilege('amp.listen_events', 'DELETE')";
    let row = |v: [&str; 5]| vec![v.iter().map(|s| Some(s.to_string())).collect::<Vec<_>>()];
    assert_eq!(
        answer(&ana, privileges).await,
        Ok(row(["f", "t", "f", "f", "f"]))
    );
    assert_eq!(
        answer(&eng, privileges).await,
        Ok(row(["t", "t", "t", "t", "f"]))
    );
    assert_eq!(
        answer(&root, privileges).await,
        Ok(row(["t", "t", "t", "t", "t"]))
    );
    // psql's \dt and \dv, through libpq.
    let dt = psql_as(port, "ana", "ana-pw", "", "\\dt amp.*");
    assert!(
        String::from_utf8_lossy(&dt.stderr).contains("Did not find any relation"),
        "{dt:?}"
    );
    let dv = psql_as(port, "ana", "ana-pw", "", "\\dv kpi.*");
    assert!(dv.status.success(), "{dv:?}");
    assert!(
        String::from_utf8_lossy(&dv.stdout).contains("kpi|user_profile|view"),
        "{dv:?}"
    );
    // The engineer reads amp, the admin everything.
    assert!(count(&eng, "SELECT count(*) FROM amp.users").await > 0);
    assert_eq!(
        refused(&eng, "SELECT * FROM extra.csv_scores").await.0,
        "42501"
    );
    assert!(count(&root, "SELECT count(*) FROM laketap.tables").await > 0);

    // Writes: INSERT, COPY FROM STDIN and HTTP ingest only for the engineer.
    let insert = "INSERT INTO amp.listen_events (event_id, event_time, event_date, user_id, show_id, session_id, event_type, listen_seconds) \
                  VALUES ('sec-1', TIMESTAMP '2026-11-29 10:00:00', DATE '2026-11-29', 3, 101, 's', 'heartbeat', 30.0)";
    let (code, message) = refused(&ana, insert).await;
    assert_eq!(code, "42501", "{message}");
    assert!(
        message.contains("permission denied for table amp.listen_events"),
        "{message}"
    );
    let (code, message) = refused(&ana, "COPY amp.listen_events FROM STDIN").await;
    assert_eq!(code, "42501", "{message}");
    let before = count(&eng, "SELECT count(*) FROM amp.listen_events").await;
    eng.simple_query(insert)
        .await
        .expect("the engineer inserts");
    // Acknowledged writes become visible at the next commit (250 ms).
    wait_count(&eng, "SELECT count(*) FROM amp.listen_events", before + 1).await;
    let event = r#"{"event_id":"sec-2","event_time":"2026-11-29T10:00:00Z","user_id":3,"show_id":101,"session_id":"s","event_type":"heartbeat","listen_seconds":30.0}"#;
    let path = "/v1/ingest/amp/listen_events";
    let (status, body) =
        post_as(served.http_port, path, None, event.as_bytes()).expect("post without credentials");
    assert_eq!(status, 401, "{body}");
    let (status, body) =
        post_as(served.http_port, path, Some("ana:ana-pw"), event.as_bytes()).expect("post as ana");
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("42501"), "{body}");
    let (status, body) = post_as(served.http_port, path, Some("eng:wrong"), event.as_bytes())
        .expect("post with a wrong password");
    assert_eq!(status, 401, "{body}");
    let (status, body) =
        post_as(served.http_port, path, Some("eng:eng-pw"), event.as_bytes()).expect("post as eng");
    assert_eq!(status, 200, "{body}");
    wait_count(
        &eng,
        "SELECT count(*) FROM amp.listen_events WHERE event_id IN ('sec-1', 'sec-2')",
        2,
    )
    .await;
    // No credentials and no grant changed nothing.
    assert_eq!(
        count(&eng, "SELECT count(*) FROM amp.listen_events").await,
        before + 2
    );
    // An unqualified INSERT resolves with the session's search_path: a role
    // that may write `public` cannot reach amp through it.
    let public_writer = must_login(port, "pub", "pub-pw").await;
    public_writer
        .simple_query("SET search_path = amp")
        .await
        .expect("set search_path");
    let (code, message) = refused(
        &public_writer,
        "INSERT INTO listen_events SELECT * FROM amp.listen_events LIMIT 1",
    )
    .await;
    assert_eq!(code, "42501", "{message}");
    assert!(
        message.contains("permission denied for table amp.listen_events"),
        "{message}"
    );
    // An analyst's refused statement leaves its connection usable (and the
    // views see the new events).
    assert_eq!(
        count(&ana, "SELECT count(*) FROM kpi.user_profile").await,
        count(&root, "SELECT count(*) FROM kpi.user_profile").await
    );
    // pg_roles: the owner (OID 10), the users by name, then the roles (and
    // PostgreSQL's predefined roles, OIDs below 16384, left out here); a
    // user's roles are its pg_auth_members rows; every table is the owner's.
    let text = |rows: Vec<tokio_postgres::SimpleQueryMessage>| -> Vec<String> {
        rows.iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => Some(
                    (0..r.len())
                        .map(|i| r.get(i).unwrap_or("NULL"))
                        .collect::<Vec<_>>()
                        .join("|"),
                ),
                _ => None,
            })
            .collect()
    };
    let roles = ana
        .simple_query(
            "SELECT oid, rolname, rolsuper, rolcanlogin FROM pg_catalog.pg_roles \
             WHERE rolname NOT LIKE 'pg\\_%' ORDER BY oid",
        )
        .await
        .expect("pg_roles");
    assert_eq!(
        text(roles),
        [
            "10|postgres|t|f",
            "16384|ana|f|t",
            "16385|eng|f|t",
            "16386|pub|f|t",
            "16387|root|t|t",
            "16388|admin|t|f",
            "16389|analyst|f|f",
            "16390|engineer|f|f",
            "16391|public_writer|f|f",
        ]
    );
    let members = ana
        .simple_query(
            "SELECT u.rolname, r.rolname FROM pg_catalog.pg_auth_members m \
             JOIN pg_catalog.pg_roles u ON m.member = u.oid \
             JOIN pg_catalog.pg_roles r ON m.roleid = r.oid ORDER BY 1, 2",
        )
        .await
        .expect("pg_auth_members");
    assert_eq!(
        text(members),
        [
            "ana|analyst",
            "eng|engineer",
            "pg_monitor|pg_read_all_settings",
            "pg_monitor|pg_read_all_stats",
            "pg_monitor|pg_stat_scan_tables",
            "pub|public_writer",
            "root|admin"
        ]
    );
    // pg_stat_activity: a user sees its own sessions' queries, and only who
    // runs the others (PostgreSQL without pg_read_all_stats); an admin sees all.
    let root_pid = root
        .simple_query("SELECT pg_backend_pid()")
        .await
        .expect("pid");
    let root_pid = text(root_pid).remove(0);
    let others = ana
        .simple_query(&format!(
            "SELECT usename, query, state IS NULL, client_port IS NULL FROM pg_stat_activity \
             WHERE pid = {root_pid}"
        ))
        .await
        .expect("pg_stat_activity");
    assert_eq!(text(others), ["root|<insufficient privilege>|t|t"]);
    let own = ana
        .simple_query(
            "SELECT usename, query, state FROM pg_stat_activity WHERE pid = pg_backend_pid()",
        )
        .await
        .expect("pg_stat_activity");
    assert_eq!(
        text(own),
        [
            "ana|SELECT usename, query, state FROM pg_stat_activity WHERE pid = pg_backend_pid()|active"
        ]
    );
    let ana_pid = text(
        ana.simple_query("SELECT pg_backend_pid()")
            .await
            .expect("pid"),
    )
    .remove(0);
    let seen_by_admin = root
        .simple_query(&format!(
            "SELECT usename, query, state FROM pg_stat_activity WHERE pid = {ana_pid}"
        ))
        .await
        .expect("pg_stat_activity");
    assert_eq!(text(seen_by_admin), ["ana|SELECT pg_backend_pid()|idle"]);
    // pg_stat_ssl: a user sees its own sessions only.
    for (who, pid, expected) in [
        (&ana, &root_pid, "0"),
        (&ana, &ana_pid, "1"),
        (&root, &ana_pid, "1"),
    ] {
        let sql = format!("SELECT count(*) FROM pg_stat_ssl WHERE pid = {pid}");
        assert_eq!(
            text(who.simple_query(&sql).await.expect("pg_stat_ssl")),
            [expected],
            "{sql}"
        );
    }
    // x::regclass names only relations the user may read: amp is not ana's.
    let users_oid = text(
        root.simple_query("SELECT 'amp.users'::regclass::oid")
            .await
            .expect("oid"),
    )
    .remove(0);
    let sql = format!("SELECT {users_oid}::regclass AS r");
    assert_eq!(
        text(root.simple_query(&sql).await.expect("regclass")),
        ["amp.users"]
    );
    assert_eq!(
        text(ana.simple_query(&sql).await.expect("regclass")),
        std::slice::from_ref(&users_oid)
    );
    // Cancelling another user's query needs an admin.
    for signal in ["pg_cancel_backend", "pg_terminate_backend"] {
        let (code, message) = refused(&ana, &format!("SELECT {signal}({root_pid})")).await;
        assert_eq!(code, "42501", "{signal}: {message}");
    }
    assert_eq!(
        text(
            root.simple_query(&format!("SELECT pg_cancel_backend({ana_pid})"))
                .await
                .expect("cancel")
        ),
        ["t"]
    );
    let owners = root
        .simple_query(
            "SELECT DISTINCT pg_catalog.pg_get_userbyid(c.relowner), pg_catalog.pg_get_userbyid(16385) \
             FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON c.relnamespace = n.oid \
             WHERE n.nspname = 'amp'",
        )
        .await
        .expect("owners");
    assert_eq!(text(owners), ["postgres|eng"]);
    let _ = crate::ingest::kill_served(served);
}

/// POSTs with HTTP Basic credentials `user:password`.
fn post_as(
    port: u16,
    path: &str,
    credentials: Option<&str>,
    body: &[u8],
) -> std::io::Result<(u16, String)> {
    use base64::Engine as _;
    let header = credentials.map(|c| {
        format!(
            "Authorization: Basic {}\r\n",
            base64::engine::general_purpose::STANDARD.encode(c)
        )
    });
    crate::ingest::post_with_headers(port, path, header.as_deref().unwrap_or(""), body)
}

/// Every file under `dir` with its size and modification time.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (u64, std::time::SystemTime)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let entry = entry.expect("entry");
            let meta = entry.metadata().expect("metadata");
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                out.insert(entry.path(), (meta.len(), meta.modified().expect("mtime")));
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_reaches_the_file_system_from_sql() {
    let dir = fixture_copy();
    let outside = tempfile::tempdir().expect("tempdir");
    let o = outside.path().display().to_string();
    std::fs::write(outside.path().join("in.csv"), "a,b\n1,2\n").expect("write");
    let config = users_config(dir.path(), &passwd("eng", "eng-pw"), "analyst", "");
    let served = serve_with(&config);
    let port = served.pg_port;
    let lake_before = snapshot(&dir.path().join("lake"));
    let outside_before = snapshot(outside.path());

    let eng = must_login(port, "eng", "eng-pw").await;
    let statements = [
        format!("COPY (SELECT 1) TO '{o}/out.csv'"),
        format!("COPY amp.users TO '{o}/users.csv'"),
        format!("COPY amp.listen_events FROM '{o}/in.csv'"),
        format!("COPY amp.listen_events FROM PROGRAM 'touch {o}/pwned'"),
        format!("CREATE EXTERNAL TABLE ext (a INT, b INT) STORED AS PARQUET LOCATION '{o}/in.csv'"),
        "CREATE TABLE t AS SELECT 1 AS x".to_string(),
        "CREATE VIEW v AS SELECT * FROM amp.users".to_string(),
        "CREATE SCHEMA s".to_string(),
        "DROP TABLE amp.users".to_string(),
        "DROP VIEW kpi.user_profile".to_string(),
        "ALTER TABLE amp.users RENAME TO u2".to_string(),
        "DELETE FROM amp.listen_events".to_string(),
        "UPDATE amp.listen_events SET user_id = 0".to_string(),
        "TRUNCATE amp.listen_events".to_string(),
        format!("SET datafusion.runtime.temp_directory = '{o}/spill'"),
        format!("SET datafusion.catalog.location = '{o}'"),
        "SET \"datafusion.runtime.memory_limit\" = '100G'".to_string(),
        "RESET datafusion.runtime.memory_limit".to_string(),
        "SET ROLE root".to_string(),
        "SET datafusion.execution.batch_size = 100000000".to_string(),
        "SELECT 1 AS a INTO public.copied".to_string(),
        "SELECT * INTO public.copied FROM kpi.user_profile".to_string(),
        "WITH x AS (SELECT 1 AS a) SELECT a INTO public.copied FROM x".to_string(),
        "DECLARE c CURSOR FOR SELECT 1 AS a INTO public.copied".to_string(),
        format!("EXPLAIN ANALYZE COPY (SELECT 999 AS id) TO '{o}/explained.csv'"),
        format!(
            "EXPLAIN ANALYZE COPY (SELECT 999 AS id, 9.5 AS score) TO '{}/lake/extra/csv_scores/region=eu/injected.csv'",
            dir.path().display()
        ),
    ];
    for sql in &statements {
        let (code, message) = refused(&eng, sql).await;
        assert!(
            code == "42501" || code == "0A000",
            "{sql}: {code} {message}"
        );
    }
    // Reading a path as a table is not a thing here, for anyone.
    let root = must_login(port, "root", "root-pw").await;
    for client in [&eng, &root] {
        for sql in [
            format!("SELECT * FROM '{o}/in.csv'"),
            format!("SELECT * FROM read_csv('{o}/in.csv')"),
            format!("COPY (SELECT 1) TO '{o}/root.csv'"),
            format!("COPY amp.listen_events FROM '{o}/in.csv'"),
            format!("EXPLAIN ANALYZE COPY (SELECT 1 AS a) TO '{o}/admin.parquet'"),
        ] {
            refused(client, &sql).await;
        }
    }
    // Nothing was created by the refused SELECT … INTO.
    assert_eq!(
        count(
            &root,
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'copied'"
        )
        .await,
        0
    );
    assert_eq!(
        snapshot(outside.path()),
        outside_before,
        "a refused statement touched {o}"
    );
    assert_eq!(
        snapshot(&dir.path().join("lake")),
        lake_before,
        "a refused statement changed the lake"
    );
    // The server is serving as before.
    assert!(count(&eng, "SELECT count(*) FROM amp.users").await > 0);
    let _ = crate::ingest::kill_served(served);
}

fn openssl(dir: &Path) -> (PathBuf, PathBuf) {
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    let status = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl must be installed");
    assert!(status.success());
    (cert, key)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_serves_psql_and_require_tls_refuses_clear_text() {
    let dir = fixture_copy();
    let (cert, key) = openssl(dir.path());
    let tls = format!(
        "[tls]\ncert = \"{}\"\nkey = \"{}\"\nrequire_tls = true\n",
        cert.display(),
        key.display()
    );
    let config = users_config(dir.path(), &passwd("eng", "eng-pw"), "analyst", &tls);
    let served = serve_with(&config);
    let port = served.pg_port;
    let over_tls = psql_as(port, "eng", "eng-pw", "sslmode=require", "\\conninfo");
    assert!(over_tls.status.success(), "{over_tls:?}");
    let info = String::from_utf8_lossy(&over_tls.stdout).to_string();
    assert!(info.contains("SSL connection (protocol: TLSv1.3"), "{info}");
    // pg_stat_ssl's row of this session says what libpq negotiated.
    let both = Command::new("psql")
        .arg(format!(
            "host=127.0.0.1 port={port} user=eng dbname=laketap sslmode=require"
        ))
        .args([
            "-X",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            "\\conninfo",
            "-c",
        ])
        .arg(
            "SELECT ssl, version, cipher, bits, client_dn IS NULL, count(*) OVER () \
             FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        )
        .env("PGPASSWORD", "eng-pw")
        .output()
        .expect("psql must be installed");
    assert!(both.status.success(), "{both:?}");
    let out = String::from_utf8_lossy(&both.stdout).to_string();
    let negotiated = out
        .split("(protocol: ")
        .nth(1)
        .and_then(|rest| rest.split_once(", cipher: "))
        .and_then(|(protocol, rest)| Some((protocol, rest.split_once(',')?.0)))
        .unwrap_or_else(|| panic!("no protocol and cipher in {out}"));
    let bits = if negotiated.1.contains("AES_128") {
        128
    } else {
        256
    };
    let row = format!("t|{}|{}|{bits}|t|1", negotiated.0, negotiated.1);
    assert!(out.lines().any(|l| l == row), "{row} not in {out}");
    let query = psql_as(
        port,
        "eng",
        "eng-pw",
        "sslmode=require",
        "SELECT count(*) FROM amp.users",
    );
    assert!(query.status.success(), "{query:?}");
    let clear = psql_as(port, "eng", "eng-pw", "sslmode=disable", "SELECT 1");
    assert!(!clear.status.success());
    let stderr = String::from_utf8_lossy(&clear.stderr).to_string();
    assert!(stderr.contains("this server requires TLS"), "{stderr}");
    let _ = crate::ingest::kill_served(served);

    // A TLS misconfiguration stops startup; nothing is served in clear text.
    for (name, content) in [
        ("missing.pem", None),
        ("garbage.pem", Some("not a certificate")),
    ] {
        let bad = dir.path().join(name);
        if let Some(content) = content {
            std::fs::write(&bad, content).expect("write");
        }
        let config = users_config(
            dir.path(),
            &passwd("eng", "eng-pw"),
            "analyst",
            &format!(
                "[tls]\ncert = \"{}\"\nkey = \"{}\"\n",
                bad.display(),
                key.display()
            ),
        );
        let output = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0"])
            .arg("--config")
            .arg(&config)
            .env("LT_ANA_PW", "a")
            .env("LT_ROOT_PW", "r")
            .env("LT_PUB_PW", "p")
            .output()
            .expect("run serve");
        let stderr = String::from_utf8_lossy(&output.stderr).to_string();
        assert!(!output.status.success(), "{stderr}");
        assert!(stderr.contains("TLS certificate"), "{stderr}");
        assert!(stderr.contains(name), "{stderr}");
        assert!(!stderr.contains("laketap is serving"), "{stderr}");
    }
}

/// Reads from a raw socket until it closes or `timeout` passes.
fn read_all(stream: &mut std::net::TcpStream, timeout: Duration) -> Vec<u8> {
    read_until(stream, timeout).0
}

/// Reads until the server closes the socket (true) or `timeout` passes
/// without a byte (false): whether the server ended the connection.
fn read_until(stream: &mut std::net::TcpStream, timeout: Duration) -> (Vec<u8>, bool) {
    stream
        .set_read_timeout(Some(timeout))
        .expect("read timeout");
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return (out, true),
            Err(_) => return (out, false),
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
}

fn startup_message(user: &str) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&196608i32.to_be_bytes());
    for (k, v) in [("user", user), ("database", "laketap")] {
        body.extend_from_slice(k.as_bytes());
        body.push(0);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut message = ((body.len() + 4) as i32).to_be_bytes().to_vec();
    message.extend_from_slice(&body);
    message
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_end_what_goes_over_them_and_the_server_stays_up() {
    let dir = fixture_copy();
    let path = dir.path().join("laketap.toml");
    std::fs::write(
        &path,
        "catalog = \"catalog\"\nstatement_timeout_ms = 1500\nquery_memory_limit_mb = 16\n\
         max_query_mb = 1\n[auth]\ntimeout_ms = 400\n",
    )
    .expect("write config");
    let served = spawn_serve(|command| {
        command.arg("--config").arg(&path);
    });
    let port = served.pg_port;

    // A connection that never sends a startup packet is closed after the auth timeout.
    let mut idle = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let (said, closed) = read_until(&mut idle, Duration::from_secs(10));
    assert!(said.is_empty(), "{said:?}");
    assert!(closed, "the server never closed the connection");

    let client = crate::connect(port).await;
    // The default statement_timeout applies and SHOW says it.
    assert_eq!(
        answer(&client, "SHOW statement_timeout").await,
        Ok(crate::one("1500ms"))
    );
    let (code, message) = refused(
        &client,
        "SELECT count(*) FROM generate_series(1, 20000000000) a(v)",
    )
    .await;
    assert_eq!(code, "57014", "{message}");
    // RESET returns to the server's default, not to PostgreSQL's 0.
    client
        .simple_query("SET statement_timeout = 0")
        .await
        .expect("set");
    assert_eq!(
        answer(&client, "SHOW statement_timeout").await,
        Ok(crate::one("0"))
    );
    client
        .simple_query("RESET statement_timeout")
        .await
        .expect("reset");
    assert_eq!(
        answer(&client, "SHOW statement_timeout").await,
        Ok(crate::one("1500ms"))
    );

    // COPY … TO STDOUT and INSERT … SELECT are under the timeout too.
    let copy = client
        .copy_out("COPY (SELECT sum(v) FROM generate_series(1, 20000000000) t(v)) TO STDOUT")
        .await;
    let e = match copy {
        Err(e) => e,
        Ok(stream) => {
            use futures::TryStreamExt;
            let stream = std::pin::pin!(stream);
            stream
                .try_collect::<Vec<_>>()
                .await
                .expect_err("COPY past the timeout")
        }
    };
    assert_eq!(db_error(&e).0, "57014", "{e}");
    let before = count(&client, "SELECT count(*) FROM amp.listen_events").await;
    let (code, message) = refused(
        &client,
        "INSERT INTO amp.listen_events SELECT l.* FROM amp.listen_events l \
         CROSS JOIN generate_series(1, 400000000) t(v) WHERE v = 0",
    )
    .await;
    assert_eq!(code, "57014", "{message}");
    assert_eq!(
        count(&client, "SELECT count(*) FROM amp.listen_events").await,
        before
    );

    // A statement over the query memory limit: 53200, and the connection goes on.
    let (code, message) = refused(
        &client,
        "SELECT length(string_agg(v::text, ',')) FROM generate_series(1, 3000000) t(v)",
    )
    .await;
    assert_eq!(code, "53200", "{message}");
    assert!(
        message.contains("query memory limit of 16 MiB"),
        "{message}"
    );
    assert_eq!(answer(&client, "SELECT 1").await, Ok(crate::one("1")));

    // SQL text over max_query_mb is refused before it is decoded.
    let long = format!("SELECT '{}'", "x".repeat(2 * 1024 * 1024));
    let e = client.simple_query(&long).await.expect_err("too long");
    let (code, message) = db_error(&e);
    assert_eq!(code, "54000", "{message}");
    assert!(message.contains("max_query"), "{message}");

    // A message declaring 200 MiB is refused before its body is read.
    let mut raw = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    raw.write_all(&startup_message("laketap")).expect("startup");
    let mut hello = [0u8; 1024];
    raw.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let _ = raw.read(&mut hello).expect("greeting");
    let mut huge = vec![b'Q'];
    huge.extend_from_slice(&(200i32 * 1024 * 1024).to_be_bytes());
    huge.extend_from_slice(b"SELECT 1");
    raw.write_all(&huge).expect("header");
    let said = String::from_utf8_lossy(&read_all(&mut raw, Duration::from_secs(10))).to_string();
    assert!(said.contains("max_message"), "{said:?}");

    // Garbage instead of a startup message: a FATAL, not a crash.
    let mut garbage = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    garbage
        .write_all(&[0, 0, 0, 2, 0xff, 0xfe, 0, 0])
        .expect("garbage");
    let said =
        String::from_utf8_lossy(&read_all(&mut garbage, Duration::from_secs(10))).to_string();
    assert!(said.contains("08P01"), "{said:?}");

    // And the server serves.
    let again = crate::connect(port).await;
    assert_eq!(answer(&again, "SELECT 2").await, Ok(crate::one("2")));
    let _ = crate::ingest::kill_served(served);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_vanishes_mid_result_frees_its_memory() {
    let server = TestServer::start(&fixture_catalog()).await;
    let pool = server.engine.context().runtime_env().memory_pool.clone();
    assert_eq!(pool.reserved(), 0);
    let mut raw = std::net::TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
    raw.write_all(&startup_message("laketap")).expect("startup");
    raw.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut buf = [0u8; 4096];
    let _ = raw.read(&mut buf).expect("greeting");
    let sql = "SELECT v, repeat('x', 100) FROM generate_series(1, 3000000) t(v) ORDER BY v DESC\0";
    let mut query = vec![b'Q'];
    query.extend_from_slice(&((sql.len() + 4) as i32).to_be_bytes());
    query.extend_from_slice(sql.as_bytes());
    raw.write_all(&query).expect("query");
    // Rows arrive: the sort holds its memory while they stream.
    let mut got = 0;
    while got < 64 * 1024 {
        got += raw.read(&mut buf).expect("rows");
    }
    let held = pool.reserved();
    assert!(held > 1024 * 1024, "the sort holds {held} bytes");
    drop(raw);
    let deadline = Instant::now() + Duration::from_secs(15);
    while pool.reserved() > 0 {
        assert!(
            Instant::now() < deadline,
            "{} bytes still held after the client left",
            pool.reserved()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let client = server.client().await;
    assert_eq!(answer(&client, "SELECT 3").await, Ok(crate::one("3")));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_connections_are_served_at_once() {
    let config = laketap_server::PgConfig {
        max_connections: 210,
        ..laketap_server::PgConfig::default()
    };
    let server = TestServer::start_with(&fixture_catalog(), config).await;
    let port = server.port;
    let mut clients = Vec::new();
    for _ in 0..200 {
        clients.push(crate::connect(port).await);
    }
    let clients = Arc::new(clients);
    let mut tasks = Vec::new();
    for i in 0..200 {
        let clients = clients.clone();
        tasks.push(tokio::spawn(async move {
            let row = clients[i]
                .query_one("SELECT count(*) + $1 FROM amp.users", &[&(i as i64)])
                .await
                .expect("query");
            row.get::<_, i64>(0) - i as i64
        }));
    }
    let mut counts = Vec::new();
    for task in tasks {
        counts.push(task.await.expect("task"));
    }
    assert_eq!(counts.len(), 200);
    assert!(counts[0] > 0);
    assert!(counts.iter().all(|c| *c == counts[0]), "{counts:?}");
    // SHOW max_connections is the limit in force; pg_stat_activity lists
    // every open session.
    let row = clients[0]
        .query_one(
            "SELECT current_setting('max_connections'), \
             (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')",
            &[],
        )
        .await
        .expect("settings");
    assert_eq!(row.get::<_, String>(0), "210");
    assert_eq!(row.get::<_, i64>(1), 200);
    drop(clients);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn md5_and_clear_text_passwords_work_when_asked_for() {
    for method in ["md5", "password"] {
        let dir = fixture_copy();
        let path = dir.path().join("laketap.toml");
        std::fs::write(
            &path,
            format!(
                "catalog = \"catalog\"\n[auth]\nmethod = \"{method}\"\n\
                 [[users]]\nname = \"ana\"\npassword_env = \"LT_ANA_PW\"\nroles = [\"analyst\"]\n{ROLES}"
            ),
        )
        .expect("write config");
        let served = spawn_serve(|command| {
            command
                .arg("--config")
                .arg(&path)
                .env("LT_ANA_PW", "ana-pw");
        });
        let ok = psql_as(
            served.pg_port,
            "ana",
            "ana-pw",
            "",
            "SELECT count(*) > 0 FROM kpi.user_profile",
        );
        assert!(ok.status.success(), "{method}: {ok:?}");
        assert_eq!(String::from_utf8_lossy(&ok.stdout).trim(), "t", "{method}");
        let wrong = psql_as(served.pg_port, "ana", "nope", "", "SELECT 1");
        assert!(!wrong.status.success(), "{method}");
        assert!(
            String::from_utf8_lossy(&wrong.stderr)
                .contains("password authentication failed for user \"ana\""),
            "{method}: {wrong:?}"
        );
        let _ = crate::ingest::kill_served(served);
    }
}
