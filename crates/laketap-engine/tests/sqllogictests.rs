//! Runs every `tests/sql/*.slt` file in-process against an engine over the
//! fixture lake (`tests/fixtures/catalog`), one fresh engine per file.
//!
//! Results are rendered as DataFusion's sqllogictest renders them: NULL as
//! `NULL`, the empty string as `(empty)`, floats rounded to 12 decimals with
//! trailing zeros trimmed, timestamps in ISO 8601.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Float32Type, Float64Type};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::prelude::SessionContext;
use laketap_engine::{Engine, EngineConfig};
use sqllogictest::{AsyncDB, ColumnType, DBOutput};

fn repo_root() -> PathBuf {
    std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../..")
}

/// Column types of the slt files: DataFusion's letters.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SltType {
    Boolean,
    DateTime,
    Integer,
    Float,
    Text,
    Timestamp,
    Another,
}

impl ColumnType for SltType {
    fn from_char(value: char) -> Option<Self> {
        Some(match value {
            'B' => SltType::Boolean,
            'D' => SltType::DateTime,
            'I' => SltType::Integer,
            'R' => SltType::Float,
            'T' => SltType::Text,
            'P' => SltType::Timestamp,
            _ => SltType::Another,
        })
    }

    fn to_char(&self) -> char {
        match self {
            SltType::Boolean => 'B',
            SltType::DateTime => 'D',
            SltType::Integer => 'I',
            SltType::Float => 'R',
            SltType::Text => 'T',
            SltType::Timestamp => 'P',
            SltType::Another => '?',
        }
    }
}

fn slt_type(dt: &DataType) -> SltType {
    match dt {
        DataType::Boolean => SltType::Boolean,
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64 => SltType::Integer,
        DataType::Float16 | DataType::Float32 | DataType::Float64 | DataType::Decimal128(_, _) => {
            SltType::Float
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => SltType::Text,
        DataType::Dictionary(_, v) => slt_type(v),
        DataType::Date32 | DataType::Date64 | DataType::Time32(_) | DataType::Time64(_) => {
            SltType::DateTime
        }
        DataType::Timestamp(_, _) => SltType::Timestamp,
        _ => SltType::Another,
    }
}

/// Same type, or both date/time-like (files may say D for a timestamp).
// The signature is sqllogictest's `ColumnTypeValidator`.
#[allow(clippy::ptr_arg)]
fn types_match(actual: &Vec<SltType>, expected: &Vec<SltType>) -> bool {
    actual.len() == expected.len()
        && actual.iter().zip(expected).all(|(a, e)| {
            a == e
                || matches!(
                    (a, e),
                    (SltType::Timestamp, SltType::DateTime)
                        | (SltType::DateTime, SltType::Timestamp)
                )
        })
}

fn float_text(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let s = format!("{v:.12}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

fn cell(array: &dyn Array, row: usize, formatter: &ArrayFormatter) -> String {
    if array.is_null(row) {
        return "NULL".into();
    }
    let text = match array.data_type() {
        DataType::Float64 => float_text(array.as_primitive::<Float64Type>().value(row)),
        DataType::Float32 => float_text(array.as_primitive::<Float32Type>().value(row) as f64),
        _ => formatter.value(row).to_string(),
    };
    if text.is_empty() {
        "(empty)".into()
    } else {
        text
    }
}

fn render(batches: &[RecordBatch]) -> datafusion::error::Result<Vec<Vec<String>>> {
    let options = FormatOptions::default().with_null("NULL");
    let mut rows = Vec::new();
    for batch in batches {
        let formatters = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()?;
        for row in 0..batch.num_rows() {
            rows.push(
                batch
                    .columns()
                    .iter()
                    .zip(&formatters)
                    .map(|(c, f)| cell(c.as_ref(), row, f))
                    .collect(),
            );
        }
    }
    Ok(rows)
}

struct LakeDb {
    ctx: SessionContext,
    _engine: Arc<Engine>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct SltError(String);

#[async_trait]
impl AsyncDB for LakeDb {
    type Error = SltError;
    type ColumnType = SltType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<SltType>, SltError> {
        let df = self
            .ctx
            .sql(sql)
            .await
            .map_err(|e| SltError(e.to_string()))?;
        let types: Vec<SltType> = df
            .schema()
            .fields()
            .iter()
            .map(|f| slt_type(f.data_type()))
            .collect();
        let batches = df.collect().await.map_err(|e| SltError(e.to_string()))?;
        if types.is_empty() {
            return Ok(DBOutput::StatementComplete(0));
        }
        let rows = render(&batches).map_err(|e| SltError(e.to_string()))?;
        Ok(DBOutput::Rows { types, rows })
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "laketap"
    }

    async fn sleep(dur: std::time::Duration) {
        tokio::time::sleep(dur).await;
    }
}

/// The catalog a file runs against: its first-line directive
/// `# laketap-catalog: <path from the repository root>`, else the fixture catalog.
fn catalog_of(path: &Path) -> Result<PathBuf, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let directive = text
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("# laketap-catalog:"))
        .map(str::trim);
    Ok(repo_root().join(directive.unwrap_or("tests/fixtures/catalog")))
}

async fn run_file(path: PathBuf) -> Result<(), String> {
    let mut config = EngineConfig::new(catalog_of(&path)?);
    // The fixture lakes do not change while the files run.
    config.refresh_interval = None;
    // The views under test are the files of sql/kpi (also built into the
    // binary; reading the folder picks up edits without a rebuild).
    let views = repo_root().join("sql/kpi");
    config.views_dir = views.is_dir().then_some(views);
    let engine = Arc::new(
        Engine::start(&config)
            .await
            .map_err(|e| format!("{}: engine: {e}", path.display()))?,
    );
    let mut runner = sqllogictest::Runner::new(move || {
        let engine = engine.clone();
        async move {
            Ok::<_, SltError>(LakeDb {
                ctx: engine.context().clone(),
                _engine: engine,
            })
        }
    });
    runner.with_column_validator(types_match);
    runner
        .run_file_async(&path)
        .await
        .map_err(|e| format!("{}:\n{}", path.display(), e.display(true)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_files() {
    let dir = repo_root().join("tests/sql");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "slt"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .slt files in {}", dir.display());
    let results = futures::future::join_all(files.iter().cloned().map(run_file)).await;
    let failures: Vec<String> = results.into_iter().filter_map(Result::err).collect();
    assert!(
        failures.is_empty(),
        "{} of {} files failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n\n")
    );
}

#[test]
fn floats_render_like_datafusion_slt() {
    assert_eq!(float_text(60.0), "60");
    assert_eq!(float_text(1.5), "1.5");
    assert_eq!(float_text(1.0 / 3.0), "0.333333333333");
    assert_eq!(float_text(-0.0), "0");
}
