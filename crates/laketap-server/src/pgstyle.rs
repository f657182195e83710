//! PostgreSQL's text output of dates, timestamps and intervals in the
//! session's `DateStyle` and `IntervalStyle` (`EncodeDateOnly`,
//! `EncodeDateTime` and `EncodeInterval` in PostgreSQL's
//! utils/adt/datetime.c).
//!
//! pgwire formats these itself from its own reading of the settings, with
//! faults a client sees: a space-padded day in the Postgres style (`Sun Mar
//! 1`), an offset instead of the zone's abbreviation (`+01:00` for `CET`),
//! and `+05` for a `+05:30` zone. laketap keeps pgwire at ISO and postgres
//! (exact, and parsed back here) and writes the session's style: result
//! columns through [`crate::pgtext::TextFixes`], casts to text through
//! [`crate::timetext`].

use std::collections::HashMap;
use std::fmt::Write;

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use datafusion::config::ConfigOptions;

/// Where laketap keeps the session's DateStyle and IntervalStyle in the
/// client's metadata (not pgwire's `datestyle`/`intervalstyle`, which keep
/// pgwire's own encoding at ISO and postgres).
pub const METADATA_DATESTYLE: &str = "laketap.datestyle";
pub const METADATA_INTERVALSTYLE: &str = "laketap.intervalstyle";

/// DateStyle's output style.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DateOut {
    #[default]
    Iso,
    Sql,
    Postgres,
    German,
}

/// IntervalStyle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum IntervalOut {
    #[default]
    Postgres,
    PostgresVerbose,
    SqlStandard,
    Iso8601,
}

/// A session's output styles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Styles {
    pub date: DateOut,
    /// DateStyle's field order is DMY (day before month).
    pub day_first: bool,
    pub interval: IntervalOut,
}

impl Styles {
    /// From the settings' values as SHOW prints them (`SQL, DMY`, `iso_8601`).
    pub fn parse(datestyle: &str, intervalstyle: &str) -> Styles {
        let mut styles = Styles::default();
        for part in datestyle.split(',').map(|p| p.trim().to_ascii_lowercase()) {
            match part.as_str() {
                "sql" => styles.date = DateOut::Sql,
                "postgres" => styles.date = DateOut::Postgres,
                "german" => styles.date = DateOut::German,
                "iso" => styles.date = DateOut::Iso,
                "dmy" | "euro" | "european" => styles.day_first = true,
                _ => {}
            }
        }
        styles.interval = match intervalstyle.trim().to_ascii_lowercase().as_str() {
            "postgres_verbose" => IntervalOut::PostgresVerbose,
            "sql_standard" => IntervalOut::SqlStandard,
            "iso_8601" => IntervalOut::Iso8601,
            _ => IntervalOut::Postgres,
        };
        styles
    }

    /// The session's styles, from its settings (for casts to text).
    pub fn of_options(options: &ConfigOptions) -> Styles {
        use laketap_engine::pgsettings::current_value;
        Styles::parse(
            &current_value(options, "DateStyle").unwrap_or_default(),
            &current_value(options, "IntervalStyle").unwrap_or_default(),
        )
    }

    /// The session's styles, from the client's metadata (for results).
    pub fn of_metadata(metadata: &HashMap<String, String>) -> Styles {
        let get = |key: &str| metadata.get(key).map(String::as_str).unwrap_or_default();
        Styles::parse(get(METADATA_DATESTYLE), get(METADATA_INTERVALSTYLE))
    }
}

/// A timestamptz's zone at its instant: its offset east of UTC and, for a
/// named zone, its abbreviation there (`CET`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    pub offset_seconds: i32,
    pub abbreviation: Option<String>,
}

impl Zone {
    /// `zone` (a session TimeZone: a name or an offset) at the instant
    /// `local` - `offset_seconds`; its abbreviation when the zone is named
    /// and has that offset then.
    pub fn at(zone: &str, local: NaiveDateTime, offset_seconds: i32) -> Zone {
        Zone::of(named_zone(zone).as_ref(), local, offset_seconds)
    }

