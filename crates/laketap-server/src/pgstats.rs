//! `pg_catalog.pg_stat_user_tables` with a row per lake table.
//!
//! datafusion-pg-catalog's view is empty. Metabase's sync reads its
//! `n_live_tup` as a table's estimated row count (and DBeaver's and
//! pgAdmin's table statistics read it too). [`PgStatUserTables`] lists, at
//! each scan, the tables (`relkind` 'r' or 'p') the scanning session's
//! pg_class lists, so a user sees the tables it may see, with:
//! - `n_live_tup`: the row count the table's metadata gives without reading
//!   its data (Parquet footers, the Delta log, an ingest table's batches),
//!   as DataFusion's scan of it states; NULL where the format states none
//!   (CSV, NDJSON) or the table cannot be read now. PostgreSQL's is an
//!   estimate too. They are read only when the column is asked for, eight
//!   tables at a time, and not kept: each scan of the view reads them again.
//! - the access counters and total times (`seq_scan`, `n_tup_ins`,
//!   `total_vacuum_time`, …) 0 and the last vacuum and analyze times NULL:
//!   laketap keeps no per-table activity statistics.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Int32Array, Int64Array, RecordBatch, StringArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Int32Type, Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::stats::Precision;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::{Expr, TableType};
use datafusion::physical_plan::ExecutionPlan;

/// How many tables' row counts are read at once.
const CONCURRENT_COUNTS: usize = 8;

/// See the module documentation.
#[derive(Debug)]
pub struct PgStatUserTables {
    schema: SchemaRef,
}

impl PgStatUserTables {
    /// The view over `inner`'s columns (datafusion-pg-catalog's, which
    /// follow PostgreSQL's), `n_live_tup` nullable.
    pub fn new(inner: &dyn TableProvider) -> Self {
        let fields: Vec<Field> = inner
            .schema()
            .fields()
            .iter()
            .map(|f| {
                let field = f.as_ref().clone();
                if f.name() == "n_live_tup" {
                    field.with_nullable(true)
                } else {
                    field
                }
            })
            .collect();
        PgStatUserTables {
            schema: Arc::new(Schema::new(fields)),
        }
    }
}

/// All rows of a pg_catalog table as the session scans it.
async fn scan_all(state: &dyn Session, table: &str) -> DfResult<Vec<RecordBatch>> {
    let provider = state
        .catalog_list()
        .catalog(laketap_engine::DATABASE)
        .and_then(|c| c.schema("pg_catalog"))
        .ok_or_else(|| DataFusionError::Plan("pg_catalog is not installed".to_string()))?
        .table(table)
        .await?
        .ok_or_else(|| DataFusionError::Plan(format!("pg_catalog.{table} is missing")))?;
    let plan = provider.scan(state, None, &[], None).await?;
    datafusion::physical_plan::collect(plan, state.task_ctx()).await
}

/// The column `name` of `batch` cast to `to`.
fn column(batch: &RecordBatch, name: &str, to: &DataType) -> DfResult<ArrayRef> {
    let index = batch.schema().index_of(name)?;
    Ok(cast(batch.column(index), to)?)
}

/// The row count a scan of `provider` states from metadata, if it does.
async fn row_count(state: &dyn Session, provider: &dyn TableProvider) -> DfResult<Option<i64>> {
    use datafusion::physical_plan::{StatisticsArgs, StatisticsContext};
    let plan = provider.scan(state, None, &[], None).await?;
    let statistics = StatisticsContext::default().compute(plan.as_ref(), &StatisticsArgs::new())?;
    let rows = match statistics.num_rows {
        Precision::Exact(n) | Precision::Inexact(n) => i64::try_from(n).ok(),
        Precision::Absent => None,
    };
    Ok(rows)
}

