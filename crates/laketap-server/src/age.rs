//! PostgreSQL's `age(timestamp, timestamp)` and `age(timestamp)`.
//!
//! DataFusion has no `age`; cohort and retention queries use it
//! (`age(now(), signup_at)`, `extract(year from age(birth_date))`). It is
//! PostgreSQL's "symbolic" difference (`timestamp_age`): years, months and
//! days counted on the calendar, not a number of days, so
//! `age('2026-03-02', '2026-01-01')` is `2 mons 1 day`. Each field is
//! subtracted, and a negative field borrows from the next larger one, a
//! day borrowing the length of the month of the earlier timestamp. `age(x)`
//! is `age(current_date, x)`, as in PostgreSQL.
//!
//! Dates and timestamps are read as timestamps without a zone; a
//! timestamptz is read in its own zone (PostgreSQL: the session's).
//!
//! `age(xid)` is PostgreSQL's other `age`: how many transaction ids ago one
//! was assigned, an int4, counted from the next id of the server's counter
//! ([`crate::pgserver::TransactionIds`]); PostgreSQL's special ids (below 3)
//! are infinitely old (`2147483647`). DataGrip orders `pg_locks` by it.

use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDateTime, Timelike};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, IntervalMonthDayNanoBuilder};
use datafusion::arrow::datatypes::{
    DataType, IntervalMonthDayNano, IntervalUnit, TimeUnit, TimestampMicrosecondType,
};
use datafusion::common::{ScalarValue, exec_err, plan_err};
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::simplify::{ExprSimplifyResult, SimplifyContext};
use datafusion::logical_expr::{
    Cast, ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// The timestamps `age` computes with.
const TIMESTAMP: DataType = DataType::Timestamp(TimeUnit::Microsecond, None);

/// The type of a transaction id argument (`xid` columns are UInt32).
const XID: DataType = DataType::UInt32;

/// `age(a, b)`, `age(a)` and `age(xid)` (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Age {
    signature: Signature,
    xids: crate::pgserver::TransactionIds,
}

impl Default for Age {
    fn default() -> Self {
        Age::new(crate::pgserver::TransactionIds::default())
    }
}

impl Age {
    /// `age`, with `age(xid)` counted from `xids`.
    pub fn new(xids: crate::pgserver::TransactionIds) -> Self {
        Age {
            // Stable: age(xid) depends on the transaction ids assigned so far.
            signature: Signature::user_defined(Volatility::Stable),
            xids,
        }
    }
}

/// PostgreSQL's `xid_age`: `next - xid` as an int4 (wrapping, as xids do), and
/// int4's maximum for the special ids below 3 (FirstNormalTransactionId).
fn xid_age(next: u32, xid: u32) -> i32 {
    if xid < 3 {
        i32::MAX
    } else {
        next.wrapping_sub(xid) as i32
    }
}

