//! The batch tables (`users`, `creators`, `shows`, `promotions`) as Parquet directories.
//!
//! Rows are built in chunks of [`CHUNK`] and streamed into an `ArrowWriter`; a new file is
//! started every [`ROWS_PER_FILE`] rows, so memory stays bounded at any scale.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, Int64Builder, RecordBatch, StringBuilder, TimestampMicrosecondBuilder,
};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::WriterProperties;

use crate::Progress;
use crate::error::{Error, Result};
use crate::schema::schema_of;
use crate::world::World;

/// Rows per record batch.
const CHUNK: usize = 64 * 1024;
/// Rows per Parquet file.
const ROWS_PER_FILE: u64 = 2 * 1024 * 1024;

/// Writes one table directory as `part-NNNNN.parquet` files.
struct ParquetDir {
    table: &'static str,
    dir: PathBuf,
    writer: Option<(PathBuf, ArrowWriter<File>)>,
    files: u32,
    rows_in_file: u64,
    rows: u64,
}

impl ParquetDir {
    fn new(table: &'static str, dir: PathBuf) -> Result<Self> {
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("creating directory", &dir, e))?;
        Ok(Self {
            table,
            dir,
            writer: None,
            files: 0,
            rows_in_file: 0,
            rows: 0,
        })
    }

    fn parquet_err(&self, path: &Path, e: datafusion::parquet::errors::ParquetError) -> Error {
        Error::Parquet {
            table: self.table,
            path: path.to_path_buf(),
            source: Box::new(e),
        }
    }

    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if self.writer.is_none() {
            let path = self.dir.join(format!("part-{:05}.parquet", self.files));
            let file = File::create(&path).map_err(|e| Error::io("creating file", &path, e))?;
            let props = WriterProperties::builder()
                .set_compression(Compression::SNAPPY)
                .set_max_row_group_row_count(Some(256 * 1024))
                .build();
            let writer = ArrowWriter::try_new(file, batch.schema(), Some(props))
                .map_err(|e| self.parquet_err(&path, e))?;
            self.writer = Some((path, writer));
            self.files += 1;
            self.rows_in_file = 0;
        }
        if let Some((path, writer)) = &mut self.writer
            && let Err(e) = writer.write(batch)
        {
            let path = path.clone();
            return Err(self.parquet_err(&path, e));
        }
        self.rows_in_file += batch.num_rows() as u64;
        self.rows += batch.num_rows() as u64;
        if self.rows_in_file >= ROWS_PER_FILE {
            self.close_file()?;
        }
        Ok(())
    }

    fn close_file(&mut self) -> Result<()> {
        if let Some((path, writer)) = self.writer.take() {
            writer.close().map_err(|e| self.parquet_err(&path, e))?;
        }
        Ok(())
    }

    /// Closes the last file and returns the number of rows written.
    fn finish(mut self) -> Result<u64> {
        if self.files == 0 {
            // An empty table still gets one file, so readers see its schema.
            let schema = schema_of(self.table).ok_or_else(|| {
                Error::InvalidOptions(format!("no schema for table {}", self.table))
            })?;
            self.write(&RecordBatch::new_empty(schema))?;
        }
        self.close_file()?;
        Ok(self.rows)
    }
}

fn batch(table: &'static str, columns: Vec<ArrayRef>) -> Result<RecordBatch> {
    let schema = schema_of(table)
        .ok_or_else(|| Error::InvalidOptions(format!("no schema for table {table}")))?;
    RecordBatch::try_new(schema, columns).map_err(|e| Error::arrow(table, e))
}

/// Writes `n` rows of `table` in chunks; `build(range)` makes the batch of a chunk.
fn write_table(
    root: &Path,
    table: &'static str,
    n: usize,
    progress: &dyn Progress,
    build: impl Fn(std::ops::Range<usize>) -> Result<RecordBatch>,
) -> Result<(String, u64)> {
    progress.start(table, n as u64);
    let mut dir = ParquetDir::new(table, root.join(table))?;
    for lo in (0..n).step_by(CHUNK) {
        let hi = (lo + CHUNK).min(n);
        dir.write(&build(lo..hi)?)?;
        progress.inc((hi - lo) as u64);
    }
    let rows = dir.finish()?;
    progress.finish();
    tracing::info!(table, rows, "wrote Parquet table");
    Ok((table.to_owned(), rows))
}

