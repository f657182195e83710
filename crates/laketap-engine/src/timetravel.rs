//! Time travel on Delta tables, as table functions:
//!
//! - `table_at('schema.table', version)`: the table as of a version
//!   (`SELECT * FROM table_at('amp.listen_events', 3)`);
//! - `table_at('schema.table', 'YYYY-MM-DD HH:MM:SS')` (or an RFC 3339 text,
//!   or a `TIMESTAMP` literal): the latest version committed at or before
//!   that instant (UTC when no zone is given);
//! - `table_history('schema.table')`: the commits, newest first (version,
//!   committed_at, operation, parameters, engine).
//!
//! Planning a query reads the Delta log at that version, which is I/O: the
//! planner's table-function hook is synchronous, so the read blocks the
//! planning thread (`block_in_place` on the server's multi-threaded runtime).

use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Utc};
use datafusion::arrow::array::{ArrayRef, Int64Builder, RecordBatch, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::ScalarValue;
use datafusion::datasource::MemTable;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::Expr;
use datafusion::prelude::SessionContext;
use laketap_catalog::{Lake, LakeTable, TimeTravel};

/// Registers `table_at` and `table_history`.
pub fn register(ctx: &SessionContext, lake: Arc<Lake>) {
    ctx.register_udtf("table_at", Arc::new(TableAt { lake: lake.clone() }));
    ctx.register_udtf("table_history", Arc::new(TableHistory { lake }));
}

#[derive(Debug)]
struct TableAt {
    lake: Arc<Lake>,
}

#[derive(Debug)]
struct TableHistory {
    lake: Arc<Lake>,
}

fn usage(function: &str) -> String {
    match function {
        "table_at" => "use table_at('schema.table', version) or table_at('schema.table', 'YYYY-MM-DD HH:MM:SS')".to_string(),
        _ => "use table_history('schema.table')".to_string(),
    }
}

fn plan_err(message: String) -> DataFusionError {
    DataFusionError::Plan(message)
}

/// The literal value of an argument (through casts of literals).
fn literal(expr: &Expr) -> Option<&ScalarValue> {
    match expr {
        Expr::Literal(value, _) => Some(value),
        Expr::Cast(cast) => literal(&cast.expr),
        Expr::TryCast(cast) => literal(&cast.expr),
        _ => None,
    }
}

/// The table named by the first argument, `'schema.table'`.
fn named_table(lake: &Lake, function: &str, args: &[Expr]) -> Result<Arc<LakeTable>> {
    let name = match args.first().and_then(literal) {
        Some(
            ScalarValue::Utf8(Some(s))
            | ScalarValue::Utf8View(Some(s))
            | ScalarValue::LargeUtf8(Some(s)),
        ) => s.clone(),
        _ => {
            return Err(plan_err(format!(
                "{function}: the first argument is the table's name as text, 'schema.table'; {}",
                usage(function)
            )));
        }
    };
    let (schema, table) = name.split_once('.').ok_or_else(|| {
        plan_err(format!(
            "{function}: write the table as 'schema.table' (got '{name}')"
        ))
    })?;
    lake.table(schema, table).ok_or_else(|| {
        plan_err(format!(
            "{function}: table '{name}' not found among the lake's served tables"
        ))
    })
}

/// Parses the second argument of `table_at`.
fn travel_target(value: &ScalarValue) -> Result<TimeTravel> {
    let micros_to = |us: i64| {
        DateTime::<Utc>::from_timestamp_micros(us)
            .map(TimeTravel::Timestamp)
            .ok_or_else(|| plan_err(format!("table_at: timestamp {us} µs is out of range")))
    };
    match value {
        ScalarValue::Int8(Some(v)) => Ok(TimeTravel::Version(i64::from(*v))),
        ScalarValue::Int16(Some(v)) => Ok(TimeTravel::Version(i64::from(*v))),
        ScalarValue::Int32(Some(v)) => Ok(TimeTravel::Version(i64::from(*v))),
        ScalarValue::Int64(Some(v)) => Ok(TimeTravel::Version(*v)),
        ScalarValue::UInt8(Some(v)) => Ok(TimeTravel::Version(i64::from(*v))),
        ScalarValue::UInt16(Some(v)) => Ok(TimeTravel::Version(i64::from(*v))),
        ScalarValue::UInt32(Some(v)) => Ok(TimeTravel::Version(i64::from(*v))),
        ScalarValue::UInt64(Some(v)) => i64::try_from(*v)
            .map(TimeTravel::Version)
            .map_err(|_| plan_err(format!("table_at: version {v} is out of range"))),
        ScalarValue::TimestampSecond(Some(v), _) => micros_to(v.saturating_mul(1_000_000)),
        ScalarValue::TimestampMillisecond(Some(v), _) => micros_to(v.saturating_mul(1_000)),
        ScalarValue::TimestampMicrosecond(Some(v), _) => micros_to(*v),
        ScalarValue::TimestampNanosecond(Some(v), _) => micros_to(v.div_euclid(1_000)),
        ScalarValue::Utf8(Some(s))
        | ScalarValue::Utf8View(Some(s))
        | ScalarValue::LargeUtf8(Some(s)) => parse_instant(s).map(TimeTravel::Timestamp),
        other => Err(plan_err(format!(
            "table_at: the second argument is a version number or a timestamp, not {other:?}; {}",
            usage("table_at")
        ))),
    }
}

/// `YYYY-MM-DD[ T]HH:MM:SS[.ffffff]` (UTC) or RFC 3339 with a zone.
fn parse_instant(text: &str) -> Result<DateTime<Utc>> {
    let t = text.trim();
    if let Ok(with_zone) = DateTime::parse_from_rfc3339(t) {
        return Ok(with_zone.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(t, format) {
            return Ok(naive.and_utc());
        }
        if format == "%Y-%m-%d"
            && let Ok(date) = chrono::NaiveDate::parse_from_str(t, format)
            && let Some(midnight) = date.and_hms_opt(0, 0, 0)
        {
            return Ok(midnight.and_utc());
        }
    }
    Err(plan_err(format!(
        "table_at: '{text}' is neither a version nor a timestamp; write 'YYYY-MM-DD HH:MM:SS' (UTC) or RFC 3339"
    )))
}

/// Runs `fut` to completion from the synchronous planner hook.
fn block_on<F>(fut: F) -> Result<F::Output>
where
    F: std::future::Future + Send,
    F::Output: Send,
{
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            Ok(tokio::task::block_in_place(|| handle.block_on(fut)))
        }
        _ => std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map(|rt| rt.block_on(fut))
                        .map_err(|e| {
                            DataFusionError::Execution(format!("cannot read the Delta log: {e}"))
                        })
                })
                .join()
                .map_err(|_| DataFusionError::Execution("the Delta log reader panicked".into()))?
        }),
    }
}

