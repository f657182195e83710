//! SQL errors come back as ErrorResponses with PostgreSQL's SQLSTATEs, the
//! connection stays usable, and a broken catalog file leaves the other tables
//! serving and shows in `laketap.catalog_errors`.

use tokio_postgres::error::SqlState;

use crate::{TestServer, fixture_catalog, fixture_copy};

async fn code_of(client: &tokio_postgres::Client, sql: &str) -> String {
    let err = client
        .simple_query(sql)
        .await
        .expect_err("the statement must fail");
    let db = err
        .as_db_error()
        .unwrap_or_else(|| panic!("{sql}: not a server error: {err}"));
    db.code().code().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlstates_over_the_wire() {
    let server = TestServer::start(&fixture_catalog()).await;
    let client = server.client().await;
    assert_eq!(
        code_of(&client, "SELEC 1").await,
        SqlState::SYNTAX_ERROR.code()
    );
    assert_eq!(
        code_of(&client, "SELECT * FROM amp.nope").await,
        SqlState::UNDEFINED_TABLE.code()
    );
    assert_eq!(
        code_of(&client, "SELECT nope FROM amp.users").await,
        SqlState::UNDEFINED_COLUMN.code()
    );
    assert_eq!(
        code_of(&client, "SELECT 1 / 0").await,
        SqlState::DIVISION_BY_ZERO.code()
    );
    assert_eq!(
        code_of(&client, "SELECT no_such_function(1)").await,
        SqlState::UNDEFINED_FUNCTION.code()
    );
    // Division by zero found while reading data, not while planning.
    assert_eq!(
        code_of(
            &client,
            "SELECT user_id / (user_id - user_id) FROM amp.users"
        )
        .await,
        SqlState::DIVISION_BY_ZERO.code()
    );
    // The extended protocol maps the same way.
    let err = client
        .query("SELECT * FROM amp.nope", &[])
        .await
        .expect_err("unknown table");
    assert_eq!(err.code(), Some(&SqlState::UNDEFINED_TABLE));
    // Failures of the extended protocol's Parse step are in the query log too.
    let row = client
        .query_one(
            "SELECT count(*) FROM laketap.query_log \
             WHERE sql = 'SELECT * FROM amp.nope' AND error LIKE '%not found%'",
            &[],
        )
        .await
        .expect("query_log");
    assert_eq!(
        row.get::<_, i64>(0),
        2,
        "simple and extended failures are both logged"
    );
    // Still usable.
    let row = client
        .query_one("SELECT count(*) FROM amp.users", &[])
        .await
        .expect("usable after errors");
    assert_eq!(row.get::<_, i64>(0), 6);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_catalog_file_leaves_the_rest_serving() {
    let dir = fixture_copy();
    let catalog = dir.path().join("catalog");
    // A Parquet folder whose only file is not Parquet.
    let corrupt = dir.path().join("lake/corrupt");
    std::fs::create_dir_all(&corrupt).expect("mkdir");
    std::fs::write(corrupt.join("part-0.parquet"), b"this is not parquet").expect("write");
    std::fs::write(
        catalog.join("broken.toml"),
        "schema = \"broken\"\n[tables.a\nformat = \"parquet\"\n",
    )
    .expect("write");
    std::fs::write(
        catalog.join("partial.toml"),
        "[tables.typo]\nformat = \"parquet\"\nlocaton = \"x\"\n\n\
         [tables.gone]\nformat = \"delta\"\nlocation = \"../lake/nowhere\"\n\n\
         [tables.orc]\nformat = \"orc\"\nlocation = \"../lake/amp/users\"\n\n\
         [tables.corrupt]\nformat = \"parquet\"\nlocation = \"../lake/corrupt\"\n\n\
         [tables.fine]\nformat = \"parquet\"\nlocation = \"../lake/amp/users\"\n",
    )
    .expect("write");
    let server = TestServer::start(&catalog).await;
    let client = server.client().await;

    let rows = client
        .query(
            "SELECT file, table_name, message FROM laketap.catalog_errors ORDER BY file, table_name",
            &[],
        )
        .await
        .expect("catalog_errors");
    let got: Vec<(String, Option<String>, String)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(got.len(), 5, "{got:#?}");
    assert!(got[0].0.ends_with("broken.toml") && got[0].1.is_none());
    assert!(got[0].2.contains("broken.toml:2:"), "{}", got[0].2);
    let by_table = |t: &str| {
        got.iter()
            .find(|g| g.1.as_deref() == Some(t))
            .unwrap_or_else(|| panic!("no error for {t}: {got:#?}"))
            .2
            .clone()
    };
    assert!(by_table("typo").contains("locaton"), "{}", by_table("typo"));
    assert!(
        by_table("typo").contains("partial.toml:1:"),
        "{}",
        by_table("typo")
    );
    assert!(
        by_table("gone").contains("does not exist"),
        "{}",
        by_table("gone")
    );
    assert!(
        by_table("gone").contains("../lake/nowhere"),
        "{}",
        by_table("gone")
    );
    assert!(
        by_table("orc").contains("unknown variant `orc`"),
        "{}",
        by_table("orc")
    );

    // The good table of the partly broken file serves, and so does everything else.
    let row = client
        .query_one("SELECT count(*) FROM partial.fine", &[])
        .await
        .expect("partial.fine");
    assert_eq!(row.get::<_, i64>(0), 6);
    let row = client
        .query_one("SELECT count(*) FROM amp.listen_events", &[])
        .await
        .expect("amp");
    assert_eq!(row.get::<_, i64>(0), 20);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_cap_get_53300() {
    let engine = std::sync::Arc::new(
        laketap_engine::Engine::start(&laketap_engine::EngineConfig::new(fixture_catalog()))
            .await
            .expect("engine"),
    );
    let config = laketap_server::PgConfig {
        max_connections: 1,
        ..laketap_server::PgConfig::default()
    };
    let server = laketap_server::PgServer::new(&engine, config)
        .await
        .expect("front end");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        server
            .serve(listener, async move {
                let _ = stopped.await;
            })
            .await
    });
    let conninfo = format!("host=127.0.0.1 port={port} user=laketap dbname=laketap");
    let (first, connection) = tokio_postgres::connect(&conninfo, tokio_postgres::NoTls)
        .await
        .expect("first connection");
    tokio::spawn(connection);
    let err = tokio_postgres::connect(&conninfo, tokio_postgres::NoTls)
        .await
        .map(|_| ())
        .expect_err("second connection is over the cap");
    assert_eq!(err.code(), Some(&SqlState::TOO_MANY_CONNECTIONS), "{err}");
    // The first one is unaffected.
    let row = first
        .query_one("SELECT count(*) FROM amp.users", &[])
        .await
        .expect("first still serves");
    assert_eq!(row.get::<_, i64>(0), 6);
    drop(first);
    let _ = stop.send(());
    task.await.expect("join").expect("serve");
}
