//! The streaming tables as Delta tables, partitioned by `event_date`, one commit per day.
//!
//! Batches are streamed into a `RecordBatchWriter` (which splits them by partition and
//! encodes Parquet as it goes) and committed at the end of each generated day, so a table
//! has one version per day plus the version that created it.

use std::path::{Path, PathBuf};

use datafusion::arrow::array::RecordBatch;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::WriterProperties;
use deltalake::DeltaTable;
use deltalake::kernel::StructType;
use deltalake::kernel::engine::arrow_conversion::TryIntoKernel as _;
use deltalake::writer::{DeltaWriter as _, RecordBatchWriter};

use crate::error::{Error, Result};
use crate::schema::{PARTITION_COLUMN, schema_of};

/// Roll a new data file once the current one reaches this size.
const TARGET_FILE_SIZE: u64 = 128 * 1024 * 1024;

/// One Delta table being appended to.
pub(crate) struct DeltaSink {
    name: &'static str,
    path: PathBuf,
    table: DeltaTable,
    writer: RecordBatchWriter,
    pending_rows: u64,
    rows: u64,
}

impl std::fmt::Debug for DeltaSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeltaSink")
            .field("name", &self.name)
            .field("path", &self.path)
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

fn describe(name: &str) -> &'static str {
    match name {
        "listen_events" => "Listening heartbeats: start, heartbeat about every 60 s, stop",
        "interactions" => "Likes, follows, notify-enables, chats, poll votes, call-ins, shares",
        "promotion_events" => "Impressions and clicks of promotions",
        "rec_impressions" => "Recommendations shown, by experiment, variant and slot",
        "rec_engagements" => "Engagements with recommendations, by impression",
        _ => "laketap demo table",
    }
}

impl DeltaSink {
    /// Creates the Delta table `name` in `root/name` (version 0, no data).
    pub(crate) async fn create(root: &Path, name: &'static str) -> Result<Self> {
        let path = root.join(name);
        let err = |action: &str, e| Error::delta(name, &path, action, e);
        std::fs::create_dir_all(&path).map_err(|e| Error::io("creating directory", &path, e))?;
        let location = path.to_str().ok_or_else(|| {
            Error::InvalidOptions(format!("{}: the path is not valid UTF-8", path.display()))
        })?;
        let url =
            deltalake::ensure_table_uri(location).map_err(|e| err("resolving the location", e))?;
        let table = DeltaTable::try_from_url(url)
            .await
            .map_err(|e| err("opening the location", e))?;
        let arrow = schema_of(name)
            .ok_or_else(|| Error::InvalidOptions(format!("no schema for table {name}")))?;
        let schema: StructType = arrow
            .as_ref()
            .try_into_kernel()
            .map_err(|e| Error::arrow(name, e))?;
        let table = table
            .create()
            .with_table_name(name)
            .with_comment(describe(name))
            .with_columns(schema.fields().cloned())
            .with_partition_columns([PARTITION_COLUMN])
            .await
            .map_err(|e| err("creating the table", e))?;
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(256 * 1024))
            .build();
        let writer = RecordBatchWriter::for_table(&table)
            .map_err(|e| err("opening a writer", e))?
            .with_writer_properties(props)
            .with_target_file_size(TARGET_FILE_SIZE);
        Ok(Self {
            name,
            path,
            table,
            writer,
            pending_rows: 0,
            rows: 0,
        })
    }

    /// Streams a batch into the open data files (not yet committed).
    pub(crate) async fn write(&mut self, batch: RecordBatch) -> Result<()> {
        let n = batch.num_rows() as u64;
        if n == 0 {
            return Ok(());
        }
        self.writer
            .write(batch)
            .await
            .map_err(|e| Error::delta(self.name, &self.path, "writing rows", e))?;
        self.pending_rows += n;
        Ok(())
    }

    /// Commits what was written since the last commit, if anything, as a new version.
    pub(crate) async fn commit(&mut self, label: &str) -> Result<()> {
        if self.pending_rows == 0 {
            return Ok(());
        }
        let version = self
            .writer
            .flush_and_commit(&mut self.table)
            .await
            .map_err(|e| Error::delta(self.name, &self.path, format!("committing {label}"), e))?;
        tracing::debug!(
            table = self.name,
            version,
            rows = self.pending_rows,
            label,
            "committed"
        );
        self.rows += self.pending_rows;
        self.pending_rows = 0;
        Ok(())
    }

    /// Rows committed so far.
    pub(crate) fn rows(&self) -> u64 {
        self.rows
    }

    pub(crate) fn name(&self) -> &'static str {
        self.name
    }

    /// The latest committed version.
    pub(crate) fn version(&self) -> Option<u64> {
        self.table.version()
    }
}
