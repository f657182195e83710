//! PostgreSQL's interval input (`interval_in`), for the forms Arrow's and
//! pgwire's parsers refuse.
//!
//! Arrow's parser (SQL literals and casts) takes `1 day 2 hours` but not a
//! time field (`1 day 02:03:04.000005`, psql and psycopg's text) nor
//! PostgreSQL's abbreviations (`mins`, `secs`, `mons`); pgwire's parameter
//! decoder takes PostgreSQL's output style only, and pgjdbc binds
//! `0 years 0 mons 1 days 2 hours 3 mins 4.000005 secs`. [`parse`] reads
//! what PostgreSQL reads (units and their abbreviations, `HH:MM[:SS.ffffff]`,
//! signs, `ago`, a leading `@`, and ISO 8601 `P1Y2M3DT4H5M6S`); laketap
//! hands the result on as [`canonical`] text (literals) or binary
//! (parameters).

/// An interval as PostgreSQL stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Interval {
    pub months: i32,
    pub days: i32,
    pub micros: i64,
}

const MICROS_PER_DAY: f64 = 86_400_000_000.0;

/// Accumulates fields with PostgreSQL's fraction cascade: a fraction of a
/// month is 30 days, of a day 24 hours.
#[derive(Default)]
struct Sum {
    months: f64,
    days: f64,
    micros: f64,
}

impl Sum {
    fn add_months(&mut self, months: f64) {
        let whole = months.trunc();
        self.months += whole;
        self.add_days((months - whole) * 30.0);
    }

    fn add_days(&mut self, days: f64) {
        let whole = days.trunc();
        self.days += whole;
        self.micros += (days - whole) * MICROS_PER_DAY;
    }

    fn finish(self, negate: bool) -> Result<Interval, String> {
        let sign = if negate { -1.0 } else { 1.0 };
        let months = (self.months * sign).round();
        let days = (self.days * sign).round();
        let micros = (self.micros * sign).round();
        if months.abs() > f64::from(i32::MAX)
            || days.abs() > f64::from(i32::MAX)
            || micros.abs() > 9.2e18
        {
            return Err("interval out of range".to_string());
        }
        Ok(Interval {
            months: months as i32,
            days: days as i32,
            micros: micros as i64,
        })
    }
}

/// What one unit word adds, per 1 of its amount.
enum Unit {
    Months(f64),
    Days(f64),
    Micros(f64),
}

fn unit(word: &str) -> Option<Unit> {
    Some(match word {
        "microsecond" | "microseconds" | "microsecon" | "us" | "usec" | "usecs" | "useconds" => {
            Unit::Micros(1.0)
        }
        "millisecond" | "milliseconds" | "millisecon" | "ms" | "msec" | "msecs" | "mseconds" => {
            Unit::Micros(1_000.0)
        }
        "second" | "seconds" | "sec" | "secs" | "s" => Unit::Micros(1_000_000.0),
        "minute" | "minutes" | "min" | "mins" | "m" => Unit::Micros(60_000_000.0),
        "hour" | "hours" | "hr" | "hrs" | "h" => Unit::Micros(3_600_000_000.0),
        "day" | "days" | "d" => Unit::Days(1.0),
        "week" | "weeks" | "w" => Unit::Days(7.0),
        "month" | "months" | "mon" | "mons" => Unit::Months(1.0),
        "year" | "years" | "yr" | "yrs" | "y" => Unit::Months(12.0),
        "decade" | "decades" | "dec" | "decs" => Unit::Months(120.0),
        "century" | "centuries" | "cent" | "c" => Unit::Months(1_200.0),
        "millennium" | "millennia" | "mil" | "mils" => Unit::Months(12_000.0),
        _ => return None,
    })
}

fn invalid(text: &str) -> String {
    format!("invalid input syntax for type interval: \"{text}\"")
}

/// `HH:MM[:SS[.ffffff]]` (or `MM:SS.ffffff`, when the first field has a
/// fraction-bearing second part) as microseconds, without sign.
fn time_field(field: &str) -> Option<f64> {
    let parts: Vec<&str> = field.split(':').collect();
    let number = |s: &str| -> Option<f64> {
        (!s.is_empty() && s.chars().all(|c| c.is_ascii_digit() || c == '.'))
            .then(|| s.parse::<f64>().ok())
            .flatten()
    };
    let (h, m, s) = match parts.as_slice() {
        [h, m] => (number(h)?, number(m)?, 0.0),
        [h, m, s] => (number(h)?, number(m)?, number(s)?),
        _ => return None,
    };
    if m >= 60.0 || s >= 60.0 || h.fract() != 0.0 || m.fract() != 0.0 {
        return None;
    }
    Some(((h * 60.0 + m) * 60.0 + s) * 1_000_000.0)
}

