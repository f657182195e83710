//! Rows in, Arrow out: NDJSON request bodies and `COPY … FROM STDIN` text
//! and CSV, checked against the table's schema. Every error names where:
//! the line (NDJSON, COPY) and the column.
//!
//! NDJSON: one JSON object per line; blank lines are skipped. Nested objects
//! are flattened by joining keys with `_`: `{"user": {"id": 1}}` fills column
//! `user_id`. A key that names no column is refused, as is a value of the
//! wrong JSON type: integer columns take integers, floating-point columns
//! numbers, text columns strings, booleans `true`/`false`, and dates and
//! timestamps take strings (`2026-11-29`, `2026-11-29T10:15:00Z`,
//! `2026-11-29 10:15:00.123456`; a zone is converted to UTC). A missing key or
//! `null` is NULL, refused for a NOT NULL column.
//!
//! Every way in: a Date32 column `event_date` left NULL is derived from
//! `event_time` (its UTC date), and one given must agree with it.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, Date32Array, new_null_array};
use datafusion::arrow::compute::CastOptions;
use datafusion::arrow::datatypes::{DataType, Schema, SchemaRef, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::ScalarValue;
use serde_json::Value;

use crate::{Error, Result};

/// The partition column derived from `event_time` when a row leaves it out.
pub const EVENT_DATE: &str = "event_date";
/// The column `event_date` is derived from.
pub const EVENT_TIME: &str = "event_time";

fn bad(line: usize, column: Option<&str>, message: impl Into<String>) -> Error {
    Error::BadInput {
        line: Some(line),
        column: column.map(str::to_string),
        message: message.into(),
    }
}

/// Parses an NDJSON body into one batch of `schema`.
pub fn ndjson(schema: &SchemaRef, body: &[u8]) -> Result<RecordBatch> {
    let text = std::str::from_utf8(body).map_err(|e| {
        let line = body[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1;
        bad(line, None, "the body is not UTF-8")
    })?;
    let index: HashMap<&str, usize> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| (f.name().as_str(), i))
        .collect();
    let mut columns: Vec<Vec<ScalarValue>> = vec![Vec::new(); schema.fields().len()];
    let mut lines = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line_no = n + 1;
        if line.trim().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(line).map_err(|e| {
            bad(
                line_no,
                None,
                format!("malformed JSON at character {}: {e}", e.column()),
            )
        })?;
        let Value::Object(object) = value else {
            return Err(bad(line_no, None, "expected a JSON object"));
        };
        let mut row: Vec<Option<&Value>> = vec![None; schema.fields().len()];
        let mut flat = Vec::new();
        flatten("", &object, &mut flat);
        for (key, value) in flat {
            let Some(&i) = index.get(key.as_str()) else {
                return Err(bad(
                    line_no,
                    Some(&key),
                    format!(
                        "no such column (the table has: {})",
                        schema
                            .fields()
                            .iter()
                            .map(|f| f.name().as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            };
            row[i] = Some(value);
        }
        for (i, field) in schema.fields().iter().enumerate() {
            let scalar = json_scalar(row[i], field.data_type())
                .map_err(|why| bad(line_no, Some(field.name()), why))?;
            columns[i].push(scalar);
        }
        lines.push(line_no);
    }
    if lines.is_empty() {
        return Err(Error::BadInput {
            line: None,
            column: None,
            message: "the body holds no rows".to_string(),
        });
    }
    let batch = complete(build(schema, columns)?, Some(&lines))?;
    enforce(batch, schema, Some(&lines))
}

fn flatten<'a>(
    prefix: &str,
    object: &'a serde_json::Map<String, Value>,
    out: &mut Vec<(String, &'a Value)>,
) {
    for (key, value) in object {
        let name = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}_{key}")
        };
        match value {
            Value::Object(inner) => flatten(&name, inner, out),
            other => out.push((name, other)),
        }
    }
}

fn type_name(t: &DataType) -> String {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "text".to_string(),
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => {
            "an integer".to_string()
        }
        DataType::Float32 | DataType::Float64 => "a number".to_string(),
        DataType::Boolean => "true or false".to_string(),
        DataType::Date32 => "a date (\"YYYY-MM-DD\")".to_string(),
        DataType::Timestamp(_, _) => {
            "a timestamp (\"YYYY-MM-DD HH:MM:SS[.ffffff][Z]\")".to_string()
        }
        other => other.to_string(),
    }
}

fn json_scalar(value: Option<&Value>, t: &DataType) -> std::result::Result<ScalarValue, String> {
    let expected = || format!("expected {}", type_name(t));
    let got = |v: &Value| {
        let shown = v.to_string();
        let shown = if shown.len() > 60 {
            format!("{}…", &shown[..shown.floor_char_boundary(60)])
        } else {
            shown
        };
        format!("{}, got {shown}", expected())
    };
    let scalar = match value {
        None | Some(Value::Null) => return ScalarValue::try_from(t).map_err(|e| e.to_string()),
        Some(v @ Value::Number(n)) => match t {
            DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64 => match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => ScalarValue::Int64(Some(i)),
                (None, Some(u)) => ScalarValue::UInt64(Some(u)),
                _ => return Err(got(v)),
            },
            DataType::Float32 | DataType::Float64 | DataType::Decimal128(_, _) => {
                match n.as_f64() {
                    Some(f) => ScalarValue::Float64(Some(f)),
                    None => return Err(got(v)),
                }
            }
            _ => return Err(got(v)),
        },
        Some(Value::Bool(b)) if *t == DataType::Boolean => ScalarValue::Boolean(Some(*b)),
        Some(Value::String(s))
            if matches!(
                t,
                DataType::Utf8
                    | DataType::LargeUtf8
                    | DataType::Utf8View
                    | DataType::Date32
                    | DataType::Date64
                    | DataType::Timestamp(_, _)
                    | DataType::Decimal128(_, _)
            ) =>
        {
            return text_scalar(s, t);
        }
        Some(v) => return Err(got(v)),
    };
    cast(scalar, t).map_err(|_| {
        let shown = value.map(Value::to_string).unwrap_or_default();
        format!("{shown} does not fit {t}")
    })
}

