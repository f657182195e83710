//! A CancelRequest and statement_timeout stop a query while its result is
//! being computed and streamed (after planning), with SQLSTATE 57014, and
//! the connection stays usable.

use std::time::Duration;

use tokio_postgres::error::SqlState;

use crate::{TestServer, fixture_catalog};

/// Runs for hours unless stopped: 10^11 generated rows counted.
const ENDLESS: &str = "SELECT count(*) FROM generate_series(1, 100000000000)";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_request_stops_a_running_query() {
    let server = TestServer::start(&fixture_catalog()).await;
    let client = server.client().await;
    let token = client.cancel_token();
    let canceller = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        token
            .cancel_query(tokio_postgres::NoTls)
            .await
            .expect("cancel request sent");
    });
    // A generous bound so a broken cancel fails the test instead of hanging it.
    let outcome = tokio::time::timeout(Duration::from_secs(120), client.simple_query(ENDLESS))
        .await
        .expect("the query was not canceled");
    let err = outcome.expect_err("canceled");
    assert_eq!(err.code(), Some(&SqlState::QUERY_CANCELED), "{err}");
    canceller.await.expect("canceller");
    let row = client
        .query_one("SELECT 1::BIGINT", &[])
        .await
        .expect("usable");
    assert_eq!(row.get::<_, i64>(0), 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statement_timeout_stops_a_running_query() {
    let server = TestServer::start(&fixture_catalog()).await;
    let client = server.client().await;
    client
        .simple_query("SET statement_timeout = '300ms'")
        .await
        .expect("set");
    for extended in [false, true] {
        let outcome = tokio::time::timeout(Duration::from_secs(120), async {
            if extended {
                client.query(ENDLESS, &[]).await.map(|_| ())
            } else {
                client.simple_query(ENDLESS).await.map(|_| ())
            }
        })
        .await
        .expect("the statement timeout did not fire");
        let err = outcome.expect_err("timed out");
        assert_eq!(err.code(), Some(&SqlState::QUERY_CANCELED), "{err}");
    }
    let row = client
        .query_one("SELECT 2::BIGINT", &[])
        .await
        .expect("usable");
    assert_eq!(row.get::<_, i64>(0), 2);
    server.stop().await;
}
