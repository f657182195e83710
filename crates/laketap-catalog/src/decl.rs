//! Catalog files: one TOML file per schema, declaring lake tables.
//!
//! A file is parsed in two steps so that one bad table does not take the
//! others down: the file's top level first (a TOML syntax error or an unknown
//! top-level key fails the whole file), then each `[tables.<name>]` section on
//! its own (an unknown key or format fails only that table).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};

/// The storage format of a lake table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// A folder of Parquet files (Hive partitions discovered).
    Parquet,
    /// A folder of CSV files (Hive partitions discovered).
    Csv,
    /// A folder of newline-delimited JSON files (Hive partitions discovered).
    Ndjson,
    /// A Delta Lake table.
    Delta,
}

impl Format {
    /// The name used in catalog files and in `laketap.tables`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Parquet => "parquet",
            Format::Csv => "csv",
            Format::Ndjson => "ndjson",
            Format::Delta => "delta",
        }
    }
}

/// Options of a table declaration; each applies to the formats named.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableOptions {
    /// Only files ending with this are read (parquet, csv, ndjson).
    /// Defaults: `.parquet`, `.csv`, `.json`.
    pub file_extension: Option<String>,
    /// CSV: whether the first line is a header (default true).
    pub has_header: Option<bool>,
    /// CSV: the field delimiter, one ASCII character (default `,`).
    pub delimiter: Option<char>,
}

/// One `[tables.<name>]` section of a catalog file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableDecl {
    /// parquet | csv | ndjson | delta.
    pub format: Format,
    /// A path relative to the catalog file, an absolute path, or `s3://bucket/prefix`.
    pub location: String,
    /// Shown by `\d+` and BI tools.
    #[serde(default)]
    pub description: Option<String>,
    /// Column descriptions, by column name.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    /// Format options.
    #[serde(default)]
    pub options: TableOptions,
    /// The recorded columns and types (written by `laketap crawl`). When
    /// present, the data is checked against it and `on_schema_change` says
    /// what happens when they differ.
    #[serde(default)]
    pub schema: Option<Vec<ColumnDecl>>,
    /// What `serve` does when the data's schema differs from `schema`.
    #[serde(default)]
    pub on_schema_change: SchemaChangePolicy,
    /// Refuse writes (INSERT, COPY FROM, HTTP ingest) to this Delta table.
    #[serde(default)]
    pub read_only: bool,
}

/// One recorded column: its name and its Arrow type, written as Arrow
/// prints it (`Int64`, `Utf8`, `Timestamp(µs, "UTC")`, `Date32`, …).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnDecl {
    /// Column name.
    pub name: String,
    /// Arrow data type.
    #[serde(rename = "type")]
    pub data_type: String,
    /// Whether NULLs are allowed (default true).
    #[serde(default = "yes")]
    pub nullable: bool,
}

fn yes() -> bool {
    true
}

/// What happens when a table's data no longer matches its recorded `schema`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SchemaChangePolicy {
    /// Serve the data's schema, whatever changed (the change is logged).
    Update,
    /// Serve new columns; a removed or retyped column stops the change
    /// (a new table is not served, a Delta table keeps its served version).
    #[default]
    AddColumnsOnly,
    /// Any difference stops the change.
    Fail,
}

impl SchemaChangePolicy {
    /// The name used in catalog files.
    pub fn as_str(self) -> &'static str {
        match self {
            SchemaChangePolicy::Update => "update",
            SchemaChangePolicy::AddColumnsOnly => "add_columns_only",
            SchemaChangePolicy::Fail => "fail",
        }
    }
}

/// A parsed catalog file.
#[derive(Debug, Clone)]
pub struct SchemaDecl {
    /// The file it came from.
    pub file: PathBuf,
    /// The schema name (`schema` key, or the file stem).
    pub name: String,
    /// The schema's description.
    pub description: Option<String>,
    /// Valid table declarations, by table name.
    pub tables: BTreeMap<String, TableDecl>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    schema: Option<String>,
    description: Option<String>,
    #[serde(default)]
    tables: BTreeMap<String, toml::Value>,
}

/// Parses the text of a catalog file. A file-level problem is an `Err`; the
/// problems of single tables come back beside the tables that are fine.
pub fn parse_catalog(file: &Path, text: &str) -> Result<(SchemaDecl, Vec<Error>)> {
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let (line, column) = e
            .span()
            .map(|span| line_col(text, span.start))
            .unwrap_or((1, 1));
        Error::Toml {
            file: file.to_path_buf(),
            line,
            column,
            message: e.message().to_string(),
        }
    })?;
    let name = match raw.schema {
        Some(name) => name,
        None => file
            .file_stem()
            .and_then(|s| s.to_str())
            .map(str::to_string)
            .ok_or_else(|| Error::Toml {
                file: file.to_path_buf(),
                line: 1,
                column: 1,
                message: "the file name is not valid UTF-8: set `schema = \"...\"`".to_string(),
            })?,
    };
    let mut tables = BTreeMap::new();
    let mut problems = Vec::new();
    for (table, value) in raw.tables {
        match TableDecl::deserialize(value) {
            Ok(decl) => {
                tables.insert(table, decl);
            }
            Err(e) => problems.push(Error::Declaration {
                file: file.to_path_buf(),
                line: table_line(text, &table),
                table,
                message: e.message().to_string(),
            }),
        }
    }
    Ok((
        SchemaDecl {
            file: file.to_path_buf(),
            name,
            description: raw.description,
            tables,
        },
        problems,
    ))
}