/// ISO 8601's `P[nY][nM][nW][nD][T[nH][nM][nS]]`.
fn iso8601(text: &str) -> Option<Interval> {
    let body = text.strip_prefix('P').or_else(|| text.strip_prefix('p'))?;
    let mut sum = Sum::default();
    let mut in_time = false;
    let mut number = String::new();
    let mut any = false;
    for c in body.chars() {
        match c {
            'T' | 't' if number.is_empty() => in_time = true,
            '0'..='9' | '.' | '-' | '+' => number.push(c),
            unit => {
                let amount: f64 = number.parse().ok()?;
                number.clear();
                any = true;
                match (unit.to_ascii_uppercase(), in_time) {
                    ('Y', false) => sum.add_months(amount * 12.0),
                    ('M', false) => sum.add_months(amount),
                    ('W', false) => sum.add_days(amount * 7.0),
                    ('D', false) => sum.add_days(amount),
                    ('H', true) => sum.micros += amount * 3_600_000_000.0,
                    ('M', true) => sum.micros += amount * 60_000_000.0,
                    ('S', true) => sum.micros += amount * 1_000_000.0,
                    _ => return None,
                }
            }
        }
    }
    (any && number.is_empty())
        .then(|| sum.finish(false).ok())
        .flatten()
}

/// Reads `text` as PostgreSQL's `interval_in` does (IntervalStyle postgres).
pub fn parse(text: &str) -> Result<Interval, String> {
    let trimmed = text.trim();
    if let Some(interval) = iso8601(trimmed) {
        return Ok(interval);
    }
    let lower = trimmed.to_ascii_lowercase();
    let body = lower.strip_prefix('@').unwrap_or(&lower).trim();
    // Split "1day" into "1 day" and "-1:00" stays whole.
    let mut tokens: Vec<String> = Vec::new();
    for word in body.split_whitespace() {
        let split = word
            .char_indices()
            .find(|(i, c)| *i > 0 && c.is_ascii_alphabetic())
            .map(|(i, _)| i);
        match split {
            Some(i) if word[..i].chars().all(|c| "+-.0123456789".contains(c)) => {
                tokens.push(word[..i].to_string());
                tokens.push(word[i..].to_string());
            }
            _ => tokens.push(word.to_string()),
        }
    }
    let mut sum = Sum::default();
    let mut negate = false;
    let mut any = false;
    let mut i = 0;
    while i < tokens.len() {
        let token = tokens[i].as_str();
        if token == "ago" {
            if i + 1 != tokens.len() || !any {
                return Err(invalid(text));
            }
            negate = true;
            i += 1;
            continue;
        }
        let (sign, unsigned) = match token.as_bytes().first() {
            Some(b'-') => (-1.0, &token[1..]),
            Some(b'+') => (1.0, &token[1..]),
            _ => (1.0, token),
        };
        if unsigned.contains(':') {
            let micros = time_field(unsigned).ok_or_else(|| invalid(text))?;
            sum.micros += sign * micros;
            any = true;
            i += 1;
            continue;
        }
        let amount: f64 = unsigned
            .parse()
            .ok()
            .filter(|_| {
                !unsigned.is_empty() && unsigned.chars().all(|c| c.is_ascii_digit() || c == '.')
            })
            .ok_or_else(|| invalid(text))?;
        let amount = sign * amount;
        // A number without a unit is seconds (PostgreSQL's default field).
        let (what, used) = match tokens.get(i + 1).and_then(|w| unit(w)) {
            Some(u) => (u, 2),
            None => (Unit::Micros(1_000_000.0), 1),
        };
        match what {
            Unit::Months(per) => sum.add_months(amount * per),
            Unit::Days(per) => sum.add_days(amount * per),
            Unit::Micros(per) => sum.micros += amount * per,
        }
        any = true;
        i += used;
    }
    if !any {
        return Err(invalid(text));
    }
    sum.finish(negate)
}

