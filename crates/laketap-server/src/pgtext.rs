//! PostgreSQL's text output of floats and date/time values, where pgwire's
//! differs.
//!
//! pgwire 0.41 prints a whole float as `8.0` and large ones as `1e20` (Rust's
//! ryu style), and every timestamp and time with six fractional digits
//! (`09:00:00.000000`). PostgreSQL prints `8`, `1e+20` and `09:00:00`, and
//! clients that read text (psql, pgjdbc's getString, psycopg2, COPY
//! consumers) show or compare those strings. Binary results are not affected.
//!
//! - [`TextFixes`] rewrites the text columns of encoded DataRows, for results
//!   datafusion-postgres encoded.
//! - [`float8`], [`float4`] and [`trim_fraction`] are the formats themselves,
//!   also used by laketap's own `COPY … TO STDOUT`.

use std::collections::HashMap;

use bytes::{BufMut, BytesMut};
use pgwire::api::Type;
use pgwire::api::results::{FieldFormat, FieldInfo};
use pgwire::messages::data::DataRow;

/// Where laketap keeps the session's extra_float_digits.
const EXTRA_FLOAT_DIGITS: &str = "laketap.extra_float_digits";
/// Where pgwire reads it when it encodes a float.
const PGWIRE_EXTRA_FLOAT_DIGITS: &str = "extra_float_digits";

/// Records the session's extra_float_digits. pgwire's own setting is kept at
/// 1 or more, so that the float text it encodes is the exact shortest form:
/// below 1 it rounds (to the wrong number of digits), and the rounding is
/// done again, PostgreSQL's way, by [`TextFixes`] from the exact text.
pub fn set_extra_float_digits(metadata: &mut HashMap<String, String>, value: &str) {
    let digits = value.trim().parse::<i32>().unwrap_or(1);
    metadata.insert(EXTRA_FLOAT_DIGITS.to_string(), digits.to_string());
    metadata.insert(
        PGWIRE_EXTRA_FLOAT_DIGITS.to_string(),
        digits.max(1).to_string(),
    );
}

/// The session's extra_float_digits (PostgreSQL's default: 1).
pub fn extra_float_digits(metadata: &HashMap<String, String>) -> i32 {
    metadata
        .get(EXTRA_FLOAT_DIGITS)
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

/// PostgreSQL's output of a float8 (`float8out`): the shortest exact digits
/// when `extra_float_digits` > 0 (the default, 1), else `15 +
/// extra_float_digits` significant digits; `Infinity`, `-Infinity`, `NaN`.
pub fn float8(value: f64, extra_float_digits: i32) -> String {
    float(value, extra_float_digits, 15, format!("{value:e}"))
}

/// PostgreSQL's output of a float4 (`float4out`): as [`float8`] with 6
/// significant digits as the base.
pub fn float4(value: f32, extra_float_digits: i32) -> String {
    float(
        f64::from(value),
        extra_float_digits,
        6,
        format!("{value:e}"),
    )
}

/// `shortest` is Rust's shortest round-trip scientific form of the value in
/// its own width (`1.5e-7`, `8e0`).
fn float(value: f64, extra: i32, base_digits: i32, shortest: String) -> String {
    if value.is_nan() {
        return "NaN".to_string();
    }
    if value.is_infinite() {
        return if value > 0.0 { "Infinity" } else { "-Infinity" }.to_string();
    }
    if extra > 0 {
        // PostgreSQL's shortest output (src/common/d2s.c, f2s.c) is fixed
        // point for decimal exponents in [-4, base_digits) and exponential
        // otherwise.
        let (digits, exp) = split_scientific(&shortest);
        return place(&digits, exp, value.is_sign_negative(), base_digits);
    }
    // snprintf("%.*g", base_digits + extra, value)
    let precision = (base_digits + extra).max(1);
    let rounded = format!("{:.*e}", (precision - 1) as usize, value);
    let (digits, exp) = split_scientific(&rounded);
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    place(digits, exp, value.is_sign_negative(), precision)
}

/// The significant digits (no sign, no point) and the decimal exponent of
/// the first one, from Rust's `{:e}` output (`-1.25e-3` → ("125", -3)).
fn split_scientific(text: &str) -> (String, i32) {
    let text = text.trim_start_matches('-');
    let (mantissa, exp) = text.split_once('e').unwrap_or((text, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    (digits, exp.parse().unwrap_or(0))
}

/// `digits` × 10^(exp - len + 1) in fixed notation when `-4 <= exp <
/// fixed_below`, else as `d.ddde±XX` (at least two exponent digits).
fn place(digits: &str, exp: i32, negative: bool, fixed_below: i32) -> String {
    let mut out = String::with_capacity(digits.len() + 8);
    if negative {
        out.push('-');
    }
    if digits == "0" {
        out.push('0');
        return out;
    }
    let len = digits.len() as i32;
    if (-4..fixed_below).contains(&exp) {
        if exp < 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-exp - 1) as usize));
            out.push_str(digits);
        } else if exp + 1 >= len {
            out.push_str(digits);
            out.extend(std::iter::repeat_n('0', (exp + 1 - len) as usize));
        } else {
            let (int, frac) = digits.split_at((exp + 1) as usize);
            out.push_str(int);
            out.push('.');
            out.push_str(frac);
        }
    } else {
        let (first, rest) = digits.split_at(1);
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exp.unsigned_abs()));
    }
    out
}

