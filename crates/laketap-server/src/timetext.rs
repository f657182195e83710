//! `date::text`, `timestamp::text`, `timestamptz::text` and `interval::text`
//! as PostgreSQL writes them, in the session's DateStyle and IntervalStyle.
//!
//! DataFusion casts a timestamp to text in ISO 8601 (`2026-03-01T10:00:00`,
//! `2026-03-01T13:00:00+01:00`, `…Z`) and an interval in its own words (`1
//! days 2 hours`, `14 mons … 6.700000000 secs`); PostgreSQL writes
//! `2026-03-01 10:00:00`, `2026-03-01 13:00:00+01` and `1 day 02:00:00`
//! (or the SQL, Postgres or German DateStyle's form, and the IntervalStyle's).
//! Clients and BI tools that cast to text for display or grouping (Tableau's
//! and Power BI's generated SQL does) saw the other form.
//!
//! [`rewrite`] (in laketap's analyzer rule, [`crate::rules`]) replaces such a
//! cast with [`PgDateTimeText`], which writes it through [`crate::pgstyle`]:
//! a zoned value in its zone, named as PostgreSQL names it (`+01`,
//! `+05:30`; `CET` in the other DateStyles).

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, StringBuilder};
use datafusion::arrow::datatypes::{
    DataType, Date32Type, IntervalMonthDayNanoType, IntervalUnit, TimeUnit,
    TimestampMicrosecondType,
};
use datafusion::common::tree_node::Transformed;
use datafusion::common::{DFSchema, ExprSchema};
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::expr::{Cast, ScalarFunction};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ExprSchemable, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility, cast,
};

use crate::pgstyle::{self, Styles};

pub(crate) fn rewrite<'a>(
    expr: Expr,
    schema: &dyn Fn() -> &'a DFSchema,
    styles: Styles,
) -> DfResult<Transformed<Expr>> {
    let Expr::Cast(Cast { expr: inner, field }) = &expr else {
        return Ok(Transformed::no(expr));
    };
    if !matches!(
        field.data_type(),
        DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8
    ) {
        return Ok(Transformed::no(expr));
    }
    let canonical = match inner.get_type(schema() as &dyn ExprSchema) {
        Ok(DataType::Timestamp(_, zone)) => DataType::Timestamp(TimeUnit::Microsecond, zone),
        Ok(DataType::Date32 | DataType::Date64) => DataType::Date32,
        Ok(DataType::Interval(_)) => DataType::Interval(IntervalUnit::MonthDayNano),
        _ => return Ok(Transformed::no(expr)),
    };
    let target = field.data_type().clone();
    let text = Expr::ScalarFunction(ScalarFunction::new_udf(
        Arc::new(ScalarUDF::new_from_impl(PgDateTimeText::new(styles))),
        vec![cast(inner.as_ref().clone(), canonical)],
    ));
    Ok(Transformed::yes(if target == DataType::Utf8 {
        text
    } else {
        cast(text, target)
    }))
}

/// A timestamp in microseconds as PostgreSQL's ISO DateStyle writes it; a
/// zoned one (`zone`) with its offset.
pub fn timestamp_text(
    micros: i64,
    zone: Option<&datafusion::arrow::array::timezone::Tz>,
) -> Option<String> {
    styled_timestamp(micros, zone.map(|z| (z, None)), Styles::default())
}

/// A timestamp in microseconds in `styles`; a zoned one in its zone
/// (`zone`: the zone and, for its abbreviation, its named zone).
fn styled_timestamp(
    micros: i64,
    zone: Option<(
        &datafusion::arrow::array::timezone::Tz,
        Option<&chrono_tz::Tz>,
    )>,
    styles: Styles,
) -> Option<String> {
    use chrono::{DateTime, Offset, TimeZone};
    let utc = DateTime::from_timestamp_micros(micros)?;
    Some(match zone {
        Some((tz, named)) => {
            let zoned = tz.from_utc_datetime(&utc.naive_utc());
            let local = zoned.naive_local();
            let zone = pgstyle::Zone::of(named, local, zoned.offset().fix().local_minus_utc());
            pgstyle::timestamp(local, Some(&zone), styles)
        }
        None => pgstyle::timestamp(utc.naive_utc(), None, styles),
    })
}

/// Dates, timestamps and intervals as text in the session's styles.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PgDateTimeText {
    signature: Signature,
    styles: Styles,
}

