//! `to_char(timestamp | timestamptz | date, template)` with PostgreSQL's
//! template patterns.
//!
//! DataFusion's `to_char` reads a chrono (strftime) format: given
//! PostgreSQL's `'YYYY-MM-DD HH24:MI'`, which Grafana, Metabase and
//! Superset send, it answered the template text itself for every row.
//! [`PgToChar`] reads PostgreSQL's patterns (`formatting.c`'s keywords):
//! `YYYY`, `MM`, `DD`, `HH24`, `HH12`, `MI`, `SS`, `MS`, `US`, `FF1`–`FF6`,
//! `AM`/`PM`, `Month`/`Mon`, `Day`/`Dy` in their three cases, `D`, `ID`,
//! `DDD`, `IDDD`, `W`, `WW`, `IW`, `IYYY`, `Q`, `CC`, `J`, `RM`, `SSSS`,
//! `AD`/`BC`, `TZ`, `OF`, `TZH`, `TZM`, with the `FM` (no padding) and
//! `TH` (ordinal) modifiers, `"quoted text"`, and any other character as
//! itself. A timestamptz is written in the session's TimeZone, as in
//! PostgreSQL.
//!
//! A template with a `%` is a strftime format and goes to DataFusion's
//! `to_char` (PostgreSQL has no `%` pattern, so no PostgreSQL template
//! changes meaning), as do times, intervals and durations.

use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDateTime, Offset, TimeZone, Timelike};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::{ScalarValue, exec_err};
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
};

/// See the module documentation.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PgToChar {
    inner: Arc<ScalarUDF>,
}

impl PgToChar {
    /// PostgreSQL's patterns in front of DataFusion's `to_char` (`inner`).
    pub fn new(inner: Arc<ScalarUDF>) -> Self {
        PgToChar { inner }
    }
}

impl ScalarUDFImpl for PgToChar {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> DfResult<DataType> {
        self.inner.return_type(arg_types)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let (Some(value), Some(template)) = (args.args.first(), args.args.get(1)) else {
            return self.inner.invoke_with_args(args);
        };
        let is_datetime = matches!(
            value.data_type(),
            DataType::Date32 | DataType::Date64 | DataType::Timestamp(_, _)
        );
        let strftime = match template {
            ColumnarValue::Scalar(s) => s.try_as_str().flatten().is_some_and(|t| t.contains('%')),
            ColumnarValue::Array(_) => false,
        };
        if !is_datetime || strftime {
            return self.inner.invoke_with_args(args);
        }
        let rows = args.number_rows;
        let is_scalar = matches!(
            (value, template),
            (ColumnarValue::Scalar(_), ColumnarValue::Scalar(_))
        );
        let values = value.to_array(rows)?;
        // A timestamptz is written in the session's zone (its own if the
        // session has none), read once per batch.
        let zone = match values.data_type() {
            DataType::Timestamp(_, Some(own)) => {
                let name = args
                    .config_options
                    .execution
                    .time_zone
                    .as_deref()
                    .unwrap_or(own);
                let tz: datafusion::arrow::array::timezone::Tz = name.parse()?;
                Some((tz, crate::pgstyle::named_zone(name)))
            }
            _ => None,
        };
        // A constant template is read once; PostgreSQL gives NULL for an
        // empty or NULL one.
        let constant = match template {
            ColumnarValue::Scalar(s) => Some(
                s.try_as_str()
                    .flatten()
                    .filter(|t| !t.is_empty())
                    .map(parse),
            ),
            ColumnarValue::Array(_) => None,
        };
        let templates = match constant {
            Some(_) => None,
            None => Some(datafusion::arrow::compute::cast(
                &template.to_array(rows)?,
                &DataType::Utf8,
            )?),
        };
        let mut out = StringBuilder::with_capacity(values.len(), values.len() * 24);
        let mut parsed: Option<(String, Vec<Item>)> = None;
        for i in 0..values.len() {
            let Some(at) = instant(&values, i, zone.as_ref())? else {
                out.append_null();
                continue;
            };
            let items = match (&constant, &templates) {
                (Some(items), _) => items.as_deref(),
                (None, Some(templates)) => {
                    let templates = templates.as_string::<i32>();
                    if templates.is_null(i) || templates.value(i).is_empty() {
                        None
                    } else {
                        let text = templates.value(i);
                        Some(match &parsed {
                            Some((t, items)) if t == text => items.as_slice(),
                            _ => parsed.insert((text.to_string(), parse(text))).1.as_slice(),
                        })
                    }
                }
                (None, None) => None,
            };
            match items {
                Some(items) => out.append_value(format(items, &at)),
                None => out.append_null(),
            }
        }
        let result: ArrayRef = Arc::new(out.finish());
        Ok(if is_scalar {
            ColumnarValue::Scalar(ScalarValue::try_from_array(&result, 0)?)
        } else {
            ColumnarValue::Array(result)
        })
    }
}