/// A date/time text with its six-digit fraction (`.120000`) trimmed as
/// PostgreSQL prints it (`.12`, or nothing when zero).
pub fn trim_fraction(text: &str) -> std::borrow::Cow<'_, str> {
    let bytes = text.as_bytes();
    let Some(dot) = (0..bytes.len()).find(|&i| {
        bytes[i] == b'.'
            && bytes.len() >= i + 7
            && bytes[i + 1..i + 7].iter().all(u8::is_ascii_digit)
            && bytes.get(i + 7).is_none_or(|b| !b.is_ascii_digit())
    }) else {
        return text.into();
    };
    let fraction = &text[dot + 1..dot + 7];
    let kept = fraction.trim_end_matches('0');
    if kept.len() == fraction.len() {
        return text.into();
    }
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..dot]);
    if !kept.is_empty() {
        out.push('.');
        out.push_str(kept);
    }
    out.push_str(&text[dot + 7..]);
    out.into()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Float4,
    Float8,
    DateTime,
    /// Binary jsonb: its version byte before the text (laketap's jsonb is
    /// text, [`crate::pgtypes`]).
    BinaryJsonb,
    /// Binary uuid: 16 bytes, not the text.
    BinaryUuid,
    /// A binary array: an empty one has no dimensions in PostgreSQL
    /// (`array_send` of `{}`), where postgres-types writes one of length 0.
    BinaryArray,
    /// Date, timestamp, timestamptz and interval text in a DateStyle or
    /// IntervalStyle other than pgwire's ISO and postgres ([`crate::pgstyle`]).
    Date,
    Timestamp,
    TimestampTz,
    Interval,
}

/// What a session's text output depends on.
#[derive(Debug, Clone, Default)]
pub struct TextSettings {
    pub extra_float_digits: i32,
    pub styles: crate::pgstyle::Styles,
    /// The session's TimeZone (a timestamptz's zone abbreviation).
    pub zone: String,
}

impl TextSettings {
    /// The settings kept in a client's metadata.
    pub fn of(metadata: &HashMap<String, String>) -> TextSettings {
        TextSettings {
            extra_float_digits: extra_float_digits(metadata),
            styles: crate::pgstyle::Styles::of_metadata(metadata),
            zone: metadata
                .get("timezone")
                .cloned()
                .unwrap_or_else(|| "UTC".to_string()),
        }
    }
}

/// The text columns of a result whose values need PostgreSQL's format.
#[derive(Debug, Clone)]
pub struct TextFixes {
    columns: Vec<(usize, Kind)>,
    settings: TextSettings,
    /// The session's TimeZone, read once for the query's rows.
    named_zone: Option<chrono_tz::Tz>,
}