impl ScalarUDFImpl for Age {
    fn name(&self) -> &str {
        "age"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> DfResult<Vec<DataType>> {
        if !(1..=2).contains(&arg_types.len()) {
            return plan_err!("age takes one or two timestamps, not {}", arg_types.len());
        }
        if arg_types == [XID] {
            return Ok(vec![XID]);
        }
        arg_types
            .iter()
            .map(|t| match t {
                DataType::Null
                | DataType::Date32
                | DataType::Date64
                | DataType::Timestamp(_, _)
                | DataType::Utf8
                | DataType::Utf8View
                | DataType::LargeUtf8 => Ok(TIMESTAMP),
                other => plan_err!("age takes timestamps or dates, not {other}"),
            })
            .collect()
    }

    fn return_type(&self, arg_types: &[DataType]) -> DfResult<DataType> {
        if arg_types == [XID] {
            return Ok(DataType::Int32);
        }
        Ok(DataType::Interval(IntervalUnit::MonthDayNano))
    }

    /// `age(x)` is `age(current_date, x)` (a timestamp's, not an xid's).
    fn simplify(&self, args: Vec<Expr>, info: &SimplifyContext) -> DfResult<ExprSimplifyResult> {
        if args.len() != 1 || info.get_data_type(&args[0])? == XID {
            return Ok(ExprSimplifyResult::Original(args));
        }
        let today = Expr::Cast(Cast::new(
            Box::new(Expr::ScalarFunction(ScalarFunction::new_udf(
                datafusion::functions::datetime::current_date(),
                vec![],
            ))),
            TIMESTAMP,
        ));
        let mut both = vec![today];
        both.extend(args);
        Ok(ExprSimplifyResult::Simplified(Expr::ScalarFunction(
            ScalarFunction::new_udf(Arc::new(ScalarUDF::new_from_impl(self.clone())), both),
        )))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let rows = args.number_rows;
        let is_scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let [later, earlier] = match args.args.as_slice() {
            [a, b] => [a.to_array(rows)?, b.to_array(rows)?],
            [xid] if xid.data_type() == XID => {
                let next = self.xids.next_id();
                let xids = xid.to_array(rows)?;
                let ages: datafusion::arrow::array::Int32Array = xids
                    .as_primitive::<datafusion::arrow::datatypes::UInt32Type>()
                    .iter()
                    .map(|x| x.map(|x| xid_age(next, x)))
                    .collect();
                let result: ArrayRef = Arc::new(ages);
                return Ok(if is_scalar {
                    ColumnarValue::Scalar(ScalarValue::try_from_array(&result, 0)?)
                } else {
                    ColumnarValue::Array(result)
                });
            }
            _ => return exec_err!("age: today's date is supplied when planning"),
        };
        let (later, earlier) = (
            later.as_primitive::<TimestampMicrosecondType>(),
            earlier.as_primitive::<TimestampMicrosecondType>(),
        );
        let mut out = IntervalMonthDayNanoBuilder::with_capacity(rows);
        for i in 0..later.len() {
            if later.is_null(i) || earlier.is_null(i) {
                out.append_null();
                continue;
            }
            let at = |micros: i64| {
                DateTime::from_timestamp_micros(micros)
                    .map(|d| d.naive_utc())
                    .ok_or_else(|| {
                        datafusion::error::DataFusionError::Execution(
                            "age: timestamp out of range".to_string(),
                        )
                    })
            };
            out.append_value(age(at(later.value(i))?, at(earlier.value(i))?)?);
        }
        let result: ArrayRef = Arc::new(out.finish());
        Ok(if is_scalar {
            ColumnarValue::Scalar(ScalarValue::try_from_array(&result, 0)?)
        } else {
            ColumnarValue::Array(result)
        })
    }
}

/// Days in `month` (1–12) of `year`.
fn days_in_month(year: i32, month: u32) -> i64 {
    let next = if month == 12 {
        chrono::NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        chrono::NaiveDate::from_ymd_opt(year, month + 1, 1)
    };
    let first = chrono::NaiveDate::from_ymd_opt(year, month, 1);
    match (first, next) {
        (Some(first), Some(next)) => (next - first).num_days(),
        _ => 31,
    }
}

/// PostgreSQL's `timestamp_age(a, b)`.
fn age(a: NaiveDateTime, b: NaiveDateTime) -> DfResult<IntervalMonthDayNano> {
    let negative = a < b;
    let sign = if negative { -1 } else { 1 };
    let field = |x: u32, y: u32| sign * (i64::from(x) - i64::from(y));
    let mut micros = field(a.nanosecond() / 1000, b.nanosecond() / 1000);
    let mut sec = field(a.second(), b.second());
    let mut min = field(a.minute(), b.minute());
    let mut hour = field(a.hour(), b.hour());
    let mut day = field(a.day(), b.day());
    let mut month = field(a.month(), b.month());
    let mut year = sign * (i64::from(a.year()) - i64::from(b.year()));
    // A negative field borrows from the next larger one.
    if micros < 0 {
        micros += 1_000_000;
        sec -= 1;
    }
    if sec < 0 {
        sec += 60;
        min -= 1;
    }
    if min < 0 {
        min += 60;
        hour -= 1;
    }
    if hour < 0 {
        hour += 24;
        day -= 1;
    }
    // A day borrows the length of the earlier timestamp's month.
    let earlier = if negative { a } else { b };
    while day < 0 {
        day += days_in_month(earlier.year(), earlier.month());
        month -= 1;
    }
    while month < 0 {
        month += 12;
        year -= 1;
    }
    let months = i32::try_from(sign * (year * 12 + month));
    let days = i32::try_from(sign * day);
    let nanos = sign * ((((hour * 60 + min) * 60 + sec) * 1_000_000 + micros) * 1000);
    match (months, days) {
        (Ok(months), Ok(days)) => Ok(IntervalMonthDayNano::new(months, days, nanos)),
        _ => exec_err!("age: interval out of range"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::SessionContext;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").expect("timestamp")
    }

    /// PostgreSQL 15's `age(a, b)`, as (months, days, microseconds).
    #[test]
    fn ages_are_postgresql_calendar_differences() {
        let cases = [
            // 2 mons 1 day
            ("2026-03-02 00:00:00", "2026-01-01 00:00:00", (2, 1, 0)),
            // 1 mon 21:29:59.5
            (
                "2026-03-01 10:00:00",
                "2026-01-31 12:30:00.5",
                (1, 0, 77_399_500_000),
            ),
            // -2 mons -1 days
            ("2026-01-01 00:00:00", "2026-03-02 00:00:00", (-2, -1, 0)),
            // 1 year 1 mon 2 days 01:00:00
            (
                "2026-03-31 00:00:00",
                "2025-02-28 23:00:00",
                (13, 2, 3_600_000_000),
            ),
            // -1 years -1 mons -2 days -01:00:00
            (
                "2025-02-28 23:00:00",
                "2026-03-31 00:00:00",
                (-13, -2, -3_600_000_000),
            ),
            // -1 mons -21:29:59.5
            (
                "2026-01-31 12:30:00.5",
                "2026-03-01 10:00:00",
                (-1, 0, -77_399_500_000),
            ),
            // 1 mon 1 day (January has 31 days)
            ("2024-03-01 00:00:00", "2024-01-31 00:00:00", (1, 1, 0)),
            // 1 mon
            ("2026-01-31 00:00:00", "2025-12-31 00:00:00", (1, 0, 0)),
            // 26 years 2 days (February 2000 has 29)
            ("2026-03-02 00:00:00", "2000-02-29 00:00:00", (312, 2, 0)),
        ];
        for (a, b, (months, days, micros)) in cases {
            assert_eq!(
                age(at(a), at(b)).expect("in range"),
                IntervalMonthDayNano::new(months, days, micros * 1000),
                "age('{a}', '{b}')"
            );
        }
    }

    #[tokio::test]
    async fn age_takes_dates_nulls_and_one_argument() {
        let ctx = SessionContext::new();
        ctx.register_udf(ScalarUDF::new_from_impl(Age::default()));
        let row = crate::test_util::first_row(
            &ctx,
            "SELECT age(DATE '2026-03-02', '2026-01-01') = INTERVAL '2 months 1 day', \
             age(NULL, DATE '2026-01-01') IS NULL, \
             age(current_date) = INTERVAL '0 days', \
             age(CAST(current_date AS TIMESTAMP) - INTERVAL '1 day') = INTERVAL '1 day'",
        )
        .await;
        assert_eq!(row, ["true", "true", "true", "true"]);
    }

    #[tokio::test]
    async fn age_of_a_transaction_id_counts_from_the_next_one() {
        // PostgreSQL: 2147483647 for the special ids, next - xid otherwise,
        // wrapping as 32-bit xids do.
        assert_eq!(xid_age(10, 2), i32::MAX);
        assert_eq!(xid_age(10, 7), 3);
        assert_eq!(xid_age(5, u32::MAX - 4), 10);
        let xids = crate::pgserver::TransactionIds::default();
        let ctx = SessionContext::new();
        ctx.register_udf(ScalarUDF::new_from_impl(Age::new(xids.clone())));
        let first = xids.assign();
        let row = crate::test_util::first_row(
            &ctx,
            &format!(
                "SELECT age(arrow_cast({first}, 'UInt32')), age(arrow_cast(1, 'UInt32')), \
                 age(arrow_cast(NULL, 'UInt32')) IS NULL"
            ),
        )
        .await;
        assert_eq!(row, ["1", "2147483647", "true"]);
    }
}