fn cast(scalar: ScalarValue, t: &DataType) -> std::result::Result<ScalarValue, String> {
    scalar
        .cast_to_with_options(
            t,
            &CastOptions {
                safe: false,
                ..CastOptions::default()
            },
        )
        .map_err(|e| e.to_string())
}

/// A value given as text (a JSON string, a COPY field) as a value of `t`.
pub fn text_scalar(s: &str, t: &DataType) -> std::result::Result<ScalarValue, String> {
    let refused = || format!("expected {}, got {s:?}", type_name(t));
    match t {
        DataType::Utf8 => Ok(ScalarValue::Utf8(Some(s.to_string()))),
        DataType::LargeUtf8 => Ok(ScalarValue::LargeUtf8(Some(s.to_string()))),
        DataType::Utf8View => Ok(ScalarValue::Utf8View(Some(s.to_string()))),
        DataType::Boolean => match s.trim().to_ascii_lowercase().as_str() {
            "t" | "true" | "yes" | "on" | "1" => Ok(ScalarValue::Boolean(Some(true))),
            "f" | "false" | "no" | "off" | "0" => Ok(ScalarValue::Boolean(Some(false))),
            _ => Err(refused()),
        },
        DataType::Timestamp(unit, tz) => {
            let micros = parse_timestamp_micros(s.trim()).ok_or_else(refused)?;
            let v = Some(micros);
            let scalar = ScalarValue::TimestampMicrosecond(v, tz.clone());
            if *unit == TimeUnit::Microsecond {
                Ok(scalar)
            } else {
                cast(scalar, t).map_err(|_| refused())
            }
        }
        DataType::Date32 => {
            let d = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| refused())?;
            Ok(ScalarValue::Date32(Some(days(d))))
        }
        other => cast(ScalarValue::Utf8(Some(s.trim().to_string())), other).map_err(|_| refused()),
    }
}

fn days(d: NaiveDate) -> i32 {
    (d - NaiveDate::default()).num_days() as i32
}

/// Microseconds since the epoch (UTC) of `s`: RFC 3339 with a zone, or a
/// zoneless `YYYY-MM-DD[ T]HH:MM[:SS[.f]]` taken as UTC.
fn parse_timestamp_micros(s: &str) -> Option<i64> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_micros());
    }
    for format in [
        "%Y-%m-%d %H:%M:%S%.f%#z",
        "%Y-%m-%d %H:%M:%S%#z",
        "%Y-%m-%dT%H:%M:%S%.f%#z",
    ] {
        if let Ok(t) = DateTime::parse_from_str(s, format) {
            return Some(t.timestamp_micros());
        }
    }
    for format in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, format) {
            return Some(t.and_utc().timestamp_micros());
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_micros())
}

