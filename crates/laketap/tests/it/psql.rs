//! The real `psql` binary against the server: the `\d` family and a query.

use std::process::Command;

use crate::{TestServer, fixture_catalog};

/// Runs psql with one command; returns stdout, failing on a non-zero exit or
/// anything on stderr.
async fn psql(server: &TestServer, command: &str) -> String {
    let conninfo = server.conninfo();
    let command = command.to_string();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("psql")
            .arg(conninfo)
            .args(["-X", "-A", "-F", "|", "-v", "ON_ERROR_STOP=1", "-c"])
            .arg(&command)
            .env("PGCONNECT_TIMEOUT", "10")
            .output()
    })
    .await
    .expect("join")
    .expect("psql must be installed (apt-get install postgresql-client)");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(
        output.status.success() && stderr.is_empty(),
        "psql failed: {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_describes_the_lake() {
    let server = TestServer::start(&fixture_catalog()).await;

    let schemas = psql(&server, "\\dn").await;
    assert!(schemas.lines().any(|l| l.starts_with("amp|")), "{schemas}");
    assert!(
        schemas.lines().any(|l| l.starts_with("extra|")),
        "{schemas}"
    );

    let tables = psql(&server, "\\dt amp.*").await;
    let names: Vec<&str> = tables
        .lines()
        .filter_map(|l| l.strip_prefix("amp|"))
        .filter_map(|l| l.split('|').next())
        .collect();
    assert_eq!(
        names,
        vec![
            "creators",
            "interactions",
            "listen_events",
            "promotion_events",
            "promotions",
            "rec_engagements",
            "rec_impressions",
            "shows",
            "users"
        ],
        "{tables}"
    );

    let described = psql(&server, "\\d+ amp.listen_events").await;
    let columns: Vec<Vec<&str>> = described
        .lines()
        .map(|l| l.split('|').collect::<Vec<_>>())
        .filter(|f| f.len() > 3)
        .collect();
    let column = |name: &str| {
        columns
            .iter()
            .find(|f| f[0] == name)
            .unwrap_or_else(|| panic!("no column {name} in:\n{described}"))
            .clone()
    };
    assert_eq!(column("user_id")[1], "bigint", "{described}");
    assert_eq!(column("event_date")[1], "date", "{described}");
    assert!(
        column("event_time")[1].starts_with("timestamp"),
        "{described}"
    );
    assert_eq!(
        column("listen_seconds")[1],
        "double precision",
        "{described}"
    );
    assert_eq!(
        column("listen_seconds").last().copied(),
        Some("Seconds listened since the previous event"),
        "{described}"
    );

    let listed = psql(&server, "\\dt+ amp.users").await;
    assert!(
        listed.contains("App users, one row per user"),
        "table description missing:\n{listed}"
    );

    // The KPI views are listed as views, with types, descriptions and their query.
    let views = psql(&server, "\\dv kpi.*").await;
    let names: Vec<&str> = views
        .lines()
        .filter_map(|l| l.strip_prefix("kpi|"))
        .filter(|l| l.contains("|view|"))
        .filter_map(|l| l.split('|').next())
        .collect();
    assert_eq!(
        names,
        vec![
            "creator_daily",
            "daily_flash_report",
            "engagement_daily",
            "experiment_results",
            "live_now",
            "promotion_effectiveness",
            "retention_weekly",
            "show_daily",
            "trending_shows",
            "user_profile"
        ],
        "{views}"
    );
    // pg_views lists them too (datafusion-pg-catalog's is empty; STYLE.md trap 4).
    let listed = psql(
        &server,
        "SELECT count(*) FROM pg_catalog.pg_views WHERE schemaname = 'kpi' AND definition LIKE '%amp.%'",
    )
    .await;
    assert_eq!(listed.lines().nth(1), Some("10"), "{listed}");
    let view = psql(&server, "\\d+ kpi.engagement_daily").await;
    let dau = view
        .lines()
        .find(|l| l.starts_with("dau|"))
        .unwrap_or_else(|| panic!("no dau column:\n{view}"));
    assert!(dau.starts_with("dau|bigint|"), "{dau}");
    assert!(
        dau.ends_with(
            "|dau: users with at least one listen event or interaction that day (active users)."
        ),
        "{dau}"
    );
    assert!(view.contains("View definition:"), "{view}");
    assert!(view.contains("FROM amp.listen_events"), "{view}");

    let answer = psql(
        &server,
        "SELECT platform, count(*) AS n FROM amp.users GROUP BY platform ORDER BY platform",
    )
    .await;
    assert_eq!(
        answer.lines().collect::<Vec<_>>(),
        vec!["platform|n", "android|2", "ios|2", "web|2", "(3 rows)"],
        "{answer}"
    );
    server.stop().await;
}