impl TextFixes {
    /// Fixes for rows described by `fields`; `None` when no text column needs one.
    pub fn for_fields(fields: &[FieldInfo], settings: &TextSettings) -> Option<TextFixes> {
        use crate::pgstyle::{DateOut, IntervalOut};
        let dates = settings.styles.date != DateOut::Iso;
        let intervals = settings.styles.interval != IntervalOut::Postgres;
        let columns: Vec<(usize, Kind)> = fields
            .iter()
            .enumerate()
            .filter_map(|(i, f)| {
                let text = f.format() == FieldFormat::Text;
                let kind = match *f.datatype() {
                    Type::FLOAT4 if text => Kind::Float4,
                    Type::FLOAT8 if text => Kind::Float8,
                    Type::DATE if text && dates => Kind::Date,
                    Type::TIMESTAMP if text && dates => Kind::Timestamp,
                    Type::TIMESTAMPTZ if text && dates => Kind::TimestampTz,
                    Type::INTERVAL if text && intervals => Kind::Interval,
                    Type::TIMESTAMP | Type::TIMESTAMPTZ | Type::TIME | Type::TIMETZ if text => {
                        Kind::DateTime
                    }
                    Type::JSONB if !text => Kind::BinaryJsonb,
                    Type::UUID if !text => Kind::BinaryUuid,
                    // Array types are named `_int4`, `_text`, … in pg_type.
                    ref t if !text && t.name().starts_with('_') => Kind::BinaryArray,
                    _ => return None,
                };
                Some((i, kind))
            })
            .collect();
        (!columns.is_empty()).then(|| TextFixes {
            columns,
            settings: settings.clone(),
            named_zone: crate::pgstyle::named_zone(&settings.zone),
        })
    }

    /// `row` with its fixed columns rewritten; a row that does not parse as
    /// expected is returned as it came.
    pub fn apply(&self, row: DataRow) -> DataRow {
        self.rewrite(&row).unwrap_or(row)
    }

    fn rewrite(&self, row: &DataRow) -> Option<DataRow> {
        let mut next_fix = self.columns.iter().peekable();
        map_fields(row, |column, value| {
            let kind = match next_fix.peek() {
                Some((i, kind)) if *i == column => {
                    next_fix.next();
                    *kind
                }
                _ => return None,
            };
            self.fix(kind, value)
        })
    }

    fn fix(&self, kind: Kind, value: &[u8]) -> Option<Vec<u8>> {
        use crate::pgstyle;
        if kind == Kind::BinaryArray {
            return empty_array(value);
        }
        let text = std::str::from_utf8(value).ok()?;
        let digits = self.settings.extra_float_digits;
        let styles = self.settings.styles;
        match kind {
            Kind::Float8 => parse_float(text).map(|v| float8(v, digits).into()),
            Kind::Float4 => parse_float(text).map(|v| float4(v as f32, digits).into()),
            Kind::Date => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .map(|d| pgstyle::date(d, styles).into()),
            Kind::Timestamp => chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
                .ok()
                .map(|t| pgstyle::timestamp(t, None, styles).into()),
            Kind::TimestampTz => pgstyle::parse_iso_timestamptz(text).map(|(local, offset)| {
                let zone = pgstyle::Zone::of(self.named_zone.as_ref(), local, offset);
                pgstyle::timestamp(local, Some(&zone), styles).into()
            }),
            Kind::Interval => crate::interval::parse(text)
                .ok()
                .map(|i| pgstyle::interval(i.months, i.days, i.micros, styles.interval).into()),
            Kind::DateTime => match trim_fraction(text) {
                std::borrow::Cow::Borrowed(_) => None,
                std::borrow::Cow::Owned(s) => Some(s.into()),
            },
            Kind::BinaryJsonb => {
                let mut out = Vec::with_capacity(value.len() + 1);
                out.push(1);
                out.extend_from_slice(value);
                Some(out)
            }
            Kind::BinaryUuid => crate::pgtypes::uuid_bytes(text).map(|b| b.to_vec()),
            Kind::BinaryArray => empty_array(value),
        }
    }
}