impl TableFunctionImpl for TableAt {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let exprs = args.exprs();
        if exprs.len() != 2 {
            return Err(plan_err(format!(
                "table_at takes 2 arguments, got {}; {}",
                exprs.len(),
                usage("table_at")
            )));
        }
        let table = named_table(&self.lake, "table_at", exprs)?;
        let to = match literal(&exprs[1]) {
            Some(value) => travel_target(value)?,
            None => {
                return Err(plan_err(format!(
                    "table_at: the second argument must be a constant; {}",
                    usage("table_at")
                )));
            }
        };
        let session = args.session();
        let name = format!("{}.{}", table.info().schema, table.info().name);
        block_on(table.travel(session, to))?
            .map_err(|e| DataFusionError::Plan(format!("table_at('{name}'): {e}")))
    }
}

impl TableFunctionImpl for TableHistory {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let exprs = args.exprs();
        if exprs.len() != 1 {
            return Err(plan_err(format!(
                "table_history takes 1 argument, got {}; {}",
                exprs.len(),
                usage("table_history")
            )));
        }
        let table = named_table(&self.lake, "table_history", exprs)?;
        let name = format!("{}.{}", table.info().schema, table.info().name);
        let commits = block_on(table.history(None))?
            .map_err(|e| DataFusionError::Plan(format!("table_history('{name}'): {e}")))?;
        let schema = Arc::new(Schema::new(vec![
            Field::new("version", DataType::Int64, false),
            Field::new("committed_at", crate::system::ts_type(), true),
            Field::new("operation", DataType::Utf8, true),
            Field::new("parameters", DataType::Utf8, true),
            Field::new("engine", DataType::Utf8, true),
        ]));
        let mut version = Int64Builder::with_capacity(commits.len());
        let mut at = crate::system::ts_builder(commits.len());
        let mut operation = StringBuilder::new();
        let mut parameters = StringBuilder::new();
        let mut engine = StringBuilder::new();
        for c in &commits {
            version.append_value(c.version);
            at.append_option(c.timestamp.map(|t| t.timestamp_micros()));
            operation.append_option(c.operation.as_deref());
            parameters.append_option(c.parameters.as_deref());
            engine.append_option(c.engine.as_deref());
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(version.finish()),
            Arc::new(at.finish()),
            Arc::new(operation.finish()),
            Arc::new(parameters.finish()),
            Arc::new(engine.finish()),
        ];
        let batch = RecordBatch::try_new(schema.clone(), columns)?;
        Ok(Arc::new(MemTable::try_new(schema, vec![vec![batch]])?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_as_versions_and_instants() {
        assert_eq!(
            travel_target(&ScalarValue::Int64(Some(3))).expect("version"),
            TimeTravel::Version(3)
        );
        let at =
            travel_target(&ScalarValue::Utf8(Some("2026-03-03 00:01:30".into()))).expect("instant");
        assert_eq!(
            at,
            TimeTravel::Timestamp(
                DateTime::parse_from_rfc3339("2026-03-03T00:01:30Z")
                    .expect("rfc3339")
                    .with_timezone(&Utc)
            )
        );
        assert_eq!(
            travel_target(&ScalarValue::Utf8(Some("2026-03-03T01:01:30+01:00".into())))
                .expect("zoned"),
            at
        );
        let err = travel_target(&ScalarValue::Utf8(Some("yesterday".into()))).expect_err("bad");
        assert!(err.to_string().contains("'yesterday'"), "{err}");
        assert!(travel_target(&ScalarValue::Float64(Some(1.5))).is_err());
    }
}