/// Text that Arrow's interval parser reads as exactly `interval`.
pub fn canonical(interval: Interval) -> String {
    format!(
        "{} months {} days {} microseconds",
        interval.months, interval.days, interval.micros
    )
}

/// PostgreSQL's binary interval: microseconds (int8), days (int4), months
/// (int4), big-endian.
pub fn binary(interval: Interval) -> Vec<u8> {
    let mut out = Vec::with_capacity(16);
    out.extend_from_slice(&interval.micros.to_be_bytes());
    out.extend_from_slice(&interval.days.to_be_bytes());
    out.extend_from_slice(&interval.months.to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(months: i32, days: i32, micros: i64) -> Interval {
        Interval {
            months,
            days,
            micros,
        }
    }

    #[test]
    fn postgres_input_forms() {
        let cases: &[(&str, Interval)] = &[
            ("1 day 02:03:04.000005", iv(0, 1, 7_384_000_005)),
            (
                "0 years 0 mons 1 days 2 hours 3 mins 4.000005 secs",
                iv(0, 1, 7_384_000_005),
            ),
            ("1 year 2 mons", iv(14, 0, 0)),
            ("@ 3 days ago", iv(0, -3, 0)),
            ("-1 day +02:00", iv(0, -1, 7_200_000_000)),
            ("-02:30", iv(0, 0, -9_000_000_000)),
            ("1.5 days", iv(0, 1, 43_200_000_000)),
            ("1.5 months", iv(1, 15, 0)),
            ("2 weeks", iv(0, 14, 0)),
            ("90", iv(0, 0, 90_000_000)),
            ("1day 3h", iv(0, 1, 10_800_000_000)),
            ("P1Y2M3DT4H5M6.5S", iv(14, 3, 14_706_500_000)),
            ("10 ms", iv(0, 0, 10_000)),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text).as_ref(), Ok(expected), "{text}");
        }
        for bad in ["", "ago", "1 fortnight", "1:99", "abc", "1 day ago 2 hours"] {
            let err = parse(bad).expect_err(bad);
            assert!(
                err.contains("invalid input syntax for type interval"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn multiplication_carries_fractions_down() {
        // PostgreSQL 15: SELECT interval '1 second' * 1772323200,
        // interval '1 month 1 day' * 1.5, interval '1 day' * 0.25.
        assert_eq!(
            multiply(iv(0, 0, 1_000_000), 1_772_323_200.0),
            Some(iv(0, 0, 1_772_323_200_000_000))
        );
        assert_eq!(multiply(iv(1, 1, 0), 1.5), Some(iv(1, 16, 43_200_000_000)));
        assert_eq!(multiply(iv(0, 1, 0), 0.25), Some(iv(0, 0, 21_600_000_000)));
        assert_eq!(multiply(iv(i32::MAX, 0, 0), 2.0), None);
    }

    #[test]
    fn canonical_text_and_binary() {
        let i = iv(14, -3, 7_384_000_005);
        assert_eq!(canonical(i), "14 months -3 days 7384000005 microseconds");
        let b = binary(i);
        assert_eq!(&b[..8], &7_384_000_005_i64.to_be_bytes());
        assert_eq!(&b[8..12], &(-3_i32).to_be_bytes());
        assert_eq!(&b[12..], &14_i32.to_be_bytes());
    }
}

/// `laketap_interval_mul(interval, float8)`: PostgreSQL's `interval *
/// number` (`interval_mul`), which DataFusion has no operator for (Superset's
/// `timestamp 'epoch' + n * interval '1 second'`). Months and days are
/// multiplied and their fractions carried down (a month is 30 days, a day
/// 24 hours); microseconds are rounded.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct IntervalMul {
    signature: datafusion::logical_expr::Signature,
}

impl Default for IntervalMul {
    fn default() -> Self {
        use datafusion::arrow::datatypes::{DataType, IntervalUnit};
        IntervalMul {
            signature: datafusion::logical_expr::Signature::exact(
                vec![
                    DataType::Interval(IntervalUnit::MonthDayNano),
                    DataType::Float64,
                ],
                datafusion::logical_expr::Volatility::Immutable,
            ),
        }
    }
}

/// `interval × factor` as PostgreSQL computes it; `None` out of range.
pub fn multiply(interval: Interval, factor: f64) -> Option<Interval> {
    let mut sum = Sum::default();
    sum.add_months(f64::from(interval.months) * factor);
    sum.add_days(f64::from(interval.days) * factor);
    sum.micros += interval.micros as f64 * factor;
    sum.finish(false).ok()
}

impl datafusion::logical_expr::ScalarUDFImpl for IntervalMul {
    fn name(&self) -> &str {
        "laketap_interval_mul"
    }

    fn signature(&self) -> &datafusion::logical_expr::Signature {
        &self.signature
    }

    fn return_type(
        &self,
        _args: &[datafusion::arrow::datatypes::DataType],
    ) -> datafusion::error::Result<datafusion::arrow::datatypes::DataType> {
        Ok(datafusion::arrow::datatypes::DataType::Interval(
            datafusion::arrow::datatypes::IntervalUnit::MonthDayNano,
        ))
    }

    fn invoke_with_args(
        &self,
        args: datafusion::logical_expr::ScalarFunctionArgs,
    ) -> datafusion::error::Result<datafusion::logical_expr::ColumnarValue> {
        use datafusion::arrow::array::{Array, AsArray, IntervalMonthDayNanoArray};
        use datafusion::arrow::datatypes::{
            Float64Type, IntervalMonthDayNano, IntervalMonthDayNanoType,
        };
        let arrays = datafusion::logical_expr::ColumnarValue::values_to_arrays(&args.args)?;
        let intervals = arrays[0].as_primitive::<IntervalMonthDayNanoType>();
        let factors = arrays[1].as_primitive::<Float64Type>();
        let mut out = Vec::with_capacity(intervals.len());
        for i in 0..intervals.len() {
            if intervals.is_null(i) || factors.is_null(i) {
                out.push(None);
                continue;
            }
            let v = intervals.value(i);
            let product = multiply(
                Interval {
                    months: v.months,
                    days: v.days,
                    micros: v.nanoseconds / 1_000,
                },
                factors.value(i),
            )
            .ok_or_else(|| {
                datafusion::error::DataFusionError::Execution("interval out of range".to_string())
            })?;
            out.push(Some(IntervalMonthDayNano::new(
                product.months,
                product.days,
                product.micros * 1_000,
            )));
        }
        Ok(datafusion::logical_expr::ColumnarValue::Array(
            std::sync::Arc::new(IntervalMonthDayNanoArray::from(out)),
        ))
    }
}

/// `a - b` of two timestamps (or two timestamptz): PostgreSQL's
/// `timestamp_mi`, an interval of whole days and the rest as time
/// (`interval_justify_hours`: `274 days 03:41:10`). DataFusion's difference
/// is a duration, shown in hours (`6579:41:10`) and compared with an interval
/// as no PostgreSQL interval compares: `ts - ts > interval '1 day'` was false
/// for a difference of 274 days. [`crate::rules::ZonedDifferences`] plans
/// each such `-` as this function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct TimestampDifference {
    signature: datafusion::logical_expr::Signature,
}

impl Default for TimestampDifference {
    fn default() -> Self {
        TimestampDifference {
            signature: datafusion::logical_expr::Signature::user_defined(
                datafusion::logical_expr::Volatility::Immutable,
            ),
        }
    }
}

/// PostgreSQL's difference of two instants `micros` apart, justified: whole
/// days (truncated toward zero) and the rest, both with the difference's sign.
pub fn justified_difference(micros: i64) -> Interval {
    const DAY: i64 = 86_400_000_000;
    Interval {
        months: 0,
        days: i32::try_from(micros / DAY).unwrap_or(if micros < 0 { i32::MIN } else { i32::MAX }),
        micros: micros % DAY,
    }
}

impl datafusion::logical_expr::ScalarUDFImpl for TimestampDifference {
    fn name(&self) -> &str {
        "laketap_timestamp_difference"
    }

    fn signature(&self) -> &datafusion::logical_expr::Signature {
        &self.signature
    }

    /// Both operands as microsecond timestamps in their own kind: zoned ones
    /// in UTC (the same instants), naive ones as they are.
    fn coerce_types(
        &self,
        arg_types: &[datafusion::arrow::datatypes::DataType],
    ) -> datafusion::error::Result<Vec<datafusion::arrow::datatypes::DataType>> {
        use datafusion::arrow::datatypes::{DataType, TimeUnit};
        match arg_types {
            [
                DataType::Timestamp(_, Some(_)),
                DataType::Timestamp(_, Some(_)),
            ] => {
                let utc = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
                Ok(vec![utc.clone(), utc])
            }
            [DataType::Timestamp(_, None), DataType::Timestamp(_, None)] => {
                let naive = DataType::Timestamp(TimeUnit::Microsecond, None);
                Ok(vec![naive.clone(), naive])
            }
            other => datafusion::common::plan_err!(
                "laketap_timestamp_difference takes two timestamps or two timestamptz, not {other:?}"
            ),
        }
    }

    fn return_type(
        &self,
        _args: &[datafusion::arrow::datatypes::DataType],
    ) -> datafusion::error::Result<datafusion::arrow::datatypes::DataType> {
        Ok(datafusion::arrow::datatypes::DataType::Interval(
            datafusion::arrow::datatypes::IntervalUnit::MonthDayNano,
        ))
    }

    fn invoke_with_args(
        &self,
        args: datafusion::logical_expr::ScalarFunctionArgs,
    ) -> datafusion::error::Result<datafusion::logical_expr::ColumnarValue> {
        use datafusion::arrow::array::{Array, AsArray, IntervalMonthDayNanoBuilder};
        use datafusion::arrow::datatypes::{IntervalMonthDayNano, TimestampMicrosecondType};
        use datafusion::logical_expr::ColumnarValue;
        let scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let [later, earlier] = arrays.as_slice() else {
            return datafusion::common::exec_err!(
                "laketap_timestamp_difference takes two timestamps"
            );
        };
        let (later, earlier) = (
            later.as_primitive::<TimestampMicrosecondType>(),
            earlier.as_primitive::<TimestampMicrosecondType>(),
        );
        let mut out = IntervalMonthDayNanoBuilder::with_capacity(later.len());
        for i in 0..later.len() {
            if later.is_null(i) || earlier.is_null(i) {
                out.append_null();
                continue;
            }
            let Some(micros) = later.value(i).checked_sub(earlier.value(i)) else {
                return datafusion::common::exec_err!("interval out of range");
            };
            let interval = justified_difference(micros);
            out.append_value(IntervalMonthDayNano::new(
                0,
                interval.days,
                interval.micros * 1000,
            ));
        }
        let result: datafusion::arrow::array::ArrayRef = std::sync::Arc::new(out.finish());
        Ok(if scalar {
            ColumnarValue::Scalar(datafusion::scalar::ScalarValue::try_from_array(&result, 0)?)
        } else {
            ColumnarValue::Array(result)
        })
    }
}

#[cfg(test)]
mod difference_tests {
    use super::*;

    #[test]
    fn differences_are_days_and_time_with_one_sign() {
        // PostgreSQL 15: '2026-03-01 08:30' - '2025-05-31 04:48:49.4' is
        // 274 days 03:41:10.6; the other way round, -274 days -03:41:10.6.
        let micros = ((274 * 24 + 3) * 3600 + 41 * 60 + 10) * 1_000_000 + 600_000;
        assert_eq!(
            justified_difference(micros),
            Interval {
                months: 0,
                days: 274,
                micros: (3 * 3600 + 41 * 60 + 10) * 1_000_000 + 600_000
            }
        );
        assert_eq!(
            justified_difference(-micros),
            Interval {
                months: 0,
                days: -274,
                micros: -((3 * 3600 + 41 * 60 + 10) * 1_000_000 + 600_000)
            }
        );
        assert_eq!(justified_difference(0), Interval::default());
    }
}

#[cfg(test)]
mod difference_sql_tests {
    use super::*;

    #[tokio::test]
    async fn null_operands_give_null() {
        let ctx = datafusion::prelude::SessionContext::new();
        ctx.register_udf(datafusion::logical_expr::ScalarUDF::new_from_impl(
            TimestampDifference::default(),
        ));
        let row = crate::test_util::first_row(
            &ctx,
            "SELECT laketap_timestamp_difference(t, TIMESTAMP '2026-01-01') IS NULL, \
             laketap_timestamp_difference(TIMESTAMP '2026-01-02', TIMESTAMP '2026-01-01') \
             FROM (VALUES (CAST(NULL AS TIMESTAMP))) AS v(t)",
        )
        .await;
        assert_eq!(row, ["true", "1 days"]);
    }
}