fn build(schema: &SchemaRef, columns: Vec<Vec<ScalarValue>>) -> Result<RecordBatch> {
    let arrays = columns
        .into_iter()
        .zip(schema.fields())
        .map(|(values, field)| {
            ScalarValue::iter_to_array(values)
                .map_err(|e| Error::Internal(format!("building column {}: {e}", field.name())))
        })
        .collect::<Result<Vec<ArrayRef>>>()?;
    // Built nullable; [`complete`] checks NOT NULL with the row named.
    let loose = Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_nullable(true))
            .collect::<Vec<_>>(),
    ));
    RecordBatch::try_new(loose, arrays).map_err(|e| Error::Internal(format!("building rows: {e}")))
}

/// Where the rows of a batch came from, to name one in an error: the
/// lines of a body or COPY data (`Some`), or rows counted from 1.
pub type Lines<'a> = Option<&'a [usize]>;

fn row_prefix(lines: Lines<'_>, row: usize) -> String {
    match lines {
        Some(_) => String::new(),
        None => format!("row {}: ", row + 1),
    }
}

/// The date of day `d` after 1970-01-01 (negative before it).
pub fn date_of(d: i32) -> NaiveDate {
    NaiveDate::default()
        .checked_add_signed(chrono::TimeDelta::days(i64::from(d)))
        .unwrap_or_default()
}

/// Derives `event_date` where it is NULL and checks it where given.
pub fn complete(batch: RecordBatch, lines: Lines<'_>) -> Result<RecordBatch> {
    let schema = batch.schema();
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    let date_i = schema.index_of(EVENT_DATE).ok();
    let time_i = schema.index_of(EVENT_TIME).ok();
    if let (Some(di), Some(ti)) = (date_i, time_i)
        && schema.field(di).data_type() == &DataType::Date32
        && let DataType::Timestamp(_, _) = schema.field(ti).data_type()
    {
        let micros = datafusion::arrow::compute::cast(
            &columns[ti],
            &DataType::Timestamp(TimeUnit::Microsecond, None),
        )
        .map_err(|e| Error::Internal(format!("reading event_time: {e}")))?;
        let micros =
            micros.as_primitive::<datafusion::arrow::datatypes::TimestampMicrosecondType>();
        let given = columns[di].as_primitive::<datafusion::arrow::datatypes::Date32Type>();
        let mut out = Vec::with_capacity(batch.num_rows());
        for row in 0..batch.num_rows() {
            let derived =
                (!micros.is_null(row)).then(|| micros.value(row).div_euclid(86_400_000_000) as i32);
            let value = if given.is_null(row) {
                derived
            } else {
                let g = given.value(row);
                if let Some(d) = derived
                    && d != g
                {
                    return Err(Error::BadInput {
                        line: lines.map(|l| l[row]),
                        column: Some(EVENT_DATE.to_string()),
                        message: format!(
                            "{}event_date {} is not the UTC date of event_time ({}); leave it out to have it derived",
                            row_prefix(lines, row),
                            date_of(g),
                            date_of(d)
                        ),
                    });
                }
                Some(g)
            };
            out.push(value);
        }
        columns[di] = Arc::new(Date32Array::from(out));
    }
    RecordBatch::try_new(schema, columns)
        .map_err(|e| Error::Internal(format!("building rows: {e}")))
}

/// Checks NOT NULL columns of `target` in `batch` (same column order) and
/// returns the batch with `target`'s schema.
pub fn enforce(batch: RecordBatch, target: &SchemaRef, lines: Lines<'_>) -> Result<RecordBatch> {
    for (i, field) in target.fields().iter().enumerate() {
        let column = batch.column(i);
        if !field.is_nullable() && column.null_count() > 0 {
            let row = (0..column.len()).find(|r| column.is_null(*r)).unwrap_or(0);
            return Err(Error::NotNull {
                line: lines.map(|l| l[row]),
                column: field.name().clone(),
                message: format!(
                    "{}column {} is NOT NULL but no value was given",
                    row_prefix(lines, row),
                    field.name()
                ),
            });
        }
    }
    RecordBatch::try_new(target.clone(), batch.columns().to_vec())
        .map_err(|e| Error::Internal(format!("building rows: {e}")))
}