/// A binary array of one dimension of length 0 as PostgreSQL sends an
/// empty array: no dimensions (ndim 0, no nulls, the element type).
fn empty_array(value: &[u8]) -> Option<Vec<u8>> {
    let int = |at: usize| value.get(at..at + 4).map(|b| [b[0], b[1], b[2], b[3]]);
    let empty = value.len() == 20
        && int(0) == Some(1i32.to_be_bytes())
        && int(12) == Some(0i32.to_be_bytes());
    empty.then(|| {
        let mut out = vec![0u8; 8];
        out.extend_from_slice(&value[8..12]);
        out
    })
}

/// `row` with each non-NULL field that `change` gives new bytes for
/// (called with the field's index and bytes) replaced by them; `None` when
/// the row does not parse as a DataRow's fields.
pub fn map_fields<B: AsRef<[u8]>>(
    row: &DataRow,
    mut change: impl FnMut(usize, &[u8]) -> Option<B>,
) -> Option<DataRow> {
    let data = &row.data[..];
    let mut out = BytesMut::with_capacity(data.len() + 8);
    let mut at = 0usize;
    for column in 0..usize::try_from(row.field_count).ok()? {
        let len = i32::from_be_bytes(data.get(at..at + 4)?.try_into().ok()?);
        at += 4;
        if len < 0 {
            out.put_i32(len);
            continue;
        }
        let value = data.get(at..at + len as usize)?;
        at += len as usize;
        let changed = change(column, value);
        let value = changed.as_ref().map_or(value, AsRef::as_ref);
        out.put_i32(i32::try_from(value.len()).ok()?);
        out.put_slice(value);
    }
    (at == data.len()).then(|| DataRow::new(out, row.field_count))
}

/// The text of a one-column row (`None` for NULL or a row that is not one
/// text value).
pub fn only_value(row: &DataRow) -> Option<String> {
    let data = &row.data[..];
    let len = usize::try_from(i32::from_be_bytes(data.get(..4)?.try_into().ok()?)).ok()?;
    let value = data.get(4..4 + len)?;
    String::from_utf8(value.to_vec()).ok()
}