/// Writes the four batch tables under `root` (the `amp` directory).
pub(crate) fn write_all(
    w: &World,
    root: &Path,
    progress: &dyn Progress,
) -> Result<Vec<(String, u64)>> {
    let users = write_table(root, "users", w.users.len(), progress, |r| {
        let users = &w.users[r];
        let mut id = Int64Builder::with_capacity(users.len());
        let mut signup = TimestampMicrosecondBuilder::with_capacity(users.len());
        let mut country = StringBuilder::new();
        let mut platform = StringBuilder::new();
        for u in users {
            id.append_value(u.id);
            signup.append_value(u.signup);
            country.append_option(u.country);
            platform.append_value(u.platform);
        }
        let cols: Vec<ArrayRef> = vec![
            Arc::new(id.finish()),
            Arc::new(signup.finish()),
            Arc::new(country.finish()),
            Arc::new(platform.finish()),
        ];
        batch("users", cols)
    })?;
    let creators = write_table(root, "creators", w.creators.len(), progress, |r| {
        let creators = &w.creators[r];
        let mut id = Int64Builder::new();
        let mut name = StringBuilder::new();
        let mut kind = StringBuilder::new();
        let mut joined = TimestampMicrosecondBuilder::new();
        for c in creators {
            id.append_value(c.id);
            name.append_value(&c.name);
            kind.append_value(c.kind);
            joined.append_value(c.joined);
        }
        let cols: Vec<ArrayRef> = vec![
            Arc::new(id.finish()),
            Arc::new(name.finish()),
            Arc::new(kind.finish()),
            Arc::new(joined.finish()),
        ];
        batch("creators", cols)
    })?;
    let shows = write_table(root, "shows", w.shows.len(), progress, |r| {
        let mut id = Int64Builder::new();
        let mut creator = Int64Builder::new();
        let mut title = StringBuilder::new();
        let mut genre = StringBuilder::new();
        let mut start = TimestampMicrosecondBuilder::new();
        let mut end = TimestampMicrosecondBuilder::new();
        for (i, s) in w.shows[r.clone()].iter().enumerate() {
            id.append_value(s.id);
            creator.append_value(w.creator_id(r.start + i));
            title.append_value(&s.title);
            genre.append_option(s.genre);
            start.append_value(s.start);
            end.append_value(s.end);
        }
        let cols: Vec<ArrayRef> = vec![
            Arc::new(id.finish()),
            Arc::new(creator.finish()),
            Arc::new(title.finish()),
            Arc::new(genre.finish()),
            Arc::new(start.finish()),
            Arc::new(end.finish()),
        ];
        batch("shows", cols)
    })?;
    let promotions = write_table(root, "promotions", w.promotions.len(), progress, |r| {
        let mut id = Int64Builder::new();
        let mut name = StringBuilder::new();
        let mut channel = StringBuilder::new();
        let mut target = Int64Builder::new();
        let mut start = TimestampMicrosecondBuilder::new();
        let mut end = TimestampMicrosecondBuilder::new();
        for p in &w.promotions[r] {
            id.append_value(p.id);
            name.append_value(&p.name);
            channel.append_value(p.channel);
            target.append_value(w.shows[p.target].id);
            start.append_value(p.start_at);
            end.append_value(p.end_at);
        }
        let cols: Vec<ArrayRef> = vec![
            Arc::new(id.finish()),
            Arc::new(name.finish()),
            Arc::new(channel.finish()),
            Arc::new(target.finish()),
            Arc::new(start.finish()),
            Arc::new(end.finish()),
        ];
        batch("promotions", cols)
    })?;
    Ok(vec![users, creators, shows, promotions])
}
