//! The as-of instant `T` of the KPI views (KPI_SPEC.md "Conventions").
//!
//! `laketap.as_of` is a session setting — a DataFusion [`ConfigExtension`],
//! so each session has its own — and `as_of()` is the SQL function the views
//! call. Unset, `T` is the clock, read once per query (the query's start
//! time, as `now()`); set, it is that instant. A bad value is refused and
//! the previous value stays.

use std::any::Any;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::config::{ConfigEntry, ConfigExtension, ExtensionOptions};
use datafusion::common::{ScalarValue, config::ConfigOptions};
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::simplify::{ExprSimplifyResult, SimplifyContext};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// Session settings in the `laketap` namespace.
#[derive(Debug, Clone, Default)]
pub struct LaketapOptions {
    /// `laketap.as_of`: the instant the windowed views answer for; None = the clock.
    pub as_of: Option<NaiveDateTime>,
    /// The server's default (`--as-of`), which `RESET` and `SET … = 'default'` return to.
    pub server_default: Option<NaiveDateTime>,
    /// `laketap.idempotency_key`: the key of the session's next write
    /// (INSERT or COPY FROM STDIN); cleared once that statement has run.
    pub idempotency_key: Option<Arc<KeySlot>>,
    /// The writes of the session's open transaction block, applied at
    /// COMMIT (not a setting: set by BEGIN, taken by COMMIT or ROLLBACK).
    pub transaction: Option<Arc<TxWrites>>,
}

/// The idempotency key set for a session's next write; the write takes it,
/// so it keys exactly one write.
#[derive(Debug, Default)]
pub struct KeySlot(std::sync::Mutex<Option<String>>);

