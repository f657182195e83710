//! Timestamp and date input that PostgreSQL reads and Arrow's parser
//! refuses, as text Arrow reads or as the expression PostgreSQL means.
//!
//! - A time of day without seconds (`timestamp '2026-03-31 10:00'`,
//!   `ts >= '2026-03-01 9:05'`): Arrow failed with "error parsing time";
//!   the seconds are written out (`10:00:00`).
//! - `'today'`, `'tomorrow'`, `'yesterday'`: midnight of the session's
//!   day, the next and the one before (from `current_date`). (`'now'` is
//!   left to Arrow's parser, which refuses it: write `now()`.)
//!
//! [`rewrite`] runs in [`crate::rules::PgExpressions`], after type
//! coercion, so a string compared with a timestamp column is read so too.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::common::tree_node::Transformed;
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::expr::{Cast, ScalarFunction};
use datafusion::logical_expr::{Expr, Operator, binary_expr, lit};

/// A cast of a string literal to a date or timestamp, with the literal as
/// PostgreSQL reads it.
pub fn rewrite(expr: Expr) -> DfResult<Transformed<Expr>> {
    let Expr::Cast(Cast { expr: inner, field }) = &expr else {
        return Ok(Transformed::no(expr));
    };
    if !matches!(
        field.data_type(),
        DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64
    ) {
        return Ok(Transformed::no(expr));
    }
    let text = match inner.as_ref() {
        Expr::Literal(
            ScalarValue::Utf8(Some(t))
            | ScalarValue::Utf8View(Some(t))
            | ScalarValue::LargeUtf8(Some(t)),
            _,
        ) => t.clone(),
        _ => return Ok(Transformed::no(expr)),
    };
    let cast = |e: Expr| Expr::Cast(Cast::new_from_field(Box::new(e), field.clone()));
    if let Some(days) = special_day(&text) {
        let today = Expr::ScalarFunction(ScalarFunction::new_udf(
            datafusion::functions::datetime::current_date(),
            vec![],
        ));
        let day = match days {
            0 => today,
            n => binary_expr(
                today,
                Operator::Plus,
                lit(ScalarValue::new_interval_dt(n, 0)),
            ),
        };
        // Midnight of that day, as the cast's type.
        let midnight = Expr::Cast(Cast::new(
            Box::new(day),
            DataType::Timestamp(datafusion::arrow::datatypes::TimeUnit::Microsecond, None),
        ));
        return Ok(Transformed::yes(cast(midnight)));
    }
    match with_seconds(&text) {
        Some(text) => Ok(Transformed::yes(cast(lit(text)))),
        None => Ok(Transformed::no(expr)),
    }
}

/// `'today'` (0), `'tomorrow'` (1), `'yesterday'` (-1).
fn special_day(text: &str) -> Option<i32> {
    match text.trim().to_ascii_lowercase().as_str() {
        "today" => Some(0),
        "tomorrow" => Some(1),
        "yesterday" => Some(-1),
        _ => None,
    }
}

/// `YYYY-MM-DD[ T]H:MM[zone]` with `:00` seconds after the minutes, or
/// `None` for any other text (left to Arrow's parser).
fn with_seconds(text: &str) -> Option<String> {
    let trimmed = text.trim();
    let date_end = trimmed.find([' ', 'T'])?;
    let (date, rest) = trimmed.split_at(date_end);
    let date_ok = date.len() == 10
        && date.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !date_ok {
        return None;
    }
    let time = &rest[1..];
    let hour_end = time.find(':')?;
    let hour = &time[..hour_end];
    let after_hour = &time[hour_end + 1..];
    let minutes = after_hour.get(..2)?;
    let zone = &after_hour[2..];
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !(digits(hour) && hour.len() <= 2 && digits(minutes)) || zone.starts_with([':', '.']) {
        return None;
    }
    Some(format!("{date} {hour:0>2}:{minutes}:00{zone}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::first_row;
    use datafusion::prelude::SessionContext;

    #[test]
    fn seconds_are_written_out_where_missing() {
        assert_eq!(
            with_seconds("2026-03-31 10:00").as_deref(),
            Some("2026-03-31 10:00:00")
        );
        assert_eq!(
            with_seconds("2026-03-01T9:05+02").as_deref(),
            Some("2026-03-01 09:05:00+02")
        );
        assert_eq!(with_seconds("2026-03-31 10:00:30"), None);
        assert_eq!(with_seconds("2026-03-31"), None);
        assert_eq!(with_seconds("10:00"), None);
        assert_eq!(with_seconds("2026-03-31 10:00.5"), None);
    }

    #[tokio::test]
    async fn postgresql_timestamp_input_is_read() {
        let ctx = SessionContext::new();
        ctx.add_analyzer_rule(std::sync::Arc::new(crate::rules::PgExpressions));
        let row = first_row(
            &ctx,
            "SELECT CAST(TIMESTAMP '2026-03-31 10:00' AS VARCHAR), \
             CAST(TIMESTAMP '2026-03-01 10:00:00' >= '2026-03-01 9:05' AS VARCHAR), \
             CAST('today' AS DATE) = current_date, \
             CAST('tomorrow' AS TIMESTAMP) = CAST(current_date + INTERVAL '1 day' AS TIMESTAMP), \
             CAST('yesterday' AS DATE) = current_date - INTERVAL '1 day',",
        )
        .await;
        assert_eq!(row, ["2026-03-31 10:00:00", "true", "true", "true", "true"]);
    }
}