#[async_trait]
impl TableProvider for PgStatUserTables {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let mut namespaces = HashMap::new();
        for batch in scan_all(state, "pg_namespace").await? {
            let oids = column(&batch, "oid", &DataType::Int32)?;
            let names = column(&batch, "nspname", &DataType::Utf8)?;
            let (oids, names) = (oids.as_primitive::<Int32Type>(), names.as_string::<i32>());
            for i in 0..batch.num_rows() {
                if oids.is_valid(i) && names.is_valid(i) {
                    namespaces.insert(oids.value(i), names.value(i).to_string());
                }
            }
        }
        let mut tables = Vec::new();
        for batch in scan_all(state, "pg_class").await? {
            let oids = column(&batch, "oid", &DataType::Int32)?;
            let names = column(&batch, "relname", &DataType::Utf8)?;
            let spaces = column(&batch, "relnamespace", &DataType::Int32)?;
            let kinds = column(&batch, "relkind", &DataType::Utf8)?;
            let (oids, names) = (oids.as_primitive::<Int32Type>(), names.as_string::<i32>());
            let (spaces, kinds) = (spaces.as_primitive::<Int32Type>(), kinds.as_string::<i32>());
            for i in 0..batch.num_rows() {
                let is_table = matches!(kinds.is_valid(i).then(|| kinds.value(i)), Some("r" | "p"));
                let schema = namespaces.get(&spaces.value(i));
                match schema {
                    Some(schema)
                        if is_table && schema != "pg_catalog" && schema != "information_schema" =>
                    {
                        tables.push((oids.value(i), schema.clone(), names.value(i).to_string()));
                    }
                    _ => {}
                }
            }
        }
        tables.sort_by(|a, b| (&a.1, &a.2).cmp(&(&b.1, &b.2)));
        // The row counts are read only when the column is asked for, a few
        // tables at a time (each may list files and read footers or a
        // Delta log, on object storage too).
        let wanted = self
            .schema
            .index_of("n_live_tup")
            .ok()
            .is_some_and(|column| projection.is_none_or(|columns| columns.contains(&column)));
        let database = state.catalog_list().catalog(laketap_engine::DATABASE);
        let live: Vec<Option<i64>> =
            if wanted {
                use futures::StreamExt;
                let mut counts = Vec::with_capacity(tables.len());
                for (_, schema, name) in &tables {
                    let schema = database.as_ref().and_then(|c| c.schema(schema));
                    let name = name.clone();
                    counts.push(async move {
                        let provider = match schema {
                            Some(s) => s.table(&name).await.ok().flatten(),
                            None => None,
                        };
                        // A table whose files cannot be read now has no
                        // estimate; the others are still listed.
                        match provider {
                            Some(provider) => row_count(state, provider.as_ref())
                                .await
                                .unwrap_or_else(|e| {
                                    tracing::debug!(table = %name, error = %e, "no row estimate");
                                    None
                                }),
                            None => None,
                        }
                    });
                }
                futures::stream::iter(counts)
                    .buffered(CONCURRENT_COUNTS)
                    .collect()
                    .await
            } else {
                vec![None; tables.len()]
            };
        let rows = tables.len();
        let columns = self
            .schema
            .fields()
            .iter()
            .map(|f| -> DfResult<ArrayRef> {
                Ok(match f.name().as_str() {
                    "relid" => Arc::new(Int32Array::from_iter_values(tables.iter().map(|t| t.0))),
                    "schemaname" => Arc::new(StringArray::from_iter_values(
                        tables.iter().map(|t| t.1.as_str()),
                    )),
                    "relname" => Arc::new(StringArray::from_iter_values(
                        tables.iter().map(|t| t.2.as_str()),
                    )),
                    "n_live_tup" => Arc::new(Int64Array::from(live.clone())),
                    // Counters and total times: none kept.
                    _ if !f.is_nullable() => {
                        datafusion::common::ScalarValue::new_zero(f.data_type())?
                            .to_array_of_size(rows)?
                    }
                    _ => datafusion::arrow::array::new_null_array(f.data_type(), rows),
                })
            })
            .collect::<DfResult<Vec<_>>>()?;
        let columns = columns
            .into_iter()
            .zip(self.schema.fields())
            .map(|(c, f)| cast(&c, f.data_type()).map_err(DataFusionError::from))
            .collect::<DfResult<Vec<_>>>()?;
        let batch = RecordBatch::try_new(self.schema.clone(), columns)?;
        datafusion::datasource::memory::MemorySourceConfig::try_new_exec(
            &[vec![batch]],
            self.schema.clone(),
            projection.cloned(),
        )
        .map(|exec| exec as Arc<dyn ExecutionPlan>)
    }
}
