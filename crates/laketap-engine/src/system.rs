//! The `laketap` schema of system views: `tables`, `catalog_errors` and
//! `query_log`. Each is computed when scanned, from the live state.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{
    ArrayRef, Float64Builder, Int64Builder, ListBuilder, RecordBatch, StringBuilder,
    TimestampMicrosecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::catalog::{MemorySchemaProvider, SchemaProvider, Session, TableProvider};
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::{Expr, TableType};
use datafusion::physical_plan::ExecutionPlan;
use laketap_catalog::{CatalogProblem, Lake};

use crate::query_log::QueryLog;

type Rows = Box<dyn Fn() -> DfResult<RecordBatch> + Send + Sync>;

/// A read-only table whose rows are computed at each scan.
pub struct SystemTable {
    schema: SchemaRef,
    rows: Rows,
}

impl SystemTable {
    /// A table of `schema` whose rows `rows` computes at each scan.
    pub fn new(
        schema: SchemaRef,
        rows: impl Fn() -> DfResult<RecordBatch> + Send + Sync + 'static,
    ) -> Self {
        SystemTable {
            schema,
            rows: Box::new(rows),
        }
    }
}

impl fmt::Debug for SystemTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SystemTable")
            .field("schema", &self.schema)
            .finish()
    }
}

#[async_trait]
impl TableProvider for SystemTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let batch = (self.rows)()?;
        Ok(MemorySourceConfig::try_new_exec(
            &[vec![batch]],
            self.schema.clone(),
            projection.cloned(),
        )?)
    }
}

pub(crate) fn ts_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

pub(crate) fn ts_builder(capacity: usize) -> TimestampMicrosecondBuilder {
    TimestampMicrosecondBuilder::with_capacity(capacity).with_timezone("UTC")
}

/// Builds the `laketap` schema.
pub fn schema(
    lake: Arc<Lake>,
    other_problems: crate::ViewProblems,
    log: Arc<QueryLog>,
) -> DfResult<Arc<dyn SchemaProvider>> {
    let schema = MemorySchemaProvider::new();
    schema.register_table("tables".into(), Arc::new(tables(lake.clone())))?;
    schema.register_table(
        "catalog_errors".into(),
        Arc::new(catalog_errors(lake, other_problems)),
    )?;
    schema.register_table("query_log".into(), Arc::new(query_log(log)))?;
    Ok(Arc::new(schema))
}

fn tables(lake: Arc<Lake>) -> SystemTable {
    let schema = Arc::new(Schema::new(vec![
        Field::new("schema_name", DataType::Utf8, false),
        Field::new("table_name", DataType::Utf8, false),
        Field::new("format", DataType::Utf8, false),
        Field::new("location", DataType::Utf8, false),
        Field::new(
            "partition_columns",
            DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
            false,
        ),
        Field::new("version", DataType::Int64, true),
        Field::new("files", DataType::Int64, true),
        Field::new("last_commit_at", ts_type(), true),
        Field::new("freshness_lag_ms", DataType::Int64, true),
        Field::new("last_refresh_at", ts_type(), true),
        Field::new("last_error", DataType::Utf8, true),
        Field::new("schema_drift", DataType::Utf8, true),
    ]));
    let out = schema.clone();
    SystemTable {
        schema,
        rows: Box::new(move || {
            let tables = lake.tables();
            let broken: Vec<(String, String, laketap_catalog::BrokenTable)> = lake
                .schemas()
                .values()
                .flat_map(|s| {
                    s.broken_tables()
                        .into_iter()
                        .map(|(name, b)| (s.name().to_string(), name, b))
                })
                .collect();
            let n = tables.len() + broken.len();
            let mut schema_name = StringBuilder::new();
            let mut table_name = StringBuilder::new();
            let mut format = StringBuilder::new();
            let mut location = StringBuilder::new();
            let mut partitions = ListBuilder::new(StringBuilder::new());
            let mut version = Int64Builder::with_capacity(n);
            let mut files = Int64Builder::with_capacity(n);
            let mut last_commit = ts_builder(n);
            let mut lag = Int64Builder::with_capacity(n);
            let mut last_refresh = ts_builder(n);
            let mut last_error = StringBuilder::new();
            let mut drift = StringBuilder::new();
            for table in tables {
                let info = table.info();
                let status = table.status();
                schema_name.append_value(&info.schema);
                table_name.append_value(&info.name);
                format.append_value(info.format.as_str());
                location.append_value(info.location.to_string());
                for c in &info.partition_columns {
                    partitions.values().append_value(c);
                }
                partitions.append(true);
                version.append_option(status.version);
                files.append_option(status.files.map(|f| f as i64));
                last_commit.append_option(status.last_commit_at.map(|t| t.timestamp_micros()));
                lag.append_option(status.freshness_lag_ms);
                last_refresh.append_option(status.last_refresh_at.map(|t| t.timestamp_micros()));
                last_error.append_option(status.last_error.as_deref());
                drift.append_option(status.schema_drift.as_deref());
            }
            for (schema, name, b) in broken {
                schema_name.append_value(&schema);
                table_name.append_value(&name);
                format.append_value(b.decl.format.as_str());
                location.append_value(&b.decl.location);
                partitions.append(true);
                version.append_null();
                files.append_null();
                last_commit.append_null();
                lag.append_null();
                last_refresh.append_value(b.detected_at.timestamp_micros());
                last_error.append_value(&b.message);
                drift.append_null();
            }
            let columns: Vec<ArrayRef> = vec![
                Arc::new(schema_name.finish()),
                Arc::new(table_name.finish()),
                Arc::new(format.finish()),
                Arc::new(location.finish()),
                Arc::new(partitions.finish()),
                Arc::new(version.finish()),
                Arc::new(files.finish()),
                Arc::new(last_commit.finish()),
                Arc::new(lag.finish()),
                Arc::new(last_refresh.finish()),
                Arc::new(last_error.finish()),
                Arc::new(drift.finish()),
            ];
            Ok(RecordBatch::try_new(out.clone(), columns)?)
        }),
    }
}

