//! `SET` / `SHOW` / `RESET laketap.as_of` are per connection: one session's
//! as-of never reaches another; a bad value is refused with 22023 and the
//! previous value stays.

use chrono::NaiveDate;
use tokio_postgres::SimpleQueryMessage;
use tokio_postgres::error::SqlState;

use crate::{TestServer, fixture_catalog};

async fn show_as_of(client: &tokio_postgres::Client) -> String {
    let messages = client
        .simple_query("SHOW laketap.as_of")
        .await
        .expect("show");
    messages
        .iter()
        .find_map(|m| match m {
            SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
            _ => None,
        })
        .expect("one row")
}

async fn as_of(client: &tokio_postgres::Client) -> chrono::NaiveDateTime {
    client
        .query_one("SELECT as_of()", &[])
        .await
        .expect("as_of()")
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn as_of_is_per_session() {
    let server = TestServer::start(&fixture_catalog()).await;
    let a = server.client().await;
    let b = server.client().await;
    let noon = NaiveDate::from_ymd_opt(2026, 3, 1)
        .and_then(|d| d.and_hms_opt(12, 0, 0))
        .expect("valid");

    a.simple_query("SET laketap.as_of = '2026-03-01 12:00:00'")
        .await
        .expect("set");
    assert_eq!(show_as_of(&a).await, "2026-03-01 12:00:00");
    assert_eq!(as_of(&a).await, noon);

    // The other session still follows the clock.
    assert_eq!(show_as_of(&b).await, "now");
    let now = chrono::Utc::now().naive_utc();
    let t = as_of(&b).await;
    assert!(
        (now - t).num_seconds().abs() < 60,
        "{t} is not the clock ({now})"
    );

    // A bad value is refused and the previous one stays.
    let err = a
        .simple_query("SET laketap.as_of = 'the day after tomorrow'")
        .await
        .expect_err("refused");
    assert_eq!(
        err.code(),
        Some(&SqlState::INVALID_PARAMETER_VALUE),
        "{err}"
    );
    assert_eq!(as_of(&a).await, noon);
    let err = a
        .simple_query("SET laketap.as_off = '2026-03-01'")
        .await
        .expect_err("unknown setting");
    assert_eq!(
        err.code(),
        Some(&SqlState::INVALID_PARAMETER_VALUE),
        "{err}"
    );

    // SET LOCAL would outlive its transaction: refused.
    let err = a
        .simple_query("SET LOCAL laketap.as_of = '2026-03-02'")
        .await
        .expect_err("SET LOCAL");
    assert_eq!(err.code(), Some(&SqlState::FEATURE_NOT_SUPPORTED), "{err}");
    assert_eq!(as_of(&a).await, noon);

    // RESET returns to the clock.
    a.simple_query("RESET laketap.as_of").await.expect("reset");
    assert_eq!(show_as_of(&a).await, "now");
    let t = as_of(&a).await;
    assert!((chrono::Utc::now().naive_utc() - t).num_seconds().abs() < 60);
    server.stop().await;
}