    /// As [`Zone::at`], with the zone's name read once ([`named_zone`]):
    /// callers read it per query or per batch, not per value.
    pub fn of(zone: Option<&chrono_tz::Tz>, local: NaiveDateTime, offset_seconds: i32) -> Zone {
        use chrono::{Offset, TimeZone};
        use chrono_tz::OffsetName;
        let utc = local.checked_sub_signed(chrono::TimeDelta::seconds(i64::from(offset_seconds)));
        let abbreviation = zone.zip(utc).and_then(|(tz, utc)| {
            let offset = tz.offset_from_utc_datetime(&utc);
            (offset.fix().local_minus_utc() == offset_seconds)
                .then(|| offset.abbreviation().map(str::to_string))
                .flatten()
        });
        Zone {
            offset_seconds,
            abbreviation,
        }
    }
}

/// A session TimeZone's named zone, for abbreviations (`None` for an
/// offset such as `+02:00`, which has none).
pub fn named_zone(zone: &str) -> Option<chrono_tz::Tz> {
    zone.parse().ok()
}

const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The year as PostgreSQL prints it (`1 BC` is year 0) and whether it is BC.
fn year(date: NaiveDate) -> (i32, bool) {
    let y = date.year();
    if y > 0 { (y, false) } else { (1 - y, true) }
}

fn date_part(out: &mut String, date: NaiveDate, styles: Styles) {
    let (y, _) = year(date);
    let (m, d) = (date.month(), date.day());
    let _ = match styles.date {
        DateOut::Iso => write!(out, "{y:04}-{m:02}-{d:02}"),
        DateOut::Sql if styles.day_first => write!(out, "{d:02}/{m:02}/{y:04}"),
        DateOut::Sql => write!(out, "{m:02}/{d:02}/{y:04}"),
        DateOut::German => write!(out, "{d:02}.{m:02}.{y:04}"),
        DateOut::Postgres if styles.day_first => write!(out, "{d:02}-{m:02}-{y:04}"),
        DateOut::Postgres => write!(out, "{m:02}-{d:02}-{y:04}"),
    };
}

/// A date (`date_out`).
pub fn date(date: NaiveDate, styles: Styles) -> String {
    let mut out = String::with_capacity(14);
    date_part(&mut out, date, styles);
    if year(date).1 {
        out.push_str(" BC");
    }
    out
}

/// Seconds and their fraction, trailing zeros trimmed (`AppendSeconds`).
fn seconds(out: &mut String, sec: i64, micros: i64, fill: bool) {
    let sec = sec.unsigned_abs();
    let _ = if fill {
        write!(out, "{sec:02}")
    } else {
        write!(out, "{sec}")
    };
    if micros != 0 {
        let fraction = format!("{:06}", micros.unsigned_abs());
        out.push('.');
        out.push_str(fraction.trim_end_matches('0'));
    }
}

/// A numeric zone offset (`EncodeTimezone`): `+01`, `+05:30`.
fn offset(out: &mut String, seconds_east: i32) {
    let sign = if seconds_east < 0 { '-' } else { '+' };
    let s = seconds_east.unsigned_abs();
    let (h, m, sec) = (s / 3600, s / 60 % 60, s % 60);
    let _ = write!(out, "{sign}{h:02}");
    if m != 0 || sec != 0 {
        let _ = write!(out, ":{m:02}");
    }
    if sec != 0 {
        let _ = write!(out, ":{sec:02}");
    }
}

/// A timestamp (`zone` None) or timestamptz in its zone (`EncodeDateTime`).
pub fn timestamp(local: NaiveDateTime, zone: Option<&Zone>, styles: Styles) -> String {
    let mut out = String::with_capacity(32);
    let date = local.date();
    let time = local.time();
    let (h, m) = (time.hour(), time.minute());
    let (sec, micros) = (
        i64::from(time.second()),
        i64::from(time.nanosecond() / 1000),
    );
    let (y, bc) = year(date);
    match styles.date {
        DateOut::Postgres => {
            let day = DAYS[date.weekday().num_days_from_sunday() as usize];
            let month = MONTHS[date.month0() as usize];
            let d = date.day();
            let _ = if styles.day_first {
                write!(out, "{day} {d:02} {month} {h:02}:{m:02}:")
            } else {
                write!(out, "{day} {month} {d:02} {h:02}:{m:02}:")
            };
            seconds(&mut out, sec, micros, true);
            let _ = write!(out, " {y:04}");
        }
        _ => {
            date_part(&mut out, date, styles);
            let _ = write!(out, " {h:02}:{m:02}:");
            seconds(&mut out, sec, micros, true);
        }
    }
    if let Some(zone) = zone {
        match (styles.date, &zone.abbreviation) {
            (DateOut::Iso, _) => offset(&mut out, zone.offset_seconds),
            (_, Some(abbreviation)) => {
                out.push(' ');
                out.push_str(abbreviation);
            }
            (DateOut::Postgres, None) => {
                out.push(' ');
                offset(&mut out, zone.offset_seconds);
            }
            (_, None) => offset(&mut out, zone.offset_seconds),
        }
    }
    if bc {
        out.push_str(" BC");
    }
    out
}