fn catalog_errors(lake: Arc<Lake>, other_problems: crate::ViewProblems) -> SystemTable {
    let schema = Arc::new(Schema::new(vec![
        Field::new("file", DataType::Utf8, false),
        Field::new("table_name", DataType::Utf8, true),
        Field::new("message", DataType::Utf8, false),
        Field::new("detected_at", ts_type(), false),
    ]));
    let out = schema.clone();
    SystemTable {
        schema,
        rows: Box::new(move || {
            let mut problems: Vec<CatalogProblem> = lake.problems();
            problems.extend(
                other_problems
                    .read()
                    .unwrap_or_else(|p| p.into_inner())
                    .iter()
                    .cloned(),
            );
            let mut file = StringBuilder::new();
            let mut table = StringBuilder::new();
            let mut message = StringBuilder::new();
            let mut at = ts_builder(problems.len());
            for p in problems {
                file.append_value(&p.file);
                table.append_option(p.table.as_deref());
                message.append_value(&p.message);
                at.append_value(p.detected_at.timestamp_micros());
            }
            let columns: Vec<ArrayRef> = vec![
                Arc::new(file.finish()),
                Arc::new(table.finish()),
                Arc::new(message.finish()),
                Arc::new(at.finish()),
            ];
            Ok(RecordBatch::try_new(out.clone(), columns)?)
        }),
    }
}

fn query_log(log: Arc<QueryLog>) -> SystemTable {
    let schema = Arc::new(Schema::new(vec![
        // bigint, as PostgreSQL clients expect a count or an id (an Arrow
        // UInt64 is described as numeric: it can exceed bigint).
        Field::new("query_id", DataType::Int64, false),
        Field::new("user_name", DataType::Utf8, false),
        Field::new("started_at", ts_type(), false),
        Field::new("duration_ms", DataType::Float64, false),
        Field::new("rows", DataType::Int64, false),
        Field::new("error", DataType::Utf8, true),
        Field::new("sql", DataType::Utf8, false),
    ]));
    let out = schema.clone();
    SystemTable {
        schema,
        rows: Box::new(move || {
            let records = log.snapshot();
            let n = records.len();
            let mut id = Int64Builder::with_capacity(n);
            let mut user = StringBuilder::new();
            let mut started = ts_builder(n);
            let mut duration = Float64Builder::with_capacity(n);
            let mut rows = Int64Builder::with_capacity(n);
            let mut error = StringBuilder::new();
            let mut sql = StringBuilder::new();
            for r in records {
                id.append_value(i64::try_from(r.query_id).unwrap_or(i64::MAX));
                user.append_value(&r.user);
                started.append_value(r.started_at.timestamp_micros());
                duration.append_value(r.duration_ms);
                rows.append_value(i64::try_from(r.rows).unwrap_or(i64::MAX));
                error.append_option(r.error.as_deref());
                sql.append_value(&r.sql);
            }
            let columns: Vec<ArrayRef> = vec![
                Arc::new(id.finish()),
                Arc::new(user.finish()),
                Arc::new(started.finish()),
                Arc::new(duration.finish()),
                Arc::new(rows.finish()),
                Arc::new(error.finish()),
                Arc::new(sql.finish()),
            ];
            Ok(RecordBatch::try_new(out.clone(), columns)?)
        }),
    }
}
