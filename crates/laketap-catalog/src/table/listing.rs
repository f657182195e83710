//! Parquet, CSV and NDJSON folders as DataFusion listing tables, with Hive
//! `key=value/` partition folders discovered as (text) columns. Files are
//! scanned in place with projection, filter and partition pruning.

use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::TableReference;
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::file_format::csv::CsvFormat;
use datafusion::datasource::file_format::json::JsonFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use futures::TryStreamExt;
use url::Url;

use crate::decl::{Format, TableOptions};

pub(super) struct Opened {
    pub provider: Arc<dyn TableProvider>,
    pub partition_columns: Vec<String>,
    pub files: u64,
    pub extension: String,
    pub format: Arc<dyn FileFormat>,
}

/// The table's folder as DataFusion lists it. The listing cache is keyed by
/// table and path: without the table, two buckets holding the same paths
/// would share cached listings (and a bucket whose credentials are refused
/// would be answered from the other's).
fn listing_url(url: &Url, table: &TableReference) -> Result<ListingTableUrl, String> {
    Ok(ListingTableUrl::parse(url.as_str())
        .map_err(|e| e.to_string())?
        .with_table_ref(table.clone()))
}

/// Counts the files of a listing table's folder (through the listing cache).
pub(super) async fn count_files(
    session: &dyn Session,
    url: &Url,
    table: &TableReference,
    extension: &str,
) -> Result<u64, String> {
    let table_url = listing_url(url, table)?;
    let store = session
        .runtime_env()
        .object_store(&table_url)
        .map_err(|e| e.to_string())?;
    table_url
        .list_all_files(session, store.as_ref(), extension)
        .await
        .map_err(|e| e.to_string())?
        .try_fold(0u64, |n, _| async move { Ok(n + 1) })
        .await
        .map_err(|e| e.to_string())
}

/// The first file of the folder whose own metadata cannot be read, and why:
/// a folder-wide error (a schema that cannot be inferred, statistics that
/// cannot be collected) does not always say which object it came from.
pub(super) async fn find_unreadable(
    session: &dyn Session,
    format: &Arc<dyn FileFormat>,
    table_url: &ListingTableUrl,
    extension: &str,
) -> Option<(String, String)> {
    let store = session.runtime_env().object_store(table_url).ok()?;
    let files: Vec<_> = table_url
        .list_all_files(session, store.as_ref(), extension)
        .await
        .ok()?
        .try_collect()
        .await
        .ok()?;
    for meta in files {
        if let Err(e) = format
            .infer_schema(session, &store, std::slice::from_ref(&meta))
            .await
        {
            return Some((meta.location.to_string(), e.to_string()));
        }
    }
    None
}

/// [`find_unreadable`] for a table's folder URL.
pub(super) async fn find_unreadable_in(
    session: &dyn Session,
    format: &Arc<dyn FileFormat>,
    url: &Url,
    table: &TableReference,
    extension: &str,
) -> Option<(String, String)> {
    let table_url = listing_url(url, table).ok()?;
    find_unreadable(session, format, &table_url, extension).await
}

pub(super) async fn open(
    session: &dyn Session,
    format: Format,
    options: &TableOptions,
    url: &Url,
    table: &TableReference,
) -> Result<Opened, String> {
    let (file_format, default_ext): (Arc<dyn FileFormat>, &str) = match format {
        Format::Parquet => (Arc::new(ParquetFormat::default()), ".parquet"),
        Format::Csv => {
            let delimiter = match options.delimiter {
                None => b',',
                Some(c) if c.is_ascii() => c as u8,
                Some(c) => return Err(format!("delimiter `{c}` is not one ASCII character")),
            };
            let csv = CsvFormat::default()
                .with_has_header(options.has_header.unwrap_or(true))
                .with_delimiter(delimiter);
            (Arc::new(csv), ".csv")
        }
        Format::Ndjson => (Arc::new(JsonFormat::default()), ".json"),
        Format::Delta => return Err("a Delta table is not a listing table".to_string()),
    };
    let extension = options
        .file_extension
        .clone()
        .unwrap_or_else(|| default_ext.to_string());
    let table_url = listing_url(url, table)?;
    let files = count_files(session, url, table, &extension).await?;
    if files == 0 {
        return Err(format!(
            "no `*{extension}` files found; write data there or set options.file_extension"
        ));
    }
    let listing = ListingOptions::new(file_format.clone()).with_file_extension(extension.clone());
    let partition_columns = listing
        .infer_partitions(session, &table_url)
        .await
        .map_err(|e| e.to_string())?;
    let listing = listing.with_table_partition_cols(
        partition_columns
            .iter()
            .map(|c| (c.clone(), DataType::Utf8))
            .collect(),
    );
    let schema = match listing.infer_schema(session, &table_url).await {
        Ok(schema) => schema,
        Err(e) => {
            return Err(
                match find_unreadable(
                    session,
                    &listing.format,
                    &table_url,
                    &listing.file_extension,
                )
                .await
                {
                    Some((object, why)) => format!("object {object}: {why}"),
                    None => e.to_string(),
                },
            );
        }
    };
    let config = ListingTableConfig::new(table_url)
        .with_listing_options(listing)
        .with_schema(schema);
    let table = ListingTable::try_new(config).map_err(|e| e.to_string())?;
    Ok(Opened {
        provider: Arc::new(table),
        partition_columns,
        files,
        extension,
        format: file_format,
    })
}