/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |nl| before.len() - nl - 1)
        + 1;
    (line, column)
}

/// The line of a table's `[tables.<name>]` header (or of `<name> = {` inside
/// `[tables]`); 1 when it cannot be found.
fn table_line(text: &str, table: &str) -> usize {
    let headers = [format!("[tables.{table}]"), format!("[tables.\"{table}\"]")];
    text.lines()
        .position(|line| {
            let line = line.trim();
            headers.iter().any(|h| line.starts_with(h.as_str()))
                || line
                    .strip_prefix(table)
                    .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map_or(1, |i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<(SchemaDecl, Vec<Error>)> {
        parse_catalog(Path::new("catalog/amp.toml"), text)
    }

    #[test]
    fn parses_the_design_example() {
        let text = r#"
schema = "amp"
description = "Raw events and catalog data of the app"

[tables.listen_events]
format = "delta"
location = "../lake/amp/listen_events"
description = "Listening heartbeats, appended continuously"
columns = { user_id = "Listener", listen_seconds = "Seconds listened since the previous event" }

[tables.users]
format = "parquet"
location = "../lake/amp/users"
"#;
        let (schema, problems) = parse(text).expect("valid file");
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(schema.name, "amp");
        assert_eq!(
            schema.description.as_deref(),
            Some("Raw events and catalog data of the app")
        );
        assert_eq!(schema.tables.len(), 2);
        let listen = &schema.tables["listen_events"];
        assert_eq!(listen.format, Format::Delta);
        assert_eq!(listen.location, "../lake/amp/listen_events");
        assert_eq!(listen.columns["user_id"], "Listener");
        assert_eq!(schema.tables["users"].format, Format::Parquet);
        assert_eq!(schema.tables["users"].description, None);
    }

    #[test]
    fn schema_defaults_to_the_file_stem() {
        let (schema, _) = parse("[tables.t]\nformat = \"csv\"\nlocation = \"x\"\n").expect("valid");
        assert_eq!(schema.name, "amp");
        assert_eq!(schema.tables["t"].format, Format::Csv);
    }

    #[test]
    fn malformed_toml_names_file_line_and_column() {
        let err = parse("schema = \"amp\"\n[tables.x\nformat = 1\n").expect_err("malformed");
        let msg = err.to_string();
        assert!(msg.starts_with("catalog/amp.toml:2:"), "{msg}");
        assert!(matches!(err, Error::Toml { line: 2, .. }), "{err:?}");
    }

    #[test]
    fn unknown_top_level_key_fails_the_file() {
        let err = parse("schema = \"amp\"\nschemma = \"x\"\n").expect_err("unknown key");
        let msg = err.to_string();
        assert!(msg.contains("catalog/amp.toml:2:"), "{msg}");
        assert!(msg.contains("schemma"), "{msg}");
    }

    #[test]
    fn unknown_table_key_fails_only_that_table() {
        let text = r#"
[tables.good]
format = "parquet"
location = "a"

[tables.bad]
format = "parquet"
locaton = "b"
"#;
        let (schema, problems) = parse(text).expect("file-level fine");
        assert_eq!(schema.tables.keys().collect::<Vec<_>>(), vec!["good"]);
        assert_eq!(problems.len(), 1);
        let msg = problems[0].to_string();
        assert!(msg.starts_with("catalog/amp.toml:6: table `bad`:"), "{msg}");
        assert!(msg.contains("locaton"), "{msg}");
        assert_eq!(problems[0].table(), Some("bad"));
    }

    #[test]
    fn unknown_format_is_named_with_the_choices() {
        let (schema, problems) =
            parse("[tables.t]\nformat = \"orc\"\nlocation = \"x\"\n").expect("file-level fine");
        assert!(schema.tables.is_empty());
        let msg = problems[0].to_string();
        assert!(msg.contains("orc"), "{msg}");
        assert!(msg.contains("parquet") && msg.contains("delta"), "{msg}");
    }

    #[test]
    fn missing_location_is_reported() {
        let (_, problems) = parse("[tables.t]\nformat = \"delta\"\n").expect("file-level fine");
        assert!(
            problems[0].to_string().contains("location"),
            "{}",
            problems[0]
        );
    }

    #[test]
    fn options_are_checked() {
        let (schema, problems) = parse(
            "[tables.t]\nformat = \"csv\"\nlocation = \"x\"\noptions = { has_header = false, delimiter = \";\" }\n",
        )
        .expect("valid");
        assert!(problems.is_empty());
        assert_eq!(schema.tables["t"].options.delimiter, Some(';'));
        assert_eq!(schema.tables["t"].options.has_header, Some(false));
        let (_, problems) =
            parse("[tables.t]\nformat = \"csv\"\nlocation = \"x\"\noptions = { header = false }\n")
                .expect("file-level fine");
        assert!(problems[0].to_string().contains("header"));
    }

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
    }
}
