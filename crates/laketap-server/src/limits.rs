//! The memory limit of one connection's statements, inside the server's pool.
//!
//! DataFusion has one memory pool per runtime; each connection's session gets
//! a [`SessionPool`] over the server's pool, so a statement is refused (53200)
//! when either its connection's share or the server's pool is used up. A
//! connection runs one statement at a time, so the share is the per-query
//! limit. Memory a statement holds is released when its stream is dropped,
//! which is also what happens when its client goes away.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::memory_pool::{
    MemoryConsumer, MemoryLimit, MemoryPool, MemoryReservation,
};

/// A cap on one session's reservations, which also count against `server`.
#[derive(Debug)]
pub struct SessionPool {
    server: Arc<dyn MemoryPool>,
    limit: usize,
    used: AtomicUsize,
}

impl SessionPool {
    /// At most `limit` bytes of `server` for this session.
    pub fn new(server: Arc<dyn MemoryPool>, limit: usize) -> Self {
        SessionPool {
            server,
            limit,
            used: AtomicUsize::new(0),
        }
    }
}

impl std::fmt::Display for SessionPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "session pool: {} of {} bytes",
            self.used.load(Ordering::Relaxed),
            self.limit
        )
    }
}

impl MemoryPool for SessionPool {
    fn name(&self) -> &str {
        "laketap_session"
    }

    fn register(&self, consumer: &MemoryConsumer) {
        self.server.register(consumer);
    }

    fn unregister(&self, consumer: &MemoryConsumer) {
        self.server.unregister(consumer);
    }

    fn grow(&self, reservation: &MemoryReservation, additional: usize) {
        self.used.fetch_add(additional, Ordering::Relaxed);
        self.server.grow(reservation, additional);
    }

    fn shrink(&self, reservation: &MemoryReservation, shrink: usize) {
        self.used.fetch_sub(shrink, Ordering::Relaxed);
        self.server.shrink(reservation, shrink);
    }

    fn try_grow(&self, reservation: &MemoryReservation, additional: usize) -> DfResult<()> {
        let mut now = self.used.load(Ordering::Relaxed);
        loop {
            let next = now.saturating_add(additional);
            if next > self.limit {
                return Err(DataFusionError::ResourcesExhausted(format!(
                    "the statement needs more than the query memory limit of {} MiB \
                     (query_memory_limit_mb; {} used, {} more asked by {})",
                    self.limit / (1024 * 1024),
                    human(now),
                    human(additional),
                    reservation.consumer().name()
                )));
            }
            match self
                .used
                .compare_exchange_weak(now, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => break,
                Err(actual) => now = actual,
            }
        }
        if let Err(e) = self.server.try_grow(reservation, additional) {
            self.used.fetch_sub(additional, Ordering::Relaxed);
            return Err(match e {
                DataFusionError::ResourcesExhausted(m) => DataFusionError::ResourcesExhausted(
                    format!("the server's memory limit is reached (memory_limit_mb): {m}"),
                ),
                other => other,
            });
        }
        Ok(())
    }

    fn reserved(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    fn memory_limit(&self) -> MemoryLimit {
        MemoryLimit::Finite(self.limit)
    }
}

fn human(bytes: usize) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
    } else {
        format!("{bytes} bytes")
    }
}

/// DataFusion's scalar `generate_series` and `range` build each row's whole
/// list in memory that the memory pool does not see: `SELECT
/// generate_series(1, 3000000000)` took the server to 22 GB. This wrapper
/// counts the integer values a call would build and refuses (53200) when
/// they would take more than the per-query memory limit. (In FROM,
/// generate_series is a table function that streams.) Other argument
/// types (dates, timestamps) pass through unchecked.
#[derive(Debug)]
pub struct SeriesGuard {
    inner: Arc<datafusion::logical_expr::ScalarUDF>,
    limit: usize,
}

impl SeriesGuard {
    pub fn new(inner: Arc<datafusion::logical_expr::ScalarUDF>, limit: usize) -> Self {
        SeriesGuard { inner, limit }
    }
}

impl PartialEq for SeriesGuard {
    fn eq(&self, other: &Self) -> bool {
        self.inner == other.inner && self.limit == other.limit
    }
}

impl Eq for SeriesGuard {}

impl std::hash::Hash for SeriesGuard {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.inner.name().hash(state);
        self.limit.hash(state);
    }
}

/// How many values `start..=stop` by `step` has (`upper`: stop included).
fn series_len(start: i64, stop: i64, step: i64, upper: bool) -> u128 {
    if step == 0 {
        return 0;
    }
    let span = if step > 0 {
        i128::from(stop) - i128::from(start)
    } else {
        i128::from(start) - i128::from(stop)
    };
    let step = i128::from(step).unsigned_abs();
    match span {
        s if s < 0 => 0,
        s if upper => s.unsigned_abs() / step + 1,
        s => s.unsigned_abs().div_ceil(step),
    }
}

