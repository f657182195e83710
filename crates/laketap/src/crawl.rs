//! `laketap crawl LOCATION`: find the tables under a local or S3 location,
//! infer their format, columns, types and partitions, and print catalog
//! declarations, write them into a catalog file (`--write DIR`, keeping what
//! people wrote there), or compare them with the catalog (`--check`, exit
//! status 1 on drift).
//!
//! A table is a folder with a `_delta_log/` (Delta), or a folder of
//! `*.parquet`, `*.csv` or `*.json`/`*.ndjson`/`*.jsonl` files, with Hive
//! `key=value/` partition folders below it. Folders and files whose names
//! start with `.` or `_` are skipped (Spark's `_SUCCESS`, `_temporary/`).

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::Args;
use datafusion::datasource::listing::ListingTableUrl;
use datafusion::prelude::SessionContext;
use futures::TryStreamExt;
use laketap_catalog::drift::{self, Drift};
use laketap_catalog::{
    ColumnDecl, Format, LakeTable, Location, StorageConfig, TableDecl, parse_catalog,
};

use crate::config::FileConfig;

/// Flags of `laketap crawl`.
#[derive(Args, Debug)]
pub struct CrawlArgs {
    /// A folder, or s3://bucket/prefix.
    location: String,
    /// The schema the tables belong to (default: the location's last folder name).
    #[arg(long)]
    schema: Option<String>,
    /// The catalog folder `--check` compares with [default: catalog].
    #[arg(long, env = "LAKETAP_CATALOG")]
    catalog: Option<PathBuf>,
    /// Write or update DIR/<schema>.toml (descriptions, options and policies
    /// written by hand are kept).
    #[arg(long, value_name = "DIR", conflicts_with = "check")]
    write: Option<PathBuf>,
    /// Compare the data with the catalog; exit with status 1 on drift.
    #[arg(long)]
    check: bool,
    /// Server config file, for `[[storage]]` (S3 endpoints and credentials).
    #[arg(long, env = "LAKETAP_CONFIG")]
    config: Option<PathBuf>,
}

/// A table found under the location.
#[derive(Debug, Clone)]
struct Found {
    name: String,
    format: Format,
    /// Absolute path or s3:// URL.
    location: String,
    /// A non-default file extension (`.ndjson`, `.jsonl`).
    extension: Option<String>,
    columns: Vec<ColumnDecl>,
    partition_columns: Vec<String>,
}

/// What `crawl` ended with: success, or drift found by `--check`.
pub enum Outcome {
    /// Nothing to report.
    Clean,
    /// `--check` found drift.
    Drift,
}

pub async fn run(args: CrawlArgs) -> Result<Outcome, String> {
    let storage = match &args.config {
        Some(path) => FileConfig::load(path)?.storage,
        None => Vec::new(),
    };
    let root = root_url(&args.location)?;
    let schema = match &args.schema {
        Some(s) => s.clone(),
        None => sanitize(last_component(root.as_str()).unwrap_or("lake")),
    };
    let found = crawl(&root, &storage).await?;
    if args.check {
        let dir = args.catalog.unwrap_or_else(|| PathBuf::from("catalog"));
        return check(&dir, &schema, &root, &found);
    }
    match &args.write {
        Some(dir) => {
            write(dir, &schema, &root, &found)?;
            Ok(Outcome::Clean)
        }
        None => {
            let text = render(&schema, &found, None)?;
            print!("{text}");
            Ok(Outcome::Clean)
        }
    }
}

/// The location as a folder URL (file:// or s3://), ending with a slash.
fn root_url(location: &str) -> Result<url::Url, String> {
    let resolved = Location::resolve(Path::new("./laketap-crawl"), location)
        .map_err(|looked| format!("{location}: no such folder ({looked})"))?;
    resolved.url()
}

fn last_component(url: &str) -> Option<&str> {
    url.trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
}

/// A table or schema name from a folder name: lower case, `[a-z0-9_]`.
fn sanitize(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, "t_");
    }
    out
}