/// An interval (`EncodeInterval`).
pub fn interval(months: i32, days: i32, micros: i64, style: IntervalOut) -> String {
    let (year, mon) = (i64::from(months / 12), i64::from(months % 12));
    let mday = i64::from(days);
    let hour = micros / 3_600_000_000;
    let min = micros % 3_600_000_000 / 60_000_000;
    let sec = micros % 60_000_000 / 1_000_000;
    let fsec = micros % 1_000_000;
    let time_nonzero = hour != 0 || min != 0 || sec != 0 || fsec != 0;
    let mut out = String::with_capacity(32);
    match style {
        IntervalOut::SqlStandard => {
            let parts = [year, mon, mday, hour, min, sec, fsec];
            let negative = parts.iter().any(|&v| v < 0);
            let positive = parts.iter().any(|&v| v > 0);
            let year_month = year != 0 || mon != 0;
            let day_time = mday != 0 || time_nonzero;
            let standard = !(negative && positive || year_month && day_time);
            if negative && standard {
                out.push('-');
            }
            if !negative && !positive {
                out.push('0');
            } else if !standard {
                let year_sign = if year < 0 || mon < 0 { '-' } else { '+' };
                let day_sign = if mday < 0 { '-' } else { '+' };
                let sec_sign = if hour < 0 || min < 0 || sec < 0 || fsec < 0 {
                    '-'
                } else {
                    '+'
                };
                let _ = write!(
                    out,
                    "{year_sign}{}-{} {day_sign}{} {sec_sign}{}:{:02}:",
                    year.abs(),
                    mon.abs(),
                    mday.abs(),
                    hour.abs(),
                    min.abs()
                );
                seconds(&mut out, sec, fsec, true);
            } else if year_month {
                let _ = write!(out, "{}-{}", year.abs(), mon.abs());
            } else if mday != 0 {
                let _ = write!(out, "{} {}:{:02}:", mday.abs(), hour.abs(), min.abs());
                seconds(&mut out, sec, fsec, true);
            } else {
                let _ = write!(out, "{}:{:02}:", hour.abs(), min.abs());
                seconds(&mut out, sec, fsec, true);
            }
        }
        IntervalOut::Iso8601 => {
            if year == 0 && mday == 0 && mon == 0 && !time_nonzero {
                return "PT0S".to_string();
            }
            out.push('P');
            for (value, unit) in [(year, 'Y'), (mon, 'M'), (mday, 'D')] {
                if value != 0 {
                    let _ = write!(out, "{value}{unit}");
                }
            }
            if time_nonzero {
                out.push('T');
            }
            for (value, unit) in [(hour, 'H'), (min, 'M')] {
                if value != 0 {
                    let _ = write!(out, "{value}{unit}");
                }
            }
            if sec != 0 || fsec != 0 {
                if sec < 0 || fsec < 0 {
                    out.push('-');
                }
                seconds(&mut out, sec, fsec, false);
                out.push('S');
            }
        }
        IntervalOut::Postgres => {
            let mut is_zero = true;
            let mut is_before = false;
            for (value, unit) in [(year, "year"), (mon, "mon"), (mday, "day")] {
                if value == 0 {
                    continue;
                }
                let _ = write!(
                    out,
                    "{}{}{value} {unit}{}",
                    if is_zero { "" } else { " " },
                    if is_before && value > 0 { "+" } else { "" },
                    if value != 1 { "s" } else { "" }
                );
                is_before = value < 0;
                is_zero = false;
            }
            if is_zero || time_nonzero {
                let minus = hour < 0 || min < 0 || sec < 0 || fsec < 0;
                let _ = write!(
                    out,
                    "{}{}{:02}:{:02}:",
                    if is_zero { "" } else { " " },
                    if minus {
                        "-"
                    } else if is_before {
                        "+"
                    } else {
                        ""
                    },
                    hour.abs(),
                    min.abs()
                );
                seconds(&mut out, sec, fsec, true);
            }
        }
        IntervalOut::PostgresVerbose => {
            out.push('@');
            let mut is_zero = true;
            let mut is_before = false;
            for (value, unit) in [
                (year, "year"),
                (mon, "mon"),
                (mday, "day"),
                (hour, "hour"),
                (min, "min"),
            ] {
                if value == 0 {
                    continue;
                }
                let value = if is_zero {
                    is_before = value < 0;
                    value.abs()
                } else if is_before {
                    -value
                } else {
                    value
                };
                let _ = write!(out, " {value} {unit}{}", if value == 1 { "" } else { "s" });
                is_zero = false;
            }
            if sec != 0 || fsec != 0 {
                out.push(' ');
                if sec < 0 || (sec == 0 && fsec < 0) {
                    if is_zero {
                        is_before = true;
                    } else if !is_before {
                        out.push('-');
                    }
                } else if is_before {
                    out.push('-');
                }
                seconds(&mut out, sec, fsec, false);
                let plural = sec.abs() != 1 || fsec != 0;
                out.push_str(if plural { " secs" } else { " sec" });
                is_zero = false;
            }
            if is_zero {
                out.push_str(" 0");
            }
            if is_before {
                out.push_str(" ago");
            }
        }
    }
    out
}