/// A value to write: its wall time and, for a timestamptz, its zone.
struct Instant {
    local: NaiveDateTime,
    /// Seconds east of UTC and the zone's abbreviation there.
    zone: Option<(i32, Option<String>)>,
}

/// The zone a batch's timestamptz values are written in, and its name's
/// zone for abbreviations.
type WrittenZone = (
    datafusion::arrow::array::timezone::Tz,
    Option<chrono_tz::Tz>,
);

/// Row `i` of a date or timestamp array, `None` for NULL; a timestamptz's
/// wall time in `zone`.
fn instant(
    values: &ArrayRef,
    i: usize,
    written: Option<&WrittenZone>,
) -> DfResult<Option<Instant>> {
    use datafusion::arrow::datatypes::{
        Date32Type, Date64Type, TimestampMicrosecondType, TimestampMillisecondType,
        TimestampNanosecondType, TimestampSecondType,
    };
    if values.is_null(i) {
        return Ok(None);
    }
    let midnight = |date: chrono::NaiveDate| date.and_hms_opt(0, 0, 0);
    let (utc, zone) = match values.data_type() {
        DataType::Date32 => {
            let days = values.as_primitive::<Date32Type>().value(i);
            let date = chrono::NaiveDate::from_num_days_from_ce_opt(days.saturating_add(719_163));
            return Ok(date
                .and_then(midnight)
                .map(|local| Instant { local, zone: None }));
        }
        DataType::Date64 => {
            let ms = values.as_primitive::<Date64Type>().value(i);
            let local = DateTime::from_timestamp_millis(ms).map(|d| d.naive_utc());
            return Ok(local.map(|local| Instant { local, zone: None }));
        }
        DataType::Timestamp(unit, zone) => {
            let utc = match unit {
                TimeUnit::Second => DateTime::from_timestamp(
                    values.as_primitive::<TimestampSecondType>().value(i),
                    0,
                ),
                TimeUnit::Millisecond => DateTime::from_timestamp_millis(
                    values.as_primitive::<TimestampMillisecondType>().value(i),
                ),
                TimeUnit::Microsecond => DateTime::from_timestamp_micros(
                    values.as_primitive::<TimestampMicrosecondType>().value(i),
                ),
                TimeUnit::Nanosecond => Some(DateTime::from_timestamp_nanos(
                    values.as_primitive::<TimestampNanosecondType>().value(i),
                )),
            };
            let Some(utc) = utc else {
                return exec_err!("to_char: timestamp out of range");
            };
            (utc.naive_utc(), zone.is_some())
        }
        other => return exec_err!("to_char: {other} is not a date or timestamp"),
    };
    let (true, Some((tz, named))) = (zone, written) else {
        return Ok(Some(Instant {
            local: utc,
            zone: None,
        }));
    };
    let offset = tz.offset_from_utc_datetime(&utc).fix().local_minus_utc();
    let Some(local) = utc.checked_add_signed(chrono::TimeDelta::seconds(i64::from(offset))) else {
        return exec_err!("to_char: timestamp out of range");
    };
    let abbreviation = crate::pgstyle::Zone::of(named.as_ref(), local, offset).abbreviation;
    Ok(Some(Instant {
        local,
        zone: Some((offset, abbreviation)),
    }))
}

/// How a keyword was written: `MONTH`, `Month` or `month`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    Upper,
    Capital,
    Lower,
}

