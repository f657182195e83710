//! Transactions as drivers drive them: BEGIN/COMMIT/ROLLBACK, savepoints
//! (tokio-postgres's own `savepoint()` API), and PostgreSQL's answers
//! outside a transaction block (25P01), for unknown savepoints (3B001) and
//! in a failed transaction (25P02).

use tokio_postgres::error::SqlState;

use crate::{TestServer, answer, fixture_catalog, one};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn savepoints_answer_as_postgres_does() {
    let server = TestServer::start(&fixture_catalog()).await;
    let mut client = server.client().await;

    // The driver's nested transactions: SAVEPOINT, RELEASE, ROLLBACK TO.
    {
        let mut tx = client.transaction().await.expect("BEGIN");
        {
            let sp = tx.savepoint("outer").await.expect("SAVEPOINT");
            let n: i64 = sp
                .query_one("SELECT count(*) FROM amp.users", &[])
                .await
                .expect("query")
                .get(0);
            assert_eq!(n, 6);
            sp.commit().await.expect("RELEASE");
        }
        {
            let sp = tx.savepoint("again").await.expect("SAVEPOINT");
            sp.rollback().await.expect("ROLLBACK TO");
        }
        tx.commit().await.expect("COMMIT");
    }

    // Outside a transaction block.
    for sql in [
        "SAVEPOINT a",
        "RELEASE SAVEPOINT a",
        "ROLLBACK TO SAVEPOINT a",
    ] {
        let err = client.simple_query(sql).await.expect_err(sql);
        assert_eq!(
            err.code(),
            Some(&SqlState::NO_ACTIVE_SQL_TRANSACTION),
            "{sql}: {err}"
        );
    }

    // An unknown savepoint fails the transaction; then only its end is accepted.
    client.simple_query("BEGIN").await.expect("BEGIN");
    client.simple_query("SAVEPOINT a").await.expect("SAVEPOINT");
    client
        .simple_query("ROLLBACK TO a")
        .await
        .expect("ROLLBACK TO");
    client.simple_query("RELEASE a").await.expect("RELEASE");
    let err = client
        .simple_query("RELEASE a")
        .await
        .expect_err("released already");
    assert_eq!(
        err.code(),
        Some(&SqlState::S_E_INVALID_SPECIFICATION),
        "{err}"
    );
    let err = client
        .simple_query("SELECT 1")
        .await
        .expect_err("failed transaction");
    assert_eq!(
        err.code(),
        Some(&SqlState::IN_FAILED_SQL_TRANSACTION),
        "{err}"
    );
    client.simple_query("ROLLBACK").await.expect("ROLLBACK");
    assert_eq!(answer(&client, "SELECT 1").await, Ok(one("1")));
    server.stop().await;
}