impl datafusion::logical_expr::ScalarUDFImpl for SeriesGuard {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }

    fn signature(&self) -> &datafusion::logical_expr::Signature {
        self.inner.signature()
    }

    fn return_type(
        &self,
        arg_types: &[datafusion::arrow::datatypes::DataType],
    ) -> DfResult<datafusion::arrow::datatypes::DataType> {
        self.inner.return_type(arg_types)
    }

    fn coerce_types(
        &self,
        arg_types: &[datafusion::arrow::datatypes::DataType],
    ) -> DfResult<Vec<datafusion::arrow::datatypes::DataType>> {
        self.inner.coerce_types(arg_types)
    }

    fn documentation(&self) -> Option<&datafusion::logical_expr::Documentation> {
        self.inner.documentation()
    }

    fn invoke_with_args(
        &self,
        args: datafusion::logical_expr::ScalarFunctionArgs,
    ) -> DfResult<datafusion::logical_expr::ColumnarValue> {
        use datafusion::arrow::array::{Array, AsArray};
        use datafusion::arrow::datatypes::{DataType, Int64Type};
        let rows = args.number_rows;
        let ints = args.args.iter().all(|a| a.data_type() == DataType::Int64);
        if ints && (1..=3).contains(&args.args.len()) {
            let arrays = args
                .args
                .iter()
                .map(|a| a.to_array(rows))
                .collect::<DfResult<Vec<_>>>()?;
            let ints: Vec<_> = arrays
                .iter()
                .map(|a| a.as_primitive::<Int64Type>())
                .collect();
            let upper = self.inner.name() == "generate_series";
            let mut values: u128 = 0;
            for row in 0..rows {
                let value = |i: usize| (ints[i].is_valid(row)).then(|| ints[i].value(row));
                let (start, stop, step) = match ints.len() {
                    1 => (Some(0), value(0), Some(1)),
                    2 => (value(0), value(1), Some(1)),
                    _ => (value(0), value(1), value(2)),
                };
                if let (Some(start), Some(stop), Some(step)) = (start, stop, step) {
                    values = values.saturating_add(series_len(start, stop, step, upper));
                }
            }
            let bytes = values.saturating_mul(8);
            if bytes > self.limit as u128 {
                return Err(DataFusionError::ResourcesExhausted(format!(
                    "{}() would build {values} values ({} MB) in one list, more than the \
                     per-query memory limit (query_memory_limit_mb, {} MB); in FROM, \
                     generate_series streams its rows",
                    self.inner.name(),
                    bytes / (1024 * 1024),
                    self.limit / (1024 * 1024)
                )));
            }
        }
        self.inner.invoke_with_args(args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::execution::memory_pool::GreedyMemoryPool;

    #[test]
    fn the_session_share_and_the_server_pool_both_limit() {
        let server: Arc<dyn MemoryPool> = Arc::new(GreedyMemoryPool::new(1000));
        let a: Arc<dyn MemoryPool> = Arc::new(SessionPool::new(server.clone(), 600));
        let b: Arc<dyn MemoryPool> = Arc::new(SessionPool::new(server.clone(), 600));
        let ra = MemoryConsumer::new("a").register(&a);
        let rb = MemoryConsumer::new("b").register(&b);
        ra.try_grow(500).expect("within both");
        let over_share = ra.try_grow(200).expect_err("over the session share");
        assert!(
            over_share.to_string().contains("query memory limit"),
            "{over_share}"
        );
        assert_eq!(a.reserved(), 500);
        let over_server = rb.try_grow(600).expect_err("over the server pool");
        assert!(
            over_server.to_string().contains("server's memory limit"),
            "{over_server}"
        );
        assert_eq!(b.reserved(), 0, "a refused grow is not counted");
        rb.try_grow(500).expect("what is left");
        drop(ra);
        assert_eq!(a.reserved(), 0);
        assert_eq!(server.reserved(), 500);
    }
}

#[cfg(test)]
mod series_tests {
    use datafusion::error::DataFusionError;
    use datafusion::execution::FunctionRegistry;
    use datafusion::logical_expr::ScalarUDF;
    use datafusion::prelude::SessionContext;

    use super::{SeriesGuard, series_len};

    #[test]
    fn series_lengths() {
        assert_eq!(series_len(1, 3, 1, true), 3);
        assert_eq!(series_len(1, 3, 1, false), 2);
        assert_eq!(series_len(1, 10, 3, true), 4);
        assert_eq!(series_len(10, 1, -3, true), 4);
        assert_eq!(series_len(3, 1, 1, true), 0);
        assert_eq!(series_len(0, 0, 0, true), 0);
        assert_eq!(
            series_len(i64::MIN, i64::MAX, 1, true),
            u128::from(u64::MAX) + 1
        );
    }

    #[tokio::test]
    async fn a_series_beyond_the_query_limit_is_refused_before_it_is_built() {
        let ctx = SessionContext::new();
        for name in ["generate_series", "range"] {
            let inner = ctx.udf(name).expect("built in");
            // 100 values of 8 bytes.
            ctx.register_udf(ScalarUDF::new_from_impl(SeriesGuard::new(inner, 800)));
        }
        let rows = |sql: &'static str| {
            let ctx = ctx.clone();
            async move { ctx.sql(sql).await?.collect().await }
        };
        let fits = rows("SELECT unnest(generate_series(1, 100)) AS v")
            .await
            .expect("100 values");
        assert_eq!(fits.iter().map(|b| b.num_rows()).sum::<usize>(), 100);
        for sql in [
            "SELECT generate_series(1, 101)",
            "SELECT range(0, 202, 2)",
            "SELECT generate_series(x, x + 60) FROM (VALUES (1), (2)) AS t(x)",
        ] {
            match rows(sql).await {
                Err(DataFusionError::ResourcesExhausted(message)) => {
                    assert!(message.contains("in one list"), "{sql}: {message}")
                }
                other => panic!("{sql}: {other:?}"),
            }
        }
        // The table function streams: not limited.
        let streamed = rows("SELECT count(*) AS n FROM generate_series(1, 1000)")
            .await
            .expect("table function");
        assert_eq!(streamed[0].num_rows(), 1);
    }
}