fn format_of(file_name: &str) -> Option<(Format, Option<&'static str>)> {
    let lower = file_name.to_ascii_lowercase();
    if lower.ends_with(".parquet") {
        Some((Format::Parquet, None))
    } else if lower.ends_with(".csv") {
        Some((Format::Csv, None))
    } else if lower.ends_with(".json") {
        Some((Format::Ndjson, None))
    } else if lower.ends_with(".ndjson") {
        Some((Format::Ndjson, Some(".ndjson")))
    } else if lower.ends_with(".jsonl") {
        Some((Format::Ndjson, Some(".jsonl")))
    } else {
        None
    }
}

/// Walks the location and opens every table found (reading metadata only).
async fn crawl(root: &url::Url, storage: &[StorageConfig]) -> Result<Vec<Found>, String> {
    let ctx = SessionContext::new();
    let state = ctx.state();
    let root_location = Location::resolve(Path::new("./laketap-crawl"), root.as_str())
        .map_err(|looked| format!("{root}: cannot be read ({looked})"))?;
    root_location.register_store(ctx.runtime_env().as_ref(), storage)?;
    let table_url = ListingTableUrl::parse(root.as_str()).map_err(|e| e.to_string())?;
    let store = ctx
        .runtime_env()
        .object_store(&table_url)
        .map_err(|e| e.to_string())?;
    let prefix = table_url.prefix().clone();
    let objects: Vec<_> = store
        .list(Some(&prefix))
        .try_collect()
        .await
        .map_err(|e| format!("cannot list {root}: {e}"))?;

    // Relative paths as folder components.
    let mut delta_roots: BTreeMap<Vec<String>, ()> = BTreeMap::new();
    let mut files: Vec<Vec<String>> = Vec::new();
    for meta in &objects {
        let Some(parts) = meta.location.prefix_match(&prefix) else {
            continue;
        };
        let parts: Vec<String> = parts.map(|p| p.as_ref().to_string()).collect();
        if let Some(at) = parts.iter().position(|p| p == "_delta_log") {
            delta_roots.insert(parts[..at].to_vec(), ());
            continue;
        }
        files.push(parts);
    }
    let mut groups: BTreeMap<Vec<String>, Vec<(Format, Option<&'static str>)>> = BTreeMap::new();
    let mut skipped = 0usize;
    for parts in files {
        let under_delta = delta_roots
            .keys()
            .any(|d| parts.len() > d.len() && parts[..d.len()] == d[..]);
        if under_delta {
            continue;
        }
        let Some((file_name, dirs)) = parts.split_last() else {
            continue;
        };
        if parts
            .iter()
            .any(|p| p.starts_with('.') || p.starts_with('_'))
        {
            skipped += 1;
            continue;
        }
        let Some(format) = format_of(file_name) else {
            skipped += 1;
            continue;
        };
        let mut table_dir = dirs.to_vec();
        while table_dir.last().is_some_and(|d| d.contains('=')) {
            table_dir.pop();
        }
        groups.entry(table_dir).or_default().push(format);
    }
    if skipped > 0 {
        tracing::info!(
            files = skipped,
            "files that are not table data were skipped"
        );
    }

    let mut candidates: Vec<(Vec<String>, Format, Option<&'static str>)> = delta_roots
        .into_keys()
        .map(|dir| (dir, Format::Delta, None))
        .collect();
    for (dir, formats) in groups {
        let first = formats[0];
        if formats.iter().any(|f| *f != first) {
            eprintln!(
                "warning: {}: mixes file formats; not a table (give each format its own folder)",
                join(root, &dir)
            );
            continue;
        }
        candidates.push((dir, first.0, first.1));
    }
    let bar = progress(candidates.len() as u64);
    let mut found: Vec<Found> = Vec::new();
    for (dir, format, extension) in candidates {
        let location = join(root, &dir);
        let name = sanitize(
            dir.last()
                .map(String::as_str)
                .or_else(|| last_component(root.as_str()))
                .unwrap_or("table"),
        );
        bar.set_message(name.clone());
        let decl = TableDecl {
            format,
            location: location.clone(),
            description: None,
            columns: BTreeMap::new(),
            options: laketap_catalog::decl::TableOptions {
                file_extension: extension.map(str::to_string),
                ..Default::default()
            },
            schema: None,
            on_schema_change: Default::default(),
            read_only: false,
        };
        let resolved = Location::resolve(Path::new("./laketap-crawl"), &location)
            .map_err(|looked| format!("{location}: cannot be read ({looked})"))?;
        match LakeTable::open(
            &state,
            PathBuf::from("crawl"),
            "crawl",
            &name,
            &decl,
            resolved,
            storage,
        )
        .await
        {
            Ok(table) => {
                let schema = datafusion::catalog::TableProvider::schema(&table);
                if found.iter().any(|f| f.name == name) {
                    eprintln!(
                        "warning: {location}: another table is already named `{name}`; skipped (crawl its folder with its own --schema)"
                    );
                } else {
                    found.push(Found {
                        name,
                        format,
                        location,
                        extension: extension.map(str::to_string),
                        columns: drift::record(&schema),
                        partition_columns: table.info().partition_columns.clone(),
                    });
                }
            }
            Err(e) => eprintln!("warning: {location}: {e}; skipped"),
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

fn progress(len: u64) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{spinner} crawling {pos}/{len} tables {msg}")
    {
        bar.set_style(style);
    }
    bar
}

/// `root` + folder components, as a location string (a path for file:// URLs).
fn join(root: &url::Url, dir: &[String]) -> String {
    let mut url = root.clone();
    for part in dir {
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push(part).push("");
        }
    }
    if url.scheme() == "file"
        && let Ok(path) = url.to_file_path()
    {
        return path.display().to_string().trim_end_matches('/').to_string();
    }
    url.as_str().trim_end_matches('/').to_string()
}

/// `location` as the catalog file at `file` should write it: relative to
/// the file's folder when both are local, else as is.
fn location_for(file: &Path, location: &str) -> String {
    let target = Path::new(location);
    if !target.is_absolute() {
        return location.to_string();
    }
    let base = match file.parent().map(std::fs::canonicalize) {
        Some(Ok(base)) => base,
        _ => return location.to_string(),
    };
    let base_parts: Vec<_> = base.components().collect();
    let target_parts: Vec<_> = target.components().collect();
    let common = base_parts
        .iter()
        .zip(&target_parts)
        .take_while(|(a, b)| a == b)
        .count();
    if common < 2 {
        return location.to_string();
    }
    let mut relative = PathBuf::new();
    for _ in common..base_parts.len() {
        relative.push("..");
    }
    for part in &target_parts[common..] {
        relative.push(part.as_os_str());
    }
    relative.display().to_string()
}

/// Whether a declared location (as resolved against `file`) lies under `root`.
fn resolved_location(file: &Path, location: &str) -> Option<String> {
    let resolved = Location::resolve(file, location).ok()?;
    let url = resolved.url().ok()?;
    Some(url.as_str().trim_end_matches('/').to_string())
}

fn found_url(found: &Found) -> String {
    root_url(&found.location)
        .map(|u| u.as_str().trim_end_matches('/').to_string())
        .unwrap_or_else(|_| found.location.clone())
}

/// The catalog text for `found`, updating `existing` (a catalog file's text)
/// when given: hand-written keys are kept, crawled ones replaced, tables under
/// the location that are gone removed.
fn render(
    schema: &str,
    found: &[Found],
    existing: Option<(&Path, &str)>,
) -> Result<String, String> {
    use toml_edit::{Array, DocumentMut, InlineTable, Item, Table, value};
    let (mut doc, file) = match existing {
        Some((file, text)) => (
            text.parse::<DocumentMut>()
                .map_err(|e| format!("{}: {e}", file.display()))?,
            Some(file),
        ),
        None => {
            let mut doc = DocumentMut::new();
            doc["schema"] = value(schema);
            (doc, None)
        }
    };
    if !doc.contains_key("tables") {
        let mut tables = Table::new();
        tables.set_implicit(true);
        doc["tables"] = Item::Table(tables);
    }
    let tables = doc["tables"]
        .as_table_mut()
        .ok_or_else(|| "`tables` is not a table".to_string())?;
    for f in found {
        if !tables.contains_key(&f.name) {
            tables.insert(&f.name, Item::Table(Table::new()));
        }
        let table = tables[&f.name]
            .as_table_mut()
            .ok_or_else(|| format!("`tables.{}` is not a table", f.name))?;
        table["format"] = value(f.format.as_str());
        table["location"] = value(match file {
            Some(file) => location_for(file, &f.location),
            None => f.location.clone(),
        });
        if let Some(ext) = &f.extension {
            if !table.contains_key("options") {
                table["options"] = value(InlineTable::new());
            }
            if let Some(options) = table["options"].as_inline_table_mut() {
                options.insert("file_extension", ext.as_str().into());
            }
        }
        let mut columns = Array::new();
        for c in &f.columns {
            let mut column = InlineTable::new();
            column.insert("name", c.name.as_str().into());
            column.insert("type", c.data_type.as_str().into());
            if !c.nullable {
                column.insert("nullable", false.into());
            }
            columns.push(column);
        }
        for item in columns.iter_mut() {
            item.decor_mut().set_prefix("\n  ");
        }
        columns.set_trailing("\n");
        columns.set_trailing_comma(true);
        table["schema"] = value(columns);
    }
    Ok(doc.to_string())
}

/// `--write DIR`: creates or updates DIR/<schema>.toml.
fn write(dir: &Path, schema: &str, root: &url::Url, found: &[Found]) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let file = dir.join(format!("{schema}.toml"));
    let existing = match std::fs::read_to_string(&file) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("{}: {e}", file.display())),
    };
    let before = match &existing {
        Some(text) => Some(parse_catalog(&file, text).map_err(|e| e.to_string())?.0),
        None => None,
    };
    let mut text = match &existing {
        Some(text) => render(schema, found, Some((&file, text)))?,
        None => {
            // Written where the file will live, so locations can be relative.
            let mut placeholder = format!("schema = \"{schema}\"\n");
            placeholder = render(schema, found, Some((&file, &placeholder)))?;
            placeholder
        }
    };
    // Tables that were crawled from this location and are gone.
    let mut gone = Vec::new();
    if let Some(before) = &before {
        let root_text = root.as_str().trim_end_matches('/').to_string();
        for (name, decl) in &before.tables {
            let under = resolved_location(&file, &decl.location)
                .is_some_and(|l| l == root_text || l.starts_with(&format!("{root_text}/")));
            if under && !found.iter().any(|f| &f.name == name) {
                gone.push(name.clone());
            }
        }
        if !gone.is_empty() {
            let mut doc = text
                .parse::<toml_edit::DocumentMut>()
                .map_err(|e| e.to_string())?;
            if let Some(tables) = doc["tables"].as_table_mut() {
                for name in &gone {
                    tables.remove(name);
                }
            }
            text = doc.to_string();
        }
    }
    let tmp = file.with_extension("toml.tmp");
    std::fs::write(&tmp, &text).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &file).map_err(|e| format!("{}: {e}", file.display()))?;
    for f in found {
        let previous = before.as_ref().and_then(|b| b.tables.get(&f.name));
        let line = match previous.and_then(|p| p.schema.as_ref()) {
            None if previous.is_none() => format!(
                "added ({}, {} columns{})",
                f.format.as_str(),
                f.columns.len(),
                partitioned(&f.partition_columns)
            ),
            None => format!("schema recorded ({} columns)", f.columns.len()),
            Some(recorded) => {
                let drifts = drift_of(recorded, f)?;
                if drifts.is_empty() {
                    "unchanged".to_string()
                } else {
                    format!("updated: {}", drift::describe(&drifts))
                }
            }
        };
        println!("{schema}.{}: {line}", f.name);
    }
    for name in gone {
        println!("{schema}.{name}: removed (its data is gone)");
    }
    println!("wrote {}", file.display());
    Ok(())
}