/// A timestamptz's ISO text as laketap's encoder writes it
/// (`2026-03-01 10:00:00.5+05:30`): its local time and offset.
pub fn parse_iso_timestamptz(text: &str) -> Option<(NaiveDateTime, i32)> {
    let at = text
        .char_indices()
        .skip(19)
        .find(|(_, c)| *c == '+' || *c == '-')
        .map(|(i, _)| i)?;
    let local = NaiveDateTime::parse_from_str(&text[..at], "%Y-%m-%d %H:%M:%S%.f").ok()?;
    let sign = if text[at..].starts_with('-') { -1 } else { 1 };
    let mut seconds = 0i32;
    for (i, part) in text[at + 1..].split(':').enumerate() {
        let value: i32 = part.parse().ok()?;
        seconds += value * [3600, 60, 1].get(i)?;
    }
    Some((local, sign * seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn styles(datestyle: &str) -> Styles {
        Styles::parse(datestyle, "postgres")
    }

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").expect("timestamp")
    }

    /// Each expected text is PostgreSQL 15's, from `SET DateStyle` and a
    /// cast to text.
    #[test]
    fn dates_and_timestamps_in_each_datestyle() {
        let day = NaiveDate::from_ymd_opt(2026, 3, 1).expect("date");
        let ts = at("2026-03-01 10:00:00.5");
        let utc = Zone::at("UTC", at("2026-03-01 10:00:00"), 0);
        for (style, d, t, tz) in [
            (
                "SQL, DMY",
                "01/03/2026",
                "01/03/2026 10:00:00.5",
                "01/03/2026 10:00:00 UTC",
            ),
            (
                "Postgres, MDY",
                "03-01-2026",
                "Sun Mar 01 10:00:00.5 2026",
                "Sun Mar 01 10:00:00 2026 UTC",
            ),
            (
                "German, DMY",
                "01.03.2026",
                "01.03.2026 10:00:00.5",
                "01.03.2026 10:00:00 UTC",
            ),
            (
                "Postgres, DMY",
                "01-03-2026",
                "Sun 01 Mar 10:00:00.5 2026",
                "Sun 01 Mar 10:00:00 2026 UTC",
            ),
            (
                "SQL, YMD",
                "03/01/2026",
                "03/01/2026 10:00:00.5",
                "03/01/2026 10:00:00 UTC",
            ),
            (
                "ISO, MDY",
                "2026-03-01",
                "2026-03-01 10:00:00.5",
                "2026-03-01 10:00:00+00",
            ),
        ] {
            let s = styles(style);
            assert_eq!(date(day, s), d, "{style}");
            assert_eq!(timestamp(ts, None, s), t, "{style}");
            assert_eq!(
                timestamp(at("2026-03-01 10:00:00"), Some(&utc), s),
                tz,
                "{style}"
            );
        }
    }

    #[test]
    fn zones_are_named_by_their_abbreviation_at_the_instant() {
        let german = styles("German");
        let winter = Zone::at("Europe/Paris", at("2026-03-01 11:00:00"), 3600);
        let summer = Zone::at("Europe/Paris", at("2026-07-01 12:00:00"), 7200);
        assert_eq!(
            timestamp(at("2026-03-01 11:00:00"), Some(&winter), german),
            "01.03.2026 11:00:00 CET"
        );
        assert_eq!(
            timestamp(at("2026-07-01 12:00:00"), Some(&summer), german),
            "01.07.2026 12:00:00 CEST"
        );
        let kolkata = Zone::at("Asia/Kolkata", at("2026-03-01 15:30:00"), 19800);
        assert_eq!(
            timestamp(at("2026-03-01 15:30:00"), Some(&kolkata), styles("ISO")),
            "2026-03-01 15:30:00+05:30"
        );
        // A fixed offset has no abbreviation: its number is written.
        let fixed = Zone::at("+02:00", at("2026-03-01 12:00:00"), 7200);
        assert_eq!(fixed.abbreviation, None);
        assert_eq!(
            timestamp(at("2026-03-01 12:00:00"), Some(&fixed), styles("SQL")),
            "03/01/2026 12:00:00+02"
        );
    }

    #[test]
    fn bc_years() {
        let day = NaiveDate::from_ymd_opt(0, 1, 1).expect("1 BC");
        assert_eq!(date(day, styles("ISO")), "0001-01-01 BC");
        assert_eq!(date(day, styles("German")), "01.01.0001 BC");
    }

    /// Each expected text is PostgreSQL 15's for the same value in each
    /// IntervalStyle.
    #[test]
    fn intervals_in_each_intervalstyle() {
        let hour = 3_600_000_000i64;
        let values: [(i32, i32, i64); 10] = [
            (0, 1, 2 * hour),
            (14, 3, 4 * hour + 5 * 60_000_000 + 6_700_000),
            (-14, 3, -(4 * hour + 5 * 60_000_000 + 6_000_000)),
            (0, 0, 0),
            (0, 0, -1_500_000),
            (3, 0, 0),
            (0, -3, 0),
            (0, 1, -hour),
            (0, 0, 100 * hour),
            (0, 0, 1),
        ];
        let expected: [(IntervalOut, [&str; 10]); 4] = [
            (
                IntervalOut::Postgres,
                [
                    "1 day 02:00:00",
                    "1 year 2 mons 3 days 04:05:06.7",
                    "-1 years -2 mons +3 days -04:05:06",
                    "00:00:00",
                    "-00:00:01.5",
                    "3 mons",
                    "-3 days",
                    "1 day -01:00:00",
                    "100:00:00",
                    "00:00:00.000001",
                ],
            ),
            (
                IntervalOut::PostgresVerbose,
                [
                    "@ 1 day 2 hours",
                    "@ 1 year 2 mons 3 days 4 hours 5 mins 6.7 secs",
                    "@ 1 year 2 mons -3 days 4 hours 5 mins 6 secs ago",
                    "@ 0",
                    "@ 1.5 secs ago",
                    "@ 3 mons",
                    "@ 3 days ago",
                    "@ 1 day -1 hours",
                    "@ 100 hours",
                    "@ 0.000001 secs",
                ],
            ),
            (
                IntervalOut::SqlStandard,
                [
                    "1 2:00:00",
                    "+1-2 +3 +4:05:06.7",
                    "-1-2 +3 -4:05:06",
                    "0",
                    "-0:00:01.5",
                    "0-3",
                    "-3 0:00:00",
                    "+0-0 +1 -1:00:00",
                    "100:00:00",
                    "0:00:00.000001",
                ],
            ),
            (
                IntervalOut::Iso8601,
                [
                    "P1DT2H",
                    "P1Y2M3DT4H5M6.7S",
                    "P-1Y-2M3DT-4H-5M-6S",
                    "PT0S",
                    "PT-1.5S",
                    "P3M",
                    "P-3D",
                    "P1DT-1H",
                    "PT100H",
                    "PT0.000001S",
                ],
            ),
        ];
        for (style, texts) in expected {
            for ((months, days, micros), text) in values.iter().zip(texts) {
                assert_eq!(interval(*months, *days, *micros, style), text, "{style:?}");
            }
        }
    }

    #[test]
    fn encoded_timestamptz_text_is_read_back() {
        assert_eq!(
            parse_iso_timestamptz("2026-03-01 15:30:00.5+05:30"),
            Some((at("2026-03-01 15:30:00.5"), 19800))
        );
        assert_eq!(
            parse_iso_timestamptz("2026-03-01 05:00:00-03"),
            Some((at("2026-03-01 05:00:00"), -10800))
        );
        assert_eq!(parse_iso_timestamptz("2026-03-01"), None);
    }
}