impl PgDateTimeText {
    pub fn new(styles: Styles) -> Self {
        PgDateTimeText {
            signature: Signature::any(1, Volatility::Immutable),
            styles,
        }
    }
}

impl ScalarUDFImpl for PgDateTimeText {
    fn name(&self) -> &str {
        "laketap_datetime_text"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let input = &arrays[0];
        let mut out = StringBuilder::with_capacity(input.len(), input.len() * 24);
        let styles = self.styles;
        match input.data_type() {
            DataType::Timestamp(_, zone) => {
                let zone = match zone {
                    Some(name) => Some((
                        name.parse::<datafusion::arrow::array::timezone::Tz>()
                            .map_err(|e| {
                                datafusion::error::DataFusionError::Execution(e.to_string())
                            })?,
                        // Only the other DateStyles name the zone: read once.
                        (styles.date != pgstyle::DateOut::Iso)
                            .then(|| pgstyle::named_zone(name))
                            .flatten(),
                    )),
                    None => None,
                };
                let values = input.as_primitive::<TimestampMicrosecondType>();
                for i in 0..values.len() {
                    out.append_option(
                        values
                            .is_valid(i)
                            .then(|| {
                                styled_timestamp(
                                    values.value(i),
                                    zone.as_ref().map(|(tz, named)| (tz, named.as_ref())),
                                    styles,
                                )
                            })
                            .flatten(),
                    );
                }
            }
            DataType::Date32 => {
                let values = input.as_primitive::<Date32Type>();
                for i in 0..values.len() {
                    out.append_option(
                        values
                            .is_valid(i)
                            .then(|| values.value_as_date(i))
                            .flatten()
                            .map(|d| pgstyle::date(d, styles)),
                    );
                }
            }
            DataType::Interval(IntervalUnit::MonthDayNano) => {
                let values = input.as_primitive::<IntervalMonthDayNanoType>();
                for i in 0..values.len() {
                    out.append_option(values.is_valid(i).then(|| {
                        let v = values.value(i);
                        pgstyle::interval(v.months, v.days, v.nanoseconds / 1000, styles.interval)
                    }));
                }
            }
            other => {
                return Err(datafusion::error::DataFusionError::Internal(format!(
                    "laketap_datetime_text: unexpected {other}"
                )));
            }
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

#[cfg(test)]
mod tests {
    use datafusion::prelude::SessionContext;

    #[tokio::test]
    async fn timestamps_cast_to_text_as_postgresql_writes_them() {
        let ctx = SessionContext::new();
        let text = crate::rules::table_text(
            &ctx,
            "SELECT CAST(TIMESTAMP '2026-03-01 10:00:00' AS TEXT) AS a, \
                 CAST(TIMESTAMP '2026-03-01 10:00:00.120' AS VARCHAR) AS b, \
                 CAST(arrow_cast('2026-03-01T12:00:00Z', 'Timestamp(Microsecond, Some(\"Europe/Paris\"))') AS TEXT) AS c, \
                 CAST(arrow_cast('2026-03-01T12:00:00Z', 'Timestamp(Microsecond, Some(\"Asia/Kolkata\"))') AS TEXT) AS d",
        )
        .await;
        for value in [
            "| 2026-03-01 10:00:00 ",
            "| 2026-03-01 10:00:00.12 ",
            "| 2026-03-01 13:00:00+01 ",
            "| 2026-03-01 17:30:00+05:30 |",
        ] {
            assert!(text.contains(value), "{value} in\n{text}");
        }
    }

    #[tokio::test]
    async fn dates_and_intervals_cast_to_text_as_postgresql_writes_them() {
        let ctx = SessionContext::new();
        let text = crate::rules::table_text(
            &ctx,
            "SELECT CAST(DATE '2026-03-01' AS TEXT) AS a, \
                 CAST(INTERVAL '1 year 2 months 3 days 4 hours 5 minutes 6.7 seconds' AS TEXT) AS b, \
                 CAST(INTERVAL '1 day' - INTERVAL '1 hour' AS TEXT) AS c",
        )
        .await;
        for value in [
            "| 2026-03-01 ",
            "| 1 year 2 mons 3 days 04:05:06.7 ",
            "| 1 day -01:00:00 |",
        ] {
            assert!(text.contains(value), "{value} in\n{text}");
        }
    }
}