impl KeySlot {
    /// Takes the key (a second take finds none).
    pub fn take(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    fn peek(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Writes (INSERT, COPY FROM STDIN) made inside a transaction block: held
/// until COMMIT, dropped by ROLLBACK.
#[derive(Debug, Default)]
pub struct TxWrites {
    writes: std::sync::Mutex<(Vec<BufferedWrite>, usize)>,
}

/// One write held by a transaction block.
#[derive(Debug, Clone)]
pub struct BufferedWrite {
    /// Target schema.
    pub schema: String,
    /// Target table.
    pub table: String,
    /// The rows, checked and in the table's schema.
    pub batch: datafusion::arrow::record_batch::RecordBatch,
    /// The write's idempotency key.
    pub key: Option<String>,
}

impl TxWrites {
    /// Holds a write until COMMIT, unless the block would then hold more
    /// than `limit` bytes of rows: then the write is refused with the size.
    pub fn push(&self, write: BufferedWrite, limit: usize) -> Result<(), usize> {
        let mut held = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        let bytes = held.1 + write.batch.get_array_memory_size();
        if bytes > limit {
            return Err(bytes);
        }
        held.0.push(write);
        held.1 = bytes;
        Ok(())
    }

    /// Takes the writes held so far.
    pub fn take(&self) -> Vec<BufferedWrite> {
        let mut held = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        held.1 = 0;
        std::mem::take(&mut held.0)
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.writes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .0
            .is_empty()
    }
}

impl LaketapOptions {
    /// Options whose as-of starts at, and resets to, `server_default`.
    pub fn with_default(server_default: Option<NaiveDateTime>) -> Self {
        LaketapOptions {
            as_of: server_default,
            server_default,
            idempotency_key: None,
            transaction: None,
        }
    }
}

impl ConfigExtension for LaketapOptions {
    const PREFIX: &'static str = "laketap";
}

/// The formats `SET laketap.as_of` accepts.
const FORMATS: &[&str] = &[
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
];

/// Parses an as-of value: a timestamp (UTC, no zone), a date (its midnight),
/// or `now` / empty for the clock.
pub fn parse_as_of(value: &str) -> DfResult<Option<NaiveDateTime>> {
    let v = value.trim().trim_matches('\'');
    if v.is_empty() || v.eq_ignore_ascii_case("now") {
        return Ok(None);
    }
    for format in FORMATS {
        if let Ok(t) = NaiveDateTime::parse_from_str(v, format) {
            return Ok(Some(t));
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0));
    }
    Err(DataFusionError::Configuration(format!(
        "invalid value for laketap.as_of: \"{value}\": write a UTC timestamp such as \
         '2026-03-01 12:00:00', or 'now' for the clock"
    )))
}

/// Renders an as-of value the way `SHOW laketap.as_of` prints it.
pub fn format_as_of(value: Option<NaiveDateTime>) -> String {
    value.map_or_else(
        || "now".to_string(),
        |t| t.format("%Y-%m-%d %H:%M:%S%.f").to_string(),
    )
}

impl ExtensionOptions for LaketapOptions {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }

    fn cloned(&self) -> Box<dyn ExtensionOptions> {
        Box::new(self.clone())
    }

    fn set(&mut self, key: &str, value: &str) -> DfResult<()> {
        match key {
            "as_of" => {
                self.as_of = if value
                    .trim()
                    .trim_matches('\'')
                    .eq_ignore_ascii_case("default")
                {
                    self.server_default
                } else {
                    parse_as_of(value)?
                };
                Ok(())
            }
            "idempotency_key" => {
                let v = value.trim().trim_matches('\'');
                if v.len() > 200 {
                    return Err(DataFusionError::Configuration(
                        "laketap.idempotency_key is longer than 200 bytes".to_string(),
                    ));
                }
                // A fresh slot per SET: sessions never share one.
                self.idempotency_key = (!v.is_empty() && !v.eq_ignore_ascii_case("default"))
                    .then(|| Arc::new(KeySlot(std::sync::Mutex::new(Some(v.to_string())))));
                Ok(())
            }
            other => Err(DataFusionError::Configuration(format!(
                "unrecognized configuration parameter \"laketap.{other}\" (laketap has: as_of, idempotency_key)"
            ))),
        }
    }

    fn entries(&self) -> Vec<ConfigEntry> {
        vec![
            ConfigEntry {
                key: "laketap.as_of".to_string(),
                value: Some(format_as_of(self.as_of)),
                description: "The instant T of the windowed KPI views; 'now' follows the clock",
            },
            ConfigEntry {
                key: "laketap.idempotency_key".to_string(),
                value: Some(
                    self.idempotency_key
                        .as_ref()
                        .and_then(|k| k.peek())
                        .unwrap_or_default(),
                ),
                description: "The idempotency key of the session's next INSERT or COPY FROM STDIN",
            },
        ]
    }
}

/// The slot of the idempotency key set for the session's next write.
pub fn idempotency_slot(options: &ConfigOptions) -> Option<Arc<KeySlot>> {
    options
        .extensions
        .get::<LaketapOptions>()
        .and_then(|o| o.idempotency_key.clone())
}

/// The write buffer of the session's open transaction block, if any.
pub fn transaction(options: &ConfigOptions) -> Option<Arc<TxWrites>> {
    options
        .extensions
        .get::<LaketapOptions>()
        .and_then(|o| o.transaction.clone())
}

/// Opens (`Some`) or closes (`None`) the session's transaction write
/// buffer; returns the one that was open.
pub fn set_transaction(
    ctx: &datafusion::prelude::SessionContext,
    buffer: Option<Arc<TxWrites>>,
) -> Option<Arc<TxWrites>> {
    let state = ctx.state_ref();
    let mut state = state.write();
    state
        .config_mut()
        .options_mut()
        .extensions
        .get_mut::<LaketapOptions>()
        .and_then(|o| std::mem::replace(&mut o.transaction, buffer))
}

fn configured(options: &ConfigOptions) -> Option<NaiveDateTime> {
    options
        .extensions
        .get::<LaketapOptions>()
        .and_then(|o| o.as_of)
}

fn literal(t: NaiveDateTime) -> ScalarValue {
    ScalarValue::TimestampMicrosecond(Some(t.and_utc().timestamp_micros()), None)
}

fn clock(t: DateTime<Utc>) -> NaiveDateTime {
    // Microsecond precision, like every timestamp of the lake.
    let micros = t.timestamp_micros();
    DateTime::<Utc>::from_timestamp_micros(micros)
        .unwrap_or(t)
        .naive_utc()
}

/// `as_of()`: the session's `laketap.as_of`, or the query's start time.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct AsOf {
    signature: Signature,
}