impl Case {
    fn apply(self, text: &str) -> String {
        match self {
            Case::Upper => text.to_uppercase(),
            Case::Lower => text.to_lowercase(),
            Case::Capital => text.to_string(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    YearComma,
    Year(u8),
    IsoYear(u8),
    Month,
    MonthName,
    MonthAbbr,
    RomanMonth,
    Day,
    DayOfYear,
    DayOfWeek,
    IsoDayOfWeek,
    IsoDayOfYear,
    DayName,
    DayAbbr,
    WeekOfMonth,
    WeekOfYear,
    IsoWeek,
    Quarter,
    Century,
    Julian,
    Hour24,
    Hour12,
    Minute,
    Second,
    Milli,
    Micro,
    Fraction(u8),
    SecondsOfDay,
    Meridiem { dots: bool },
    Era { dots: bool },
    Zone,
    Offset,
    OffsetHour,
    OffsetMinute,
}

/// PostgreSQL's keywords as written in upper case; `true` where a
/// capitalized spelling (`Month`) is a keyword too.
const KEYWORDS: &[(&str, Field, bool)] = &[
    ("Y,YYY", Field::YearComma, false),
    ("A.D.", Field::Era { dots: true }, false),
    ("A.M.", Field::Meridiem { dots: true }, false),
    ("B.C.", Field::Era { dots: true }, false),
    ("P.M.", Field::Meridiem { dots: true }, false),
    ("MONTH", Field::MonthName, true),
    ("SSSSS", Field::SecondsOfDay, false),
    ("HH24", Field::Hour24, false),
    ("HH12", Field::Hour12, false),
    ("IDDD", Field::IsoDayOfYear, false),
    ("IYYY", Field::IsoYear(4), false),
    ("SSSS", Field::SecondsOfDay, false),
    ("YYYY", Field::Year(4), false),
    ("DAY", Field::DayName, true),
    ("DDD", Field::DayOfYear, false),
    ("FF1", Field::Fraction(1), false),
    ("FF2", Field::Fraction(2), false),
    ("FF3", Field::Fraction(3), false),
    ("FF4", Field::Fraction(4), false),
    ("FF5", Field::Fraction(5), false),
    ("FF6", Field::Fraction(6), false),
    ("IYY", Field::IsoYear(3), false),
    ("MON", Field::MonthAbbr, true),
    ("TZH", Field::OffsetHour, false),
    ("TZM", Field::OffsetMinute, false),
    ("YYY", Field::Year(3), false),
    ("AD", Field::Era { dots: false }, false),
    ("AM", Field::Meridiem { dots: false }, false),
    ("BC", Field::Era { dots: false }, false),
    ("CC", Field::Century, false),
    ("DD", Field::Day, false),
    ("DY", Field::DayAbbr, true),
    ("HH", Field::Hour12, false),
    ("ID", Field::IsoDayOfWeek, false),
    ("IW", Field::IsoWeek, false),
    ("IY", Field::IsoYear(2), false),
    ("MI", Field::Minute, false),
    ("MM", Field::Month, false),
    ("MS", Field::Milli, false),
    ("OF", Field::Offset, false),
    ("PM", Field::Meridiem { dots: false }, false),
    ("RM", Field::RomanMonth, false),
    ("SS", Field::Second, false),
    ("TZ", Field::Zone, false),
    ("US", Field::Micro, false),
    ("WW", Field::WeekOfYear, false),
    ("YY", Field::Year(2), false),
    ("D", Field::DayOfWeek, false),
    ("I", Field::IsoYear(1), false),
    ("J", Field::Julian, false),
    ("Q", Field::Quarter, false),
    ("W", Field::WeekOfMonth, false),
    ("Y", Field::Year(1), false),
];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Text(String),
    Field {
        field: Field,
        case: Case,
        /// `FM`: no padding.
        fill: bool,
        /// `TH` / `th`: an ordinal suffix.
        ordinal: Option<Case>,
    },
}

/// The keyword `text` starts with, and how it is written.
fn keyword(text: &str) -> Option<(usize, Field, Case)> {
    KEYWORDS.iter().find_map(|(word, field, capital)| {
        let candidate = text.get(..word.len())?;
        if candidate == *word {
            Some((word.len(), *field, Case::Upper))
        } else if candidate == word.to_lowercase() {
            Some((word.len(), *field, Case::Lower))
        } else if *capital && candidate == capitalized(word) {
            Some((word.len(), *field, Case::Capital))
        } else {
            None
        }
    })
}

fn capitalized(word: &str) -> String {
    let lower = word.to_lowercase();
    let mut chars = lower.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// A template read into literal text and fields.
fn parse(template: &str) -> Vec<Item> {
    let mut items = Vec::new();
    let mut text = String::new();
    let mut rest = template;
    while !rest.is_empty() {
        if let Some(quoted) = rest.strip_prefix('"') {
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((at, c)) = chars.next() {
                match c {
                    '\\' => text.extend(chars.next().map(|(_, c)| c)),
                    '"' => {
                        end = at + 1;
                        break;
                    }
                    c => text.push(c),
                }
            }
            rest = &quoted[end.min(quoted.len())..];
            continue;
        }
        if let Some(after) = rest.strip_prefix("\\\"") {
            text.push('"');
            rest = after;
            continue;
        }
        let (fill, unprefixed) = match rest.get(..2) {
            Some("FM" | "fm") => (true, &rest[2..]),
            _ => (false, rest),
        };
        let unprefixed = match unprefixed.get(..2) {
            Some("TM" | "tm") => &unprefixed[2..],
            _ => unprefixed,
        };
        if let Some((len, field, case)) = keyword(unprefixed) {
            if !text.is_empty() {
                items.push(Item::Text(std::mem::take(&mut text)));
            }
            let mut after = &unprefixed[len..];
            let ordinal = match after.get(..2) {
                Some("TH") => Some(Case::Upper),
                Some("th") => Some(Case::Lower),
                _ => None,
            };
            if ordinal.is_some() {
                after = &after[2..];
            }
            items.push(Item::Field {
                field,
                case,
                fill,
                ordinal,
            });
            rest = after;
            continue;
        }
        if fill {
            // `FM` before no keyword is dropped, as PostgreSQL drops it.
            rest = unprefixed;
            continue;
        }
        let mut chars = rest.chars();
        text.extend(chars.next());
        rest = chars.as_str();
    }
    if !text.is_empty() {
        items.push(Item::Text(text));
    }
    items
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const ROMAN: [&str; 12] = [
    "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII",
];

/// `n` with at least `width` digits unless `fill` (`FM`).
fn padded(n: i64, width: usize, fill: bool) -> String {
    if fill {
        n.to_string()
    } else if n < 0 {
        format!("-{:0width$}", n.unsigned_abs())
    } else {
        format!("{n:0width$}")
    }
}

/// `text` padded with spaces to `width` unless `fill` (`FM`).
fn spaced(text: String, width: usize, fill: bool) -> String {
    if fill {
        text
    } else {
        format!("{text:<width$}")
    }
}

fn ordinal_suffix(n: i64) -> &'static str {
    match (n % 100, n % 10) {
        (11..=13, _) => "th",
        (_, 1) => "st",
        (_, 2) => "nd",
        (_, 3) => "rd",
        _ => "th",
    }
}

/// `±hh` or `±hh:mm` of an offset east of UTC.
pub(crate) fn offset_text(east: i32, always_minutes: bool) -> String {
    let sign = if east < 0 { '-' } else { '+' };
    let (hours, minutes) = (east.unsigned_abs() / 3600, east.unsigned_abs() % 3600 / 60);
    if minutes != 0 || always_minutes {
        format!("{sign}{hours:02}:{minutes:02}")
    } else {
        format!("{sign}{hours:02}")
    }
}

/// The last `digits` digits of `year`.
fn last_digits(year: i64, digits: u8) -> i64 {
    year.rem_euclid(10_i64.pow(u32::from(digits)))
}

fn format(items: &[Item], at: &Instant) -> String {
    let t = at.local;
    let mut out = String::new();
    for item in items {
        let (field, case, fill, ordinal) = match item {
            Item::Text(text) => {
                out.push_str(text);
                continue;
            }
            Item::Field {
                field,
                case,
                fill,
                ordinal,
            } => (*field, *case, *fill, *ordinal),
        };
        let year = i64::from(t.year());
        let iso = t.iso_week();
        let micros = i64::from(t.nanosecond() / 1000);
        let (number, width): (Option<i64>, usize) = match field {
            Field::Year(4) => (Some(year), 4),
            Field::Year(digits) => (Some(last_digits(year, digits)), usize::from(digits)),
            Field::IsoYear(4) => (Some(i64::from(iso.year())), 4),
            Field::IsoYear(digits) => (
                Some(last_digits(i64::from(iso.year()), digits)),
                usize::from(digits),
            ),
            Field::Month => (Some(i64::from(t.month())), 2),
            Field::Day => (Some(i64::from(t.day())), 2),
            Field::DayOfYear => (Some(i64::from(t.ordinal())), 3),
            Field::DayOfWeek => (Some(i64::from(t.weekday().number_from_sunday())), 1),
            Field::IsoDayOfWeek => (Some(i64::from(t.weekday().number_from_monday())), 1),
            Field::IsoDayOfYear => (
                Some(i64::from(
                    (iso.week() - 1) * 7 + t.weekday().number_from_monday(),
                )),
                3,
            ),
            Field::WeekOfMonth => (Some(i64::from((t.day() - 1) / 7 + 1)), 1),
            Field::WeekOfYear => (Some(i64::from((t.ordinal() - 1) / 7 + 1)), 2),
            Field::IsoWeek => (Some(i64::from(iso.week())), 2),
            Field::Quarter => (Some(i64::from((t.month() - 1) / 3 + 1)), 1),
            Field::Century => (
                Some(if year > 0 {
                    (year + 99) / 100
                } else {
                    (year - 99) / 100
                }),
                2,
            ),
            Field::Julian => (Some(i64::from(t.num_days_from_ce()) + 1_721_425), 1),
            Field::Hour24 => (Some(i64::from(t.hour())), 2),
            Field::Hour12 => (Some(i64::from((t.hour() + 11) % 12 + 1)), 2),
            Field::Minute => (Some(i64::from(t.minute())), 2),
            Field::Second => (Some(i64::from(t.second())), 2),
            Field::Milli => (Some(micros / 1000), 3),
            Field::Micro => (Some(micros), 6),
            Field::Fraction(digits) => (
                Some(micros / 10_i64.pow(6 - u32::from(digits))),
                usize::from(digits),
            ),
            Field::SecondsOfDay => (Some(i64::from(t.num_seconds_from_midnight())), 1),
            _ => (None, 0),
        };
        if let Some(n) = number {
            out.push_str(&padded(n, width, fill));
            if let Some(suffix_case) = ordinal {
                out.push_str(&suffix_case.apply(ordinal_suffix(n)));
            }
            continue;
        }
        let offset = at.zone.as_ref().map_or(0, |(offset, _)| *offset);
        let month = t.month0() as usize;
        let day = t.weekday().num_days_from_sunday() as usize;
        let text = match field {
            Field::YearComma => {
                let thousands = year / 1000;
                format!("{thousands},{:03}", year.rem_euclid(1000))
            }
            Field::MonthName => spaced(case.apply(MONTHS[month]), 9, fill),
            Field::MonthAbbr => case.apply(&MONTHS[month][..3]),
            Field::RomanMonth => spaced(case.apply(ROMAN[month]), 4, fill),
            Field::DayName => spaced(case.apply(DAYS[day]), 9, fill),
            Field::DayAbbr => case.apply(&DAYS[day][..3]),
            Field::Meridiem { dots } => {
                let word = match (t.hour() < 12, dots) {
                    (true, false) => "AM",
                    (false, false) => "PM",
                    (true, true) => "A.M.",
                    (false, true) => "P.M.",
                };
                case.apply(word)
            }
            Field::Era { dots } => {
                let word = match (year > 0, dots) {
                    (true, false) => "AD",
                    (false, false) => "BC",
                    (true, true) => "A.D.",
                    (false, true) => "B.C.",
                };
                case.apply(word)
            }
            Field::Zone => at
                .zone
                .as_ref()
                .map(|(offset, abbreviation)| {
                    case.apply(
                        &abbreviation
                            .clone()
                            .unwrap_or_else(|| offset_text(*offset, false)),
                    )
                })
                .unwrap_or_default(),
            // A timestamp without zone has offset 0 here, as in PostgreSQL.
            Field::Offset => offset_text(offset, false),
            Field::OffsetHour => {
                let sign = if offset < 0 { '-' } else { '+' };
                format!("{sign}{:02}", offset.unsigned_abs() / 3600)
            }
            Field::OffsetMinute => format!("{:02}", offset.unsigned_abs() % 3600 / 60),
            _ => String::new(),
        };
        out.push_str(&text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::SessionContext;

    async fn session() -> SessionContext {
        let ctx = SessionContext::new();
        let inner = datafusion::execution::FunctionRegistry::udf(&ctx.state(), "to_char")
            .expect("built in");
        ctx.register_udf(ScalarUDF::new_from_impl(PgToChar::new(inner)));
        ctx
    }

    /// Each template's text as PostgreSQL 15 writes it (`SET TIME ZONE
    /// 'Europe/Paris'`; the expected texts were read off PostgreSQL).
    #[tokio::test]
    async fn templates_are_written_as_postgresql_writes_them() {
        let ctx = session().await;
        ctx.sql("SET datafusion.execution.time_zone = 'Europe/Paris'")
            .await
            .expect("zone");
        let cases = [
            (
                "TIMESTAMP '2026-03-01 09:05:07.123456'",
                "YYYY-MM-DD HH24:MI:SS.US",
                "2026-03-01 09:05:07.123456",
            ),
            (
                "TIMESTAMP '2026-03-01 09:05:07.123456'",
                "Day, DD Month YYYY HH12:MI:SS AM",
                "Sunday   , 01 March     2026 09:05:07 AM",
            ),
            (
                "TIMESTAMP '2026-03-01 21:05:07'",
                "FMDay, FMDD FMMonth YYYY FMHH12 pm a.m. MS",
                "Sunday, 1 March 2026 9 pm p.m. 000",
            ),
            (
                "TIMESTAMP '2026-03-01 21:05:07'",
                "DY Dy dy MON Mon mon MONTH month",
                "SUN Sun sun MAR Mar mar MARCH     march    ",
            ),
            (
                "TIMESTAMP '2026-03-01 21:05:07'",
                "Q WW IW IYYY DDD D ID W CC J RM rm",
                "1 09 09 2026 060 1 7 1 21 2461101 III  iii ",
            ),
            (
                "TIMESTAMP '2026-03-01 21:05:07'",
                r#"DDth DDTH FMDDth "Week" IW, "quoted \" yes" \YYYY"#,
                r#"01st 01ST 1st Week 09, quoted " yes \2026"#,
            ),
            (
                "CAST('2026-07-01 12:00:00+00' AS TIMESTAMPTZ)",
                "YYYY-MM-DD HH24:MI TZ OF tz",
                "2026-07-01 14:00 CEST +02 cest",
            ),
            (
                "DATE '2026-03-02'",
                "YYYY/MM/DD HH24:MI",
                "2026/03/02 00:00",
            ),
            (
                "TIMESTAMP '2026-03-01 00:00:00'",
                "Y,YYY YYY YY Y SSSS FF3 FF6 hh24 Mi",
                "2,026 026 26 6 0 000 000000 00 M6",
            ),
            (
                "TIMESTAMP '2026-12-31 23:59:59'",
                "IYYY-IW-ID IDDD",
                "2026-53-4 368",
            ),
            (
                "TIMESTAMP '2026-03-23 00:00:00'",
                "FMDDth FMDDTH DDth",
                "23rd 23RD 23rd",
            ),
            (
                "CAST('2026-07-01 12:00:00+00' AS TIMESTAMPTZ)",
                "HH24:MI TZH:TZM",
                "14:00 +02:00",
            ),
            (
                "TIMESTAMP '2026-03-01 00:00:00'",
                "xyz YYYYMMDD",
                "x6z 20260301",
            ),
            (
                "TIMESTAMP '2026-03-01 00:00:00'",
                r#"OF TZH:TZM FMx FM"q""#,
                "+00 +00:00 x q",
            ),
        ];
        for (value, template, expected) in cases {
            let sql = format!(
                "SELECT to_char({value}, '{}')",
                template.replace('\'', "''")
            );
            assert_eq!(
                crate::test_util::first_row(&ctx, &sql).await,
                [expected],
                "{template}"
            );
        }
    }

    #[tokio::test]
    async fn strftime_templates_nulls_and_columns() {
        let ctx = session().await;
        assert_eq!(
            crate::test_util::first_row(&ctx, "SELECT to_char(DATE '2026-03-02', '%Y/%m/%d')")
                .await,
            ["2026/03/02"],
            "a strftime format is DataFusion's"
        );
        let batches = crate::test_util::batches(
            &ctx,
            "SELECT to_char(t, f) FROM (VALUES \
             (TIMESTAMP '2026-03-01 10:00:00', 'HH24'), \
             (NULL, 'HH24'), \
             (TIMESTAMP '2026-03-02 11:00:00', 'DD')) AS v(t, f)",
        )
        .await;
        let texts: Vec<Vec<String>> = (0..3)
            .map(|row| crate::test_util::row_text(&batches[0], row))
            .collect();
        assert_eq!(texts, [["10"], [""], ["02"]]);
        assert!(batches[0].column(0).is_null(1));
    }
}