/// Options of `COPY … FROM STDIN`.
#[derive(Debug, Clone)]
pub struct CopyFormat {
    /// CSV (else PostgreSQL's text format).
    pub csv: bool,
    /// Field separator (tab for text, comma for CSV).
    pub delimiter: char,
    /// The text standing for NULL (`\N` for text, unquoted empty for CSV).
    pub null: String,
    /// The first line is a header (CSV only).
    pub header: bool,
    /// CSV quote character.
    pub quote: char,
    /// CSV escape character (the quote by default).
    pub escape: char,
}

impl CopyFormat {
    /// PostgreSQL's defaults for text (`csv = false`) or CSV.
    pub fn new(csv: bool) -> CopyFormat {
        CopyFormat {
            csv,
            delimiter: if csv { ',' } else { '\t' },
            null: if csv {
                String::new()
            } else {
                "\\N".to_string()
            },
            header: false,
            quote: '"',
            escape: '"',
        }
    }
}

/// One COPY row's fields (None = NULL) and its line number.
type Row = (usize, Vec<Option<String>>);

/// Parses COPY data into a batch of `schema`; `columns` are the indices
/// (into `schema`) the fields fill, in order; the others are NULL.
pub fn copy(
    schema: &SchemaRef,
    columns: &[usize],
    format: &CopyFormat,
    data: &[u8],
) -> Result<RecordBatch> {
    let text = std::str::from_utf8(data).map_err(|e| {
        let line = data[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1;
        bad(line, None, "the data is not UTF-8")
    })?;
    let rows = if format.csv {
        csv_rows(text, format)?
    } else {
        text_rows(text, format)?
    };
    let mut values: Vec<Vec<ScalarValue>> =
        vec![Vec::with_capacity(rows.len()); schema.fields().len()];
    let mut lines = Vec::with_capacity(rows.len());
    for (line, fields) in rows {
        if fields.len() != columns.len() {
            return Err(bad(
                line,
                None,
                format!(
                    "{} fields, expected {} ({})",
                    fields.len(),
                    columns.len(),
                    columns
                        .iter()
                        .map(|i| schema.field(*i).name().as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        let mut filled = vec![None; schema.fields().len()];
        for (field, &i) in fields.into_iter().zip(columns) {
            filled[i] = Some(field);
        }
        for (i, field) in schema.fields().iter().enumerate() {
            let scalar = match filled[i].take().flatten() {
                Some(s) => text_scalar(&s, field.data_type()),
                None => ScalarValue::try_from(field.data_type()).map_err(|e| e.to_string()),
            }
            .map_err(|why| bad(line, Some(field.name()), why))?;
            values[i].push(scalar);
        }
        lines.push(line);
    }
    if lines.is_empty() {
        return Ok(RecordBatch::new_empty(schema.clone()));
    }
    let batch = build(schema, values)?;
    let batch = complete(batch, Some(&lines))?;
    enforce(batch, schema, Some(&lines))
}

fn text_rows(text: &str, format: &CopyFormat) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    let raw_lines: Vec<&str> = text.split('\n').collect();
    let count = raw_lines.len();
    for (n, raw) in raw_lines.into_iter().enumerate() {
        let line = n + 1;
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if raw == "\\." || (raw.is_empty() && n + 1 == count) {
            break;
        }
        rows.push((
            line,
            text_fields(raw, format).map_err(|why| bad(line, None, why))?,
        ));
    }
    Ok(rows)
}

/// Splits a line of PostgreSQL's text format into fields at unescaped
/// delimiters, decoding backslash escapes (octal and hex escapes are bytes:
/// the field must be UTF-8 once decoded). A field written exactly as the
/// NULL string is NULL.
fn text_fields(raw: &str, format: &CopyFormat) -> std::result::Result<Vec<Option<String>>, String> {
    fn finish(
        field: &mut Vec<u8>,
        written: &mut String,
        null: &str,
    ) -> std::result::Result<Option<String>, String> {
        let out = if written == null {
            None
        } else {
            Some(
                String::from_utf8(std::mem::take(field))
                    .map_err(|_| "an escape sequence does not decode to UTF-8".to_string())?,
            )
        };
        field.clear();
        written.clear();
        Ok(out)
    }
    let mut fields = Vec::new();
    let mut field: Vec<u8> = Vec::new();
    let mut written = String::new();
    let mut chars = raw.chars().peekable();
    let mut utf8 = [0u8; 4];
    while let Some(c) = chars.next() {
        if c == format.delimiter {
            fields.push(finish(&mut field, &mut written, &format.null)?);
            continue;
        }
        written.push(c);
        if c != '\\' {
            field.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
            continue;
        }
        let Some(e) = chars.next() else {
            return Err("a backslash ends the line".to_string());
        };
        written.push(e);
        match e {
            't' => field.push(b'\t'),
            'n' => field.push(b'\n'),
            'r' => field.push(b'\r'),
            'b' => field.push(8),
            'f' => field.push(12),
            'v' => field.push(11),
            '0'..='7' => {
                let mut code = e.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match chars.peek().and_then(|c| c.to_digit(8)) {
                        Some(v) => {
                            code = code * 8 + v;
                            if let Some(c) = chars.next() {
                                written.push(c);
                            }
                        }
                        None => break,
                    }
                }
                field.push((code & 0xff) as u8);
            }
            'x' if chars.peek().is_some_and(|c| c.is_ascii_hexdigit()) => {
                let mut code = 0;
                for _ in 0..2 {
                    match chars.peek().and_then(|c| c.to_digit(16)) {
                        Some(v) => {
                            code = code * 16 + v;
                            if let Some(c) = chars.next() {
                                written.push(c);
                            }
                        }
                        None => break,
                    }
                }
                field.push(code as u8);
            }
            // Any other escaped character (the delimiter, a backslash, `x`
            // without digits) stands for itself.
            other => field.extend_from_slice(other.encode_utf8(&mut utf8).as_bytes()),
        }
    }
    fields.push(finish(&mut field, &mut written, &format.null)?);
    Ok(fields)
}

fn csv_rows(text: &str, format: &CopyFormat) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    let mut line = 1usize;
    let mut chars = text.chars().peekable();
    let mut first = true;
    loop {
        if chars.peek().is_none() {
            break;
        }
        let start_line = line;
        let mut fields: Vec<Option<String>> = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let mut in_quotes = false;
        let mut end_of_row = false;
        while !end_of_row {
            match chars.next() {
                None => {
                    if in_quotes {
                        return Err(bad(start_line, None, "a quoted field is never closed"));
                    }
                    end_of_row = true;
                }
                Some(c) if in_quotes => {
                    let next = chars.peek().copied();
                    if c == format.escape
                        && (next == Some(format.quote)
                            || (format.escape != format.quote && next == Some(format.escape)))
                    {
                        chars.next();
                        field.push(next.unwrap_or(c));
                    } else if c == format.quote {
                        in_quotes = false;
                    } else {
                        if c == '\n' {
                            line += 1;
                        }
                        field.push(c);
                    }
                }
                Some(c) if c == format.quote => {
                    in_quotes = true;
                    quoted = true;
                }
                Some(c) if c == format.delimiter => {
                    fields.push(csv_field(std::mem::take(&mut field), quoted, format));
                    quoted = false;
                }
                Some('\r') if chars.peek() == Some(&'\n') => {}
                Some('\n') => {
                    line += 1;
                    end_of_row = true;
                }
                Some(c) => field.push(c),
            }
        }
        if fields.is_empty() && !quoted && field == "\\." {
            break;
        }
        fields.push(csv_field(field, quoted, format));
        if first && format.header {
            first = false;
            continue;
        }
        first = false;
        rows.push((start_line, fields));
    }
    Ok(rows)
}

fn csv_field(field: String, quoted: bool, format: &CopyFormat) -> Option<String> {
    (quoted || field != format.null).then_some(field)
}

/// Casts and reorders `batch` (from INSERT) to `target` by column name;
/// columns `target` has and `batch` lacks are NULL.
pub fn align(batch: &RecordBatch, target: &SchemaRef) -> Result<RecordBatch> {
    let source = batch.schema();
    let mut columns = Vec::with_capacity(target.fields().len());
    for field in target.fields() {
        let column = match source.index_of(field.name()) {
            Ok(i) => {
                let c = batch.column(i);
                if c.data_type() == field.data_type() {
                    c.clone()
                } else {
                    datafusion::arrow::compute::cast_with_options(
                        c,
                        field.data_type(),
                        &CastOptions {
                            safe: false,
                            ..CastOptions::default()
                        },
                    )
                    .map_err(|e| Error::BadInput {
                        line: None,
                        column: Some(field.name().clone()),
                        message: format!("cannot store as {}: {e}", field.data_type()),
                    })?
                }
            }
            Err(_) => new_null_array(field.data_type(), batch.num_rows()),
        };
        columns.push(column);
    }
    let loose = Arc::new(Schema::new(
        target
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_nullable(true))
            .collect::<Vec<_>>(),
    ));
    RecordBatch::try_new(loose, columns).map_err(|e| Error::Internal(format!("aligning rows: {e}")))
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Float64Array, Int64Array, StringArray};
    use datafusion::arrow::datatypes::Field;

    use super::*;

    fn text(line: &str) -> Vec<Option<String>> {
        text_fields(line, &CopyFormat::new(false)).expect("fields")
    }

    #[test]
    fn text_format_escapes_are_bytes_and_escaped_delimiters_do_not_split() {
        assert_eq!(
            text("a\tb\\tc\t\\N\t\\303\\251\t\\x41\\xzz"),
            vec![
                Some("a".into()),
                Some("b\tc".into()),
                None,
                Some("é".into()),
                Some("Axzz".into())
            ]
        );
        assert_eq!(text("x\\\ty"), vec![Some("x\ty".into())]);
        assert_eq!(text("\\\\N"), vec![Some("\\N".into())]);
        assert!(text_fields("\\377", &CopyFormat::new(false)).is_err());
    }

    fn csv(data: &str, header: bool) -> Vec<Row> {
        let mut format = CopyFormat::new(true);
        format.header = header;
        csv_rows(data, &format).expect("rows")
    }

    #[test]
    fn csv_quotes_newlines_nulls_and_the_end_marker() {
        let rows = csv(
            "id,name\n1,\"a,\"\"b\"\"\nc\"\n2,\n3,\"\"\n4,\"\\.\"\n\\.\n5,x\n",
            true,
        );
        let s = |v: &str| Some(v.to_string());
        assert_eq!(
            rows,
            vec![
                (2, vec![s("1"), s("a,\"b\"\nc")]),
                (4, vec![s("2"), None]),
                (5, vec![s("3"), s("")]),
                (6, vec![s("4"), s("\\.")]),
            ]
        );
    }

    fn listen_schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("event_id", DataType::Utf8, false),
            Field::new(
                "event_time",
                DataType::Timestamp(TimeUnit::Microsecond, None),
                false,
            ),
            Field::new("event_date", DataType::Date32, false),
            Field::new("user_id", DataType::Int64, false),
            Field::new("listen_seconds", DataType::Float64, true),
        ]))
    }

    #[test]
    fn ndjson_flattens_checks_types_and_derives_event_date() {
        let schema = listen_schema();
        let batch = ndjson(
            &schema,
            b"{\"event_id\":\"a\",\"event_time\":\"1969-12-31T23:00:00Z\",\"user\":{\"id\":7}}\n\n{\"event_id\":\"b\",\"event_time\":\"2026-11-29 10:00:00.5\",\"user_id\":8,\"listen_seconds\":2}\n",
        )
        .expect("batch");
        assert_eq!(batch.num_rows(), 2);
        let dates = batch
            .column(2)
            .as_primitive::<datafusion::arrow::datatypes::Date32Type>();
        assert_eq!(date_of(dates.value(0)).to_string(), "1969-12-31");
        assert_eq!(date_of(dates.value(1)).to_string(), "2026-11-29");
        let users = batch
            .column(3)
            .as_any()
            .downcast_ref::<Int64Array>()
            .expect("ints");
        assert_eq!(users.values().to_vec(), vec![7, 8]);
        let seconds = batch
            .column(4)
            .as_any()
            .downcast_ref::<Float64Array>()
            .expect("floats");
        assert!(seconds.is_null(0));
        assert_eq!(seconds.value(1), 2.0);
        let ids = batch
            .column(0)
            .as_any()
            .downcast_ref::<StringArray>()
            .expect("text");
        assert_eq!(ids.value(1), "b");

        let err = ndjson(
            &schema,
            b"{\"event_id\":\"a\",\"event_time\":\"2026-11-29\",\"user_id\":1}\n{\"event_id\":\"b\",\"event_time\":\"2026-11-29\",\"user_id\":1.5}\n",
        )
        .expect_err("float into an integer column");
        assert_eq!(
            err.to_string(),
            "line 2, column user_id: expected an integer, got 1.5"
        );
        let err = ndjson(
            &schema,
            b"{\"event_id\":\"a\",\"event_time\":\"2026-11-29\"}\n",
        )
        .expect_err("missing user_id");
        assert!(
            matches!(err, Error::NotNull { line: Some(1), .. }),
            "{err:?}"
        );
    }
}