impl AsOf {
    /// The function, ready to register.
    pub fn udf() -> ScalarUDF {
        ScalarUDF::from(AsOf {
            signature: Signature::nullary(Volatility::Stable),
        })
    }
}

impl ScalarUDFImpl for AsOf {
    fn name(&self) -> &str {
        "as_of"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Timestamp(TimeUnit::Microsecond, None))
    }

    fn simplify(&self, args: Vec<Expr>, info: &SimplifyContext) -> DfResult<ExprSimplifyResult> {
        let t = match configured(info.config_options()) {
            Some(t) => t,
            None => match info.query_execution_start_time() {
                Some(start) => clock(start),
                None => return Ok(ExprSimplifyResult::Original(args)),
            },
        };
        Ok(ExprSimplifyResult::Simplified(Expr::Literal(
            literal(t),
            None,
        )))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let t = configured(&args.config_options).unwrap_or_else(|| clock(Utc::now()));
        Ok(ColumnarValue::Scalar(literal(t)))
    }
}

/// Registers `as_of()` in a session.
pub fn register(ctx: &datafusion::prelude::SessionContext) {
    ctx.register_udf(AsOf::udf());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_timestamps_dates_and_now() {
        let t = parse_as_of("2026-03-01 12:00:00")
            .expect("valid")
            .expect("set");
        assert_eq!(t.to_string(), "2026-03-01 12:00:00");
        let t = parse_as_of("2026-03-01T12:00:00.123456")
            .expect("valid")
            .expect("set");
        assert_eq!(t.and_utc().timestamp_subsec_micros(), 123_456);
        let t = parse_as_of("2026-03-01").expect("valid").expect("set");
        assert_eq!(t.to_string(), "2026-03-01 00:00:00");
        assert_eq!(parse_as_of("now").expect("valid"), None);
        let mut options = LaketapOptions::with_default(parse_as_of("2026-01-01").expect("valid"));
        options.set("as_of", "now").expect("valid");
        assert_eq!(options.as_of, None);
        options.set("as_of", "default").expect("valid");
        assert_eq!(format_as_of(options.as_of), "2026-01-01 00:00:00");
        assert_eq!(parse_as_of("").expect("valid"), None);
        let err = parse_as_of("yesterday-ish").expect_err("invalid");
        assert!(err.to_string().contains("laketap.as_of"), "{err}");
    }

    #[test]
    fn a_bad_value_keeps_the_previous_one() {
        let mut options = LaketapOptions::default();
        options.set("as_of", "2026-03-01 12:00:00").expect("valid");
        assert!(options.set("as_of", "not a time").is_err());
        assert_eq!(format_as_of(options.as_of), "2026-03-01 12:00:00");
        assert!(options.set("as_off", "2026-03-01").is_err());
    }

    #[tokio::test]
    async fn as_of_follows_the_session_setting() {
        use datafusion::prelude::{SessionConfig, SessionContext};
        let config = SessionConfig::new().with_option_extension(LaketapOptions::default());
        let ctx = SessionContext::new_with_config(config);
        register(&ctx);
        ctx.sql("SET laketap.as_of = '2026-03-01 12:00:00'")
            .await
            .expect("set")
            .collect()
            .await
            .expect("set runs");
        let batches = ctx
            .sql("SELECT CAST(as_of() AS VARCHAR)")
            .await
            .expect("plan")
            .collect()
            .await
            .expect("run");
        let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches)
            .expect("format")
            .to_string();
        assert!(text.contains("2026-03-01T12:00:00"), "{text}");
        let err = ctx
            .sql("SET laketap.as_of = 'garbage'")
            .await
            .expect_err("refused");
        assert!(err.to_string().contains("laketap.as_of"), "{err}");
    }
}