/// pgwire's float text, including its `inf`/`-inf`.
fn parse_float(text: &str) -> Option<f64> {
    match text {
        "inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        _ => text.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float8_as_postgresql_prints_it() {
        // Expected values from PostgreSQL 15 (`SELECT x::float8`, extra_float_digits 1).
        let cases: &[(f64, &str)] = &[
            (8.0, "8"),
            (-8.0, "-8"),
            (0.0, "0"),
            (-0.0, "-0"),
            (1.5, "1.5"),
            (0.1, "0.1"),
            (1e20, "1e+20"),
            (1.5e-7, "1.5e-07"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (123456789012345.0, "123456789012345"),
            (1e15, "1e+15"),
            (std::f64::consts::PI, "3.141592653589793"),
            (1.2345e100, "1.2345e+100"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
            (f64::NAN, "NaN"),
        ];
        for (value, expected) in cases {
            assert_eq!(float8(*value, 1), *expected, "{value:e}");
        }
    }

    #[test]
    fn float8_with_fewer_digits_is_printf_g() {
        // extra_float_digits 0: %.15g; -3: %.12g
        assert_eq!(float8(std::f64::consts::PI, 0), "3.14159265358979");
        assert_eq!(float8(std::f64::consts::PI, -3), "3.14159265359");
        assert_eq!(float8(0.1 + 0.2, 0), "0.3");
        assert_eq!(float8(1e20, 0), "1e+20");
        assert_eq!(float8(8.0, 0), "8");
        assert_eq!(float8(123456.0, -10), "1.2346e+05");
    }

    #[test]
    fn float4_as_postgresql_prints_it() {
        let cases: &[(f32, &str)] = &[
            (8.0, "8"),
            (1.5, "1.5"),
            (0.1, "0.1"),
            (100000.0, "100000"),
            (1000000.0, "1e+06"),
            (3.4028235e38, "3.4028235e+38"),
            (1.0e-5, "1e-05"),
        ];
        for (value, expected) in cases {
            assert_eq!(float4(*value, 1), *expected, "{value:e}");
        }
        assert_eq!(float4(std::f32::consts::PI, 0), "3.14159");
    }

    #[test]
    fn pgwire_always_encodes_exact_floats() {
        let mut metadata = HashMap::new();
        assert_eq!(extra_float_digits(&metadata), 1);
        set_extra_float_digits(&mut metadata, "-15");
        assert_eq!(extra_float_digits(&metadata), -15);
        assert_eq!(metadata["extra_float_digits"], "1");
        set_extra_float_digits(&mut metadata, "3");
        assert_eq!(extra_float_digits(&metadata), 3);
        assert_eq!(metadata["extra_float_digits"], "3");
        // PostgreSQL 15 at extra_float_digits -15 (%.0g is %.1g).
        assert_eq!(float8(0.1, -15), "0.1");
        assert_eq!(float8(6.5, -15), "6");
        assert_eq!(float4(0.25, -15), "0.2");
    }

    #[test]
    fn fractions_are_trimmed() {
        assert_eq!(
            trim_fraction("2026-01-05 09:00:00.000000"),
            "2026-01-05 09:00:00"
        );
        assert_eq!(
            trim_fraction("2026-01-05 09:00:00.120000+00"),
            "2026-01-05 09:00:00.12+00"
        );
        assert_eq!(trim_fraction("09:00:00.123456"), "09:00:00.123456");
        assert_eq!(
            trim_fraction("Mon Jan  5 09:00:00.500000 2026"),
            "Mon Jan  5 09:00:00.5 2026"
        );
        assert_eq!(trim_fraction("2026-01-05"), "2026-01-05");
    }

    fn row(values: &[Option<&str>]) -> DataRow {
        let mut data = BytesMut::new();
        for v in values {
            match v {
                Some(v) => {
                    data.put_i32(v.len() as i32);
                    data.put_slice(v.as_bytes());
                }
                None => data.put_i32(-1),
            }
        }
        DataRow::new(data, values.len() as i16)
    }

    #[test]
    fn rows_are_rewritten_in_their_text_columns_only() {
        let fields = vec![
            FieldInfo::new("a".into(), None, None, Type::FLOAT8, FieldFormat::Text),
            FieldInfo::new("b".into(), None, None, Type::TEXT, FieldFormat::Text),
            FieldInfo::new("c".into(), None, None, Type::TIMESTAMP, FieldFormat::Text),
            FieldInfo::new("d".into(), None, None, Type::FLOAT8, FieldFormat::Binary),
            FieldInfo::new("e".into(), None, None, Type::FLOAT4, FieldFormat::Text),
        ];
        let fixes = TextFixes::for_fields(&fields, &digits(1)).expect("fixes");
        let fixed = fixes.apply(row(&[
            Some("8.0"),
            Some("8.0"),
            Some("2026-01-05 09:00:00.000000"),
            Some("12345678"),
            None,
        ]));
        assert_eq!(
            fixed,
            row(&[
                Some("8"),
                Some("8.0"),
                Some("2026-01-05 09:00:00"),
                Some("12345678"),
                None
            ])
        );
        let only_text = [FieldInfo::new(
            "b".into(),
            None,
            None,
            Type::TEXT,
            FieldFormat::Text,
        )];
        assert!(TextFixes::for_fields(&only_text, &digits(1)).is_none());
    }

    fn digits(extra_float_digits: i32) -> TextSettings {
        TextSettings {
            extra_float_digits,
            ..TextSettings::default()
        }
    }

    #[test]
    fn dates_timestamps_and_intervals_get_the_sessions_styles() {
        let fields = [
            Type::DATE,
            Type::TIMESTAMP,
            Type::TIMESTAMPTZ,
            Type::INTERVAL,
        ]
        .into_iter()
        .map(|t| FieldInfo::new("x".into(), None, None, t, FieldFormat::Text))
        .collect::<Vec<_>>();
        let encoded = row(&[
            Some("2026-03-01"),
            Some("2026-03-01 10:00:00.500000"),
            Some("2026-03-01 11:00:00.000000+01"),
            Some("1 day 02:00:00"),
        ]);
        // ISO and postgres: pgwire's text stands, but for the trimmed fraction.
        let plain = TextFixes::for_fields(&fields, &digits(1)).expect("fixes");
        assert_eq!(
            plain.apply(encoded.clone()),
            row(&[
                Some("2026-03-01"),
                Some("2026-03-01 10:00:00.5"),
                Some("2026-03-01 11:00:00+01"),
                Some("1 day 02:00:00"),
            ])
        );
        let mut metadata = HashMap::new();
        metadata.insert(
            crate::pgstyle::METADATA_DATESTYLE.to_string(),
            "Postgres, DMY".to_string(),
        );
        metadata.insert(
            crate::pgstyle::METADATA_INTERVALSTYLE.to_string(),
            "iso_8601".to_string(),
        );
        metadata.insert("timezone".to_string(), "Europe/Paris".to_string());
        let styled = TextFixes::for_fields(&fields, &TextSettings::of(&metadata)).expect("fixes");
        assert_eq!(
            styled.apply(encoded),
            row(&[
                Some("01-03-2026"),
                Some("Sun 01 Mar 10:00:00.5 2026"),
                Some("Sun 01 Mar 11:00:00 2026 CET"),
                Some("P1DT2H"),
            ])
        );
    }

    #[test]
    fn an_empty_binary_array_has_no_dimensions() {
        let fields = [FieldInfo::new(
            "a".into(),
            None,
            None,
            Type::INT4_ARRAY,
            FieldFormat::Binary,
        )];
        let fixes = TextFixes::for_fields(&fields, &digits(1)).expect("fixes");
        let mut empty = BytesMut::new();
        for word in [1u32, 0, 23, 0, 1] {
            empty.put_u32(word);
        }
        let mut one = BytesMut::new();
        for word in [1u32, 0, 23, 1, 1, 4, 7] {
            one.put_u32(word);
        }
        let row_of = |bytes: &BytesMut| {
            let mut data = BytesMut::new();
            data.put_i32(bytes.len() as i32);
            data.put_slice(bytes);
            DataRow::new(data, 1)
        };
        // PostgreSQL's array_send of '{}'::int4[]: ndim 0, no nulls, int4.
        let mut expected = BytesMut::new();
        for word in [0u32, 0, 23] {
            expected.put_u32(word);
        }
        assert_eq!(fixes.apply(row_of(&empty)), row_of(&expected));
        assert_eq!(fixes.apply(row_of(&one)), row_of(&one));
    }

    #[test]
    fn binary_jsonb_and_uuid_get_their_wire_form() {
        let fields = vec![
            FieldInfo::new("j".into(), None, None, Type::JSONB, FieldFormat::Binary),
            FieldInfo::new("u".into(), None, None, Type::UUID, FieldFormat::Binary),
            FieldInfo::new("t".into(), None, None, Type::JSONB, FieldFormat::Text),
        ];
        let fixes = TextFixes::for_fields(&fields, &digits(1)).expect("fixes");
        let uuid = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11";
        let fixed = fixes.apply(row(&[Some("{}"), Some(uuid), Some("{}")]));
        let mut expected = BytesMut::new();
        expected.put_i32(3);
        expected.put_slice(b"\x01{}");
        expected.put_i32(16);
        expected.put_slice(&crate::pgtypes::uuid_bytes(uuid).expect("uuid"));
        expected.put_i32(2);
        expected.put_slice(b"{}");
        assert_eq!(fixed, DataRow::new(expected, 3));
    }
}
