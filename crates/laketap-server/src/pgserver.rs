//! Server-level functions DataGrip (and pgAdmin) call at connect:
//!
//! - `pg_postmaster_start_time()`: when this server started (timestamptz).
//! - `txid_current()` / `pg_current_xact_id()`: laketap has no transaction ids; each
//!   call returns the next number of a server-wide counter, as each autocommit
//!   statement gets a new id in PostgreSQL (DataGrip reads it to notice changes).
//! - `pg_is_in_recovery()`: false (laketap is never a standby).
//! - `pg_tablespace_location(oid)`: '' (the built-in tablespaces' location).
//!
//! They answered 42883 before, which failed DataGrip's startup burst.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{ColumnarValue, Volatility, create_udf};
use datafusion::prelude::SessionContext;

/// PostgreSQL's first normal transaction id.
const FIRST_ID: i64 = 3;

/// The server's transaction id counter: `txid_current()` assigns the next id,
/// `age(xid)` counts from it.
#[derive(Debug, Clone)]
pub struct TransactionIds(Arc<AtomicI64>);

impl Default for TransactionIds {
    fn default() -> Self {
        TransactionIds(Arc::new(AtomicI64::new(FIRST_ID)))
    }
}

impl PartialEq for TransactionIds {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for TransactionIds {}

impl std::hash::Hash for TransactionIds {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        "laketap transaction ids".hash(state);
    }
}

impl TransactionIds {
    /// Assigns the next id (`txid_current()`: the full, 64-bit one).
    pub fn assign(&self) -> i64 {
        self.0.fetch_add(1, Ordering::Relaxed)
    }

    /// The id the next assignment gets, as a 32-bit xid.
    pub fn next_id(&self) -> u32 {
        (self.0.load(Ordering::Relaxed) & 0xFFFF_FFFF) as u32
    }
}

/// Registers the functions, `started` being the server's start (microseconds since
/// the epoch); `age(xid)` shares the transaction ids with `txid_current()`.
pub fn register(ctx: &SessionContext, started: i64) {
    let zone: Arc<str> = "+00:00".into();
    let start = create_udf(
        "pg_postmaster_start_time",
        vec![],
        DataType::Timestamp(TimeUnit::Microsecond, Some(zone.clone())),
        Volatility::Stable,
        Arc::new(move |_: &[ColumnarValue]| {
            Ok(ColumnarValue::Scalar(ScalarValue::TimestampMicrosecond(
                Some(started),
                Some(zone.clone()),
            )))
        }),
    );
    ctx.register_udf(start);
    let xids = TransactionIds::default();
    ctx.register_udf(datafusion::logical_expr::ScalarUDF::new_from_impl(
        crate::age::Age::new(xids.clone()),
    ));
    let txid = create_udf(
        "txid_current",
        vec![],
        DataType::Int64,
        Volatility::Volatile,
        Arc::new(move |_: &[ColumnarValue]| {
            Ok(ColumnarValue::Scalar(ScalarValue::Int64(Some(
                xids.assign(),
            ))))
        }),
    )
    .with_aliases(["pg_current_xact_id"]);
    ctx.register_udf(txid);
    // The tablespaces listed (pg_default, pg_global) are the built-in ones, whose
    // location PostgreSQL gives as '' (the data directory).
    ctx.register_udf(create_udf(
        "pg_tablespace_location",
        vec![DataType::Int64],
        DataType::Utf8,
        Volatility::Stable,
        Arc::new(|args: &[ColumnarValue]| {
            let rows = match args.first() {
                Some(ColumnarValue::Array(a)) => a.len(),
                _ => 1,
            };
            let empty = datafusion::arrow::array::StringArray::from(vec![""; rows]);
            match args.first() {
                Some(ColumnarValue::Array(_)) => Ok(ColumnarValue::Array(Arc::new(empty))),
                _ => Ok(ColumnarValue::Scalar(ScalarValue::Utf8(
                    Some(String::new()),
                ))),
            }
        }),
    ));
    if datafusion::execution::FunctionRegistry::udf(ctx, "pg_is_in_recovery").is_err() {
        ctx.register_udf(create_udf(
            "pg_is_in_recovery",
            vec![],
            DataType::Boolean,
            Volatility::Stable,
            Arc::new(|_: &[ColumnarValue]| {
                Ok(ColumnarValue::Scalar(ScalarValue::Boolean(Some(false))))
            }),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn datagrip_probes_answer() {
        let ctx = SessionContext::new();
        register(&ctx, 1_767_225_600_000_000);
        let batches = crate::test_util::batches(
            &ctx,
            "SELECT CAST(pg_postmaster_start_time() AS VARCHAR) AS s, \
             txid_current() < txid_current() AS grows, pg_is_in_recovery() AS r",
        )
        .await;
        assert_eq!(
            crate::test_util::row_text(&batches[0], 0),
            ["2026-01-01T00:00:00Z", "true", "false"]
        );
    }
}
