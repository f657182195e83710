//! `INSERT INTO` a Delta table: DataFusion plans the input (VALUES or a
//! SELECT, cast to the table's columns); the sink collects it, checks it
//! like any other write and appends it through the table's log. The
//! statement answers `INSERT 0 n` once the rows are durable. The session's
//! `laketap.idempotency_key`, when set, keys the write. Inside a transaction
//! block the checked rows wait in the session until COMMIT.

use std::sync::{Arc, Weak};

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::Session;
use datafusion::datasource::sink::{DataSink, DataSinkExec};
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::dml::InsertOp;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan};
use futures::StreamExt;
use laketap_catalog::{InsertHandler, TableInfo};

use crate::{Error, Ingest, convert};

/// Plans INSERTs into the lake's Delta tables through [`Ingest`].
#[derive(Debug)]
pub struct IngestInserts {
    ingest: Weak<Ingest>,
}

impl IngestInserts {
    /// Inserts through `ingest` (held weakly: the lake outlives no one).
    pub fn new(ingest: &Arc<Ingest>) -> Self {
        IngestInserts {
            ingest: Arc::downgrade(ingest),
        }
    }
}

/// The message for a transaction block holding too much.
pub fn transaction_too_large(bytes: usize, limit: usize) -> String {
    format!(
        "the transaction block would hold {} MiB of rows to write at COMMIT; at most {} MiB (max_request_mb): COMMIT more often",
        bytes / (1024 * 1024),
        limit / (1024 * 1024)
    )
}

/// An ingest error as DataFusion carries it (the server reads its SQLSTATE back).
pub fn to_datafusion(e: Error) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

impl InsertHandler for IngestInserts {
    fn insert_into(
        &self,
        table: &TableInfo,
        state: &dyn Session,
        input: Arc<dyn ExecutionPlan>,
        op: InsertOp,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        if op != InsertOp::Append {
            return Err(DataFusionError::NotImplemented(format!(
                "{op} into {}.{}: lake tables take appends only (INSERT INTO … VALUES / SELECT)",
                table.schema, table.name
            )));
        }
        let key = laketap_engine::asof::idempotency_slot(state.config_options());
        let transaction = laketap_engine::asof::transaction(state.config_options());
        let sink = IngestSink {
            transaction,
            ingest: self.ingest.clone(),
            schema: table.schema.clone(),
            table: table.name.clone(),
            input_schema: input.schema(),
            key,
        };
        Ok(Arc::new(DataSinkExec::new(input, Arc::new(sink), None)))
    }
}

#[derive(Debug)]
struct IngestSink {
    /// Set inside a transaction block: the rows wait there for COMMIT.
    transaction: Option<Arc<laketap_engine::asof::TxWrites>>,
    ingest: Weak<Ingest>,
    schema: String,
    table: String,
    input_schema: SchemaRef,
    key: Option<Arc<laketap_engine::asof::KeySlot>>,
}

impl DisplayAs for IngestSink {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IngestSink: {}.{}", self.schema, self.table)
    }
}

#[async_trait]
impl DataSink for IngestSink {
    fn schema(&self) -> &SchemaRef {
        &self.input_schema
    }

    async fn write_all(
        &self,
        mut data: SendableRecordBatchStream,
        _context: &Arc<TaskContext>,
    ) -> DfResult<u64> {
        let ingest = self
            .ingest
            .upgrade()
            .ok_or_else(|| to_datafusion(Error::Stopped))?;
        let target = ingest
            .target(&self.schema, &self.table)
            .await
            .map_err(to_datafusion)?;
        let limit = ingest.config().max_request_bytes;
        let mut batches: Vec<RecordBatch> = Vec::new();
        let mut bytes = 0usize;
        while let Some(batch) = data.next().await {
            let batch = batch?;
            bytes += batch.get_array_memory_size();
            if bytes > limit {
                return Err(to_datafusion(Error::TooLarge(format!(
                    "INSERT into {} of more than {} MiB at once: split it into smaller statements",
                    target.name,
                    limit / (1024 * 1024)
                ))));
            }
            if batch.num_rows() > 0 {
                batches.push(convert::align(&batch, &target.schema).map_err(to_datafusion)?);
            }
        }
        if batches.is_empty() {
            return Ok(0);
        }
        let schema = batches[0].schema();
        let batch = datafusion::arrow::compute::concat_batches(&schema, &batches)?;
        let batch = convert::complete(batch, None).map_err(to_datafusion)?;
        let batch = convert::enforce(batch, &target.schema, None).map_err(to_datafusion)?;
        // The key is the next write's: this one takes it.
        let key = self.key.as_ref().and_then(|slot| slot.take());
        if let Some(transaction) = &self.transaction {
            let rows = batch.num_rows() as u64;
            transaction
                .push(
                    laketap_engine::asof::BufferedWrite {
                        schema: self.schema.clone(),
                        table: self.table.clone(),
                        batch,
                        key,
                    },
                    limit,
                )
                .map_err(|bytes| {
                    to_datafusion(Error::TooLarge(transaction_too_large(bytes, limit)))
                })?;
            return Ok(rows);
        }
        let (ack, _) = ingest
            .append(&self.schema, &self.table, batch, key)
            .await
            .map_err(to_datafusion)?;
        Ok(ack.rows)
    }
}