fn partitioned(columns: &[String]) -> String {
    if columns.is_empty() {
        String::new()
    } else {
        format!(", partitioned by {}", columns.join(", "))
    }
}

fn drift_of(recorded: &[ColumnDecl], found: &Found) -> Result<Vec<Drift>, String> {
    let recorded = drift::parse_recorded(recorded)?;
    let fields: Vec<datafusion::arrow::datatypes::Field> = drift::parse_recorded(&found.columns)?
        .into_iter()
        .map(|(name, t)| datafusion::arrow::datatypes::Field::new(name, t, true))
        .collect();
    Ok(drift::compare(
        &recorded,
        &datafusion::arrow::datatypes::Schema::new(fields),
    ))
}

/// `--check`: drift between the data and DIR/<schema>.toml.
fn check(dir: &Path, schema: &str, root: &url::Url, found: &[Found]) -> Result<Outcome, String> {
    let file = dir.join(format!("{schema}.toml"));
    let text = std::fs::read_to_string(&file).map_err(|e| {
        format!(
            "{}: {e}; write it first with `laketap crawl {} --schema {schema} --write {}`",
            file.display(),
            root,
            dir.display()
        )
    })?;
    let (decl, problems) = parse_catalog(&file, &text).map_err(|e| e.to_string())?;
    for p in &problems {
        eprintln!("warning: {p}");
    }
    let mut drifted = false;
    let mut report = |line: String| {
        drifted = true;
        println!("{line}");
    };
    for f in found {
        match decl.tables.get(&f.name) {
            None => report(format!(
                "{schema}.{}: table appeared at {} ({}, {} columns)",
                f.name,
                f.location,
                f.format.as_str(),
                f.columns.len()
            )),
            Some(declared) => {
                if declared.format != f.format {
                    report(format!(
                        "{schema}.{}: format changed from {} to {}",
                        f.name,
                        declared.format.as_str(),
                        f.format.as_str()
                    ));
                }
                let declared_at = resolved_location(&file, &declared.location);
                if declared_at.as_deref() != Some(found_url(f).as_str()) {
                    report(format!(
                        "{schema}.{}: declared at {}, found at {}",
                        f.name, declared.location, f.location
                    ));
                }
                match &declared.schema {
                    None => println!(
                        "{schema}.{}: no recorded schema to compare with (record one with --write)",
                        f.name
                    ),
                    Some(recorded) => {
                        for d in drift_of(recorded, f)? {
                            report(format!("{schema}.{}: {d}", f.name));
                        }
                    }
                }
            }
        }
    }
    let root_text = root.as_str().trim_end_matches('/').to_string();
    for (name, declared) in &decl.tables {
        if found.iter().any(|f| &f.name == name) {
            continue;
        }
        let under = resolved_location(&file, &declared.location)
            .is_some_and(|l| l == root_text || l.starts_with(&format!("{root_text}/")));
        let missing = Location::resolve(&file, &declared.location).is_err();
        if under || missing {
            report(format!(
                "{schema}.{name}: table vanished (declared at {})",
                declared.location
            ));
        }
    }
    if drifted {
        println!("drift found against {}", file.display());
        Ok(Outcome::Drift)
    } else {
        println!("no drift against {}", file.display());
        Ok(Outcome::Clean)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sanitized() {
        assert_eq!(sanitize("Listen-Events"), "listen_events");
        assert_eq!(sanitize("2026"), "t_2026");
    }

    #[test]
    fn locations_are_written_relative_to_the_catalog_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("catalog")).expect("mkdir");
        let base = std::fs::canonicalize(dir.path()).expect("canon");
        let file = base.join("catalog/amp.toml");
        let target = base.join("lake/amp/users");
        assert_eq!(
            location_for(&file, target.to_str().expect("utf8")),
            "../lake/amp/users"
        );
        assert_eq!(location_for(&file, "s3://b/x"), "s3://b/x");
    }
}
