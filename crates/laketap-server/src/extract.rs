//! `EXTRACT(field FROM x)` as PostgreSQL 14+ answers it: a numeric.
//!
//! DataFusion plans EXTRACT as `date_part`, which gives float8 for `epoch`
//! and int4 for every other field, the seconds without their fraction
//! (`extract(second from '12:00:05.5')` is 5). PostgreSQL's EXTRACT gives
//! numeric: `epoch` of a timestamp with six fraction digits
//! (`1772323200.000000`, what Grafana's `$__timeEpoch` and
//! `$__timeGroup` send), `second` with six, `milliseconds` with three, and
//! the other fields as integers. (`date_part()` called by name stays
//! float8-like in both, and is left to DataFusion.)
//!
//! [`PgExtractPlanner`] plans EXTRACT in client sessions as [`PgExtract`],
//! which asks DataFusion's `date_part` for an exact integer and gives it
//! PostgreSQL's scale: the epoch of a timestamp from its microseconds, the
//! seconds and milliseconds from the microseconds within the minute. A
//! field it does not know (`julian`, `century`, …) is left to `date_part`
//! whole.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Decimal128Array};
use datafusion::arrow::compute::kernels::cast_utils::IntervalUnit;
use datafusion::arrow::datatypes::{
    DataType, Field, FieldRef, Float64Type, Int32Type, Int64Type, TimeUnit,
};
use datafusion::common::{ScalarValue, exec_err};
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::planner::{ExprPlanner, PlannerResult};
use datafusion::logical_expr::preimage::PreimageResult;
use datafusion::logical_expr::simplify::SimplifyContext;
use datafusion::logical_expr::{
    ColumnarValue, Expr, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
};

/// Plans EXTRACT as [`PgExtract`].
#[derive(Debug)]
pub struct PgExtractPlanner {
    udf: Arc<ScalarUDF>,
}

impl Default for PgExtractPlanner {
    fn default() -> Self {
        PgExtractPlanner {
            udf: Arc::new(ScalarUDF::new_from_impl(PgExtract::default())),
        }
    }
}

impl ExprPlanner for PgExtractPlanner {
    fn plan_extract(&self, args: Vec<Expr>) -> DfResult<PlannerResult<Vec<Expr>>> {
        Ok(PlannerResult::Planned(Expr::ScalarFunction(
            ScalarFunction::new_udf(self.udf.clone(), args),
        )))
    }
}

/// What PostgreSQL's EXTRACT gives for a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// Seconds since 1970: scale 6 (0 for a date).
    Epoch,
    /// The microseconds within the minute, read at `scale` (6 for
    /// `second`, 3 for `milliseconds`, 0 for `microseconds`).
    WithinMinute { scale: i8 },
    /// An integer field (`year`, `dow`, …), as `date_part` gives it.
    Integer,
}

impl Part {
    /// The field as EXTRACT names it (`'epoch'`, `SECONDS`, `ms`, …), or
    /// `None` for one left to `date_part`.
    fn of(name: &str) -> Option<Part> {
        let name = name
            .strip_prefix(['\'', '"'])
            .and_then(|s| s.strip_suffix(['\'', '"']))
            .unwrap_or(name);
        if name.eq_ignore_ascii_case("epoch") {
            return Some(Part::Epoch);
        }
        if let Ok(unit) = name.parse::<IntervalUnit>() {
            return match unit {
                IntervalUnit::Second => Some(Part::WithinMinute { scale: 6 }),
                IntervalUnit::Millisecond => Some(Part::WithinMinute { scale: 3 }),
                IntervalUnit::Microsecond => Some(Part::WithinMinute { scale: 0 }),
                IntervalUnit::Year
                | IntervalUnit::Month
                | IntervalUnit::Week
                | IntervalUnit::Day
                | IntervalUnit::Hour
                | IntervalUnit::Minute => Some(Part::Integer),
                _ => None,
            };
        }
        let known = ["isoyear", "qtr", "quarter", "doy", "dow", "isodow"];
        known
            .iter()
            .any(|k| name.eq_ignore_ascii_case(k))
            .then_some(Part::Integer)
    }

    /// The numeric scale of the result for an argument of type `input`.
    fn scale(self, input: &DataType) -> i8 {
        match self {
            Part::Epoch if matches!(input, DataType::Date32 | DataType::Date64) => 0,
            Part::Epoch => 6,
            Part::WithinMinute { scale } => scale,
            Part::Integer => 0,
        }
    }

    /// The `date_part` field that gives this one's integer.
    fn date_part_name(self, name: &str) -> &str {
        match self {
            Part::WithinMinute { .. } => "microsecond",
            Part::Epoch | Part::Integer => name,
        }
    }
}

/// EXTRACT as a numeric ([module docs](self)).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PgExtract {
    date_part: Arc<ScalarUDF>,
}

impl Default for PgExtract {
    fn default() -> Self {
        PgExtract {
            date_part: datafusion::functions::datetime::date_part(),
        }
    }
}

/// The field name of an EXTRACT call's first (literal) argument.
fn part_name(value: Option<&ScalarValue>) -> Option<String> {
    value.and_then(|v| v.try_as_str().flatten().map(str::to_string))
}

impl ScalarUDFImpl for PgExtract {
    fn name(&self) -> &str {
        "extract"
    }

    fn signature(&self) -> &Signature {
        self.date_part.signature()
    }

    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        exec_err!("extract: return_field_from_args is called instead")
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> DfResult<FieldRef> {
        let name = part_name(args.scalar_arguments.first().copied().flatten());
        match (name.as_deref().and_then(Part::of), args.arg_fields.get(1)) {
            (Some(part), Some(input)) => Ok(Arc::new(Field::new(
                self.name(),
                DataType::Decimal128(38, part.scale(input.data_type())),
                input.is_nullable(),
            ))),
            _ => self.date_part.return_field_from_args(args),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let name = match args.args.first() {
            Some(ColumnarValue::Scalar(value)) => part_name(Some(value)),
            _ => None,
        };
        let (Some(name), Some(part), Some(input)) = (
            name.as_deref(),
            name.as_deref().and_then(Part::of),
            args.args.get(1).cloned(),
        ) else {
            return self.date_part.invoke_with_args(args);
        };
        let DataType::Decimal128(precision, scale) = *args.return_type() else {
            return self.date_part.invoke_with_args(args);
        };
        let is_scalar = matches!(input, ColumnarValue::Scalar(_));
        let array = match input {
            ColumnarValue::Array(array) => array,
            ColumnarValue::Scalar(value) => value.to_array_of_size(1)?,
        };
        let unscaled: Decimal128Array = match exact(part, &array)? {
            Some(unscaled) => unscaled,
            None => {
                let inner_part = ScalarValue::Utf8(Some(part.date_part_name(name).to_string()));
                // The field date_part answers for that part (float8 for the
                // epoch, int4 or int8 for the others), as date_part says.
                let return_field = self.date_part.return_field_from_args(ReturnFieldArgs {
                    arg_fields: &args.arg_fields,
                    scalar_arguments: &[Some(&inner_part), None],
                })?;
                let rows = array.len();
                let inner = self.date_part.invoke_with_args(ScalarFunctionArgs {
                    args: vec![
                        ColumnarValue::Scalar(inner_part),
                        ColumnarValue::Array(array),
                    ],
                    arg_fields: args.arg_fields.clone(),
                    number_rows: rows,
                    return_field,
                    config_options: args.config_options.clone(),
                })?;
                let values = inner.to_array(rows)?;
                integer_at_scale(&values, scale)?
            }
        };
        let result: ArrayRef = Arc::new(unscaled.with_precision_and_scale(precision, scale)?);
        Ok(if is_scalar {
            ColumnarValue::Scalar(ScalarValue::try_from_array(&result, 0)?)
        } else {
            ColumnarValue::Array(result)
        })
    }

    /// `extract(year FROM ts) = 2026` as `date_part`'s range on `ts`, which
    /// prunes files and row groups: the numeric literal the comparison
    /// was coerced to is given to `date_part` as the integer it compares.
    fn preimage(
        &self,
        args: &[Expr],
        lit_expr: &Expr,
        info: &SimplifyContext,
    ) -> DfResult<PreimageResult> {
        let value = match lit_expr {
            Expr::Literal(value, _) => Some(value.clone()),
            Expr::Cast(cast) => cast
                .expr
                .as_literal()
                .and_then(|v| v.cast_to(cast.field.data_type()).ok()),
            _ => None,
        };
        let whole = match &value {
            Some(ScalarValue::Decimal128(Some(v), _, scale)) => 10_i128
                .checked_pow(u32::try_from(*scale).unwrap_or(u32::MAX))
                .filter(|unit| v % unit == 0)
                .and_then(|unit| i32::try_from(v / unit).ok()),
            Some(ScalarValue::Int64(Some(v))) => i32::try_from(*v).ok(),
            Some(ScalarValue::Int32(Some(v))) => Some(*v),
            _ => None,
        };
        match whole {
            Some(whole) => self.date_part.preimage(
                args,
                &Expr::Literal(ScalarValue::Int32(Some(whole)), None),
                info,
            ),
            None => Ok(PreimageResult::None),
        }
    }
}

/// PostgreSQL's days per month and seconds per year in an interval's
/// epoch (`DAYS_PER_MONTH`, 365.25 days a year).
const MICROS_PER_MONTH: i128 = 30 * 86_400 * 1_000_000;
const MICROS_PER_YEAR: i128 = 31_557_600 * 1_000_000;
const MICROS_PER_MINUTE: i128 = 60_000_000;

/// The unscaled values of `part` read exactly from the microseconds of a
/// timestamp (epoch), a duration or an interval (epoch and the fields
/// within the minute), or `None` where `date_part` answers. (`date_part`
/// counts a duration's seconds in an i32 of microseconds, which overflows
/// past 35 minutes, and drops an interval's fraction of a second.)
fn exact(part: Part, array: &ArrayRef) -> DfResult<Option<Decimal128Array>> {
    use datafusion::arrow::datatypes::IntervalMonthDayNanoType;
    let within_minute = matches!(part, Part::WithinMinute { .. });
    if !(part == Part::Epoch || within_minute) {
        return Ok(None);
    }
    let to_micros = |unit: &TimeUnit, v: i64| -> i128 {
        match unit {
            TimeUnit::Second => i128::from(v) * 1_000_000,
            TimeUnit::Millisecond => i128::from(v) * 1_000,
            TimeUnit::Microsecond => i128::from(v),
            TimeUnit::Nanosecond => i128::from(v.div_euclid(1_000)),
        }
    };
    Ok(Some(match array.data_type() {
        // The stored instant (UTC for a timestamptz), not a wall time.
        DataType::Timestamp(unit, _) if part == Part::Epoch => {
            let values = datafusion::arrow::compute::cast(array, &DataType::Int64)?;
            values
                .as_primitive::<Int64Type>()
                .unary(|v| to_micros(unit, v))
        }
        DataType::Duration(unit) => {
            let values = datafusion::arrow::compute::cast(array, &DataType::Int64)?;
            values.as_primitive::<Int64Type>().unary(|v| {
                let micros = to_micros(unit, v);
                if within_minute {
                    micros % MICROS_PER_MINUTE
                } else {
                    micros
                }
            })
        }
        DataType::Interval(_) => {
            let values = datafusion::arrow::compute::cast(
                array,
                &DataType::Interval(datafusion::arrow::datatypes::IntervalUnit::MonthDayNano),
            )?;
            values
                .as_primitive::<IntervalMonthDayNanoType>()
                .unary(|v| {
                    let time = i128::from(v.nanoseconds / 1_000);
                    if within_minute {
                        return time % MICROS_PER_MINUTE;
                    }
                    let months = i128::from(v.months);
                    (months / 12) * MICROS_PER_YEAR
                        + (months % 12) * MICROS_PER_MONTH
                        + i128::from(v.days) * 86_400 * 1_000_000
                        + time
                })
        }
        _ => return Ok(None),
    }))
}

/// `date_part`'s integers (or float epoch) as unscaled values at `scale`:
/// an integer is already unscaled (`date_part`'s microseconds for a scale-6
/// second); a float epoch is rounded to `scale` digits.
fn integer_at_scale(values: &ArrayRef, scale: i8) -> DfResult<Decimal128Array> {
    Ok(match values.data_type() {
        DataType::Int32 => values.as_primitive::<Int32Type>().unary(i128::from),
        DataType::Int64 => values.as_primitive::<Int64Type>().unary(i128::from),
        DataType::Float64 => {
            let factor = 10f64.powi(i32::from(scale));
            values
                .as_primitive::<Float64Type>()
                .unary(|v| (v * factor).round() as i128)
        }
        other => return exec_err!("extract: unexpected date_part result {other}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::SessionContext;

    /// A session that plans EXTRACT as client sessions do.
    fn session() -> SessionContext {
        let state = datafusion::execution::SessionStateBuilder::new()
            .with_default_features()
            .build();
        let mut planners: Vec<Arc<dyn ExprPlanner>> = vec![Arc::new(PgExtractPlanner::default())];
        planners.extend(state.expr_planners().iter().cloned());
        let state = datafusion::execution::SessionStateBuilder::new_from_existing(state)
            .with_expr_planners(planners)
            .build();
        SessionContext::new_with_state(state)
    }

    async fn extracted(sql: &str) -> (Vec<DataType>, Vec<String>) {
        let ctx = session();
        let batches = crate::test_util::batches(&ctx, sql).await;
        let batch = &batches[0];
        (
            crate::test_util::types(batch),
            crate::test_util::row_text(batch, 0),
        )
    }

    #[tokio::test]
    async fn a_year_compared_is_a_range_of_the_timestamps_that_prunes() {
        let ctx = session();
        ctx.sql(
            "CREATE TABLE e (ts timestamp) AS VALUES \
             (TIMESTAMP '2025-12-31 23:59:59.999999'), (TIMESTAMP '2026-01-01 00:00:00'), \
             (TIMESTAMP '2026-07-01 12:00:00'), (TIMESTAMP '2027-01-01 00:00:00')",
        )
        .await
        .expect("table");
        let sql = "SELECT count(*) FROM e WHERE extract(year FROM ts) = 2026";
        let frame = ctx.sql(sql).await.expect("plans");
        let optimized = frame
            .clone()
            .into_optimized_plan()
            .expect("optimizes")
            .display_indent()
            .to_string();
        // The filter a scan can prune with (DataFusion's date_part range),
        // not a call on every row.
        assert!(
            optimized.contains("e.ts >= TimestampNanosecond(1767225600000000000")
                && optimized.contains("e.ts < TimestampNanosecond(1798761600000000000")
                && !optimized.contains("extract("),
            "{optimized}"
        );
        let batches = frame.collect().await.expect("runs");
        assert_eq!(crate::test_util::row_text(&batches[0], 0), ["2"]);
    }

    #[tokio::test]
    async fn extract_gives_postgresql_numerics() {
        // PostgreSQL 15: 1772323205.123456, 5.123456, 5123.456, 5123456,
        // 2026, 0 (Sunday), 1772323200 for the date.
        let (types, texts) = extracted(
            "SELECT extract(epoch FROM TIMESTAMP '2026-03-01 00:00:05.123456'), \
             extract(second FROM TIMESTAMP '2026-03-01 00:00:05.123456'), \
             extract(milliseconds FROM TIMESTAMP '2026-03-01 00:00:05.123456'), \
             extract(microseconds FROM TIMESTAMP '2026-03-01 00:00:05.123456'), \
             extract(year FROM TIMESTAMP '2026-03-01 00:00:05'), \
             extract(dow FROM DATE '2026-03-01'), \
             extract(epoch FROM DATE '2026-03-01'), \
             extract(epoch FROM TIMESTAMPTZ '1969-12-31 23:59:59.5+00')",
        )
        .await;
        assert_eq!(
            texts,
            vec![
                "1772323205.123456",
                "5.123456",
                "5123.456",
                "5123456",
                "2026",
                "0",
                "1772323200",
                "-0.500000"
            ]
        );
        assert_eq!(types[0], DataType::Decimal128(38, 6));
        assert_eq!(types[2], DataType::Decimal128(38, 3));
        assert_eq!(types[6], DataType::Decimal128(38, 0));
    }

    #[tokio::test]
    async fn durations_and_intervals_are_exact() {
        // PostgreSQL 15: 3600.500000, 0.500000, 500.000, 34300.000000 for
        // 9 h 31 min 40 s, 93600.000000, 12.250000, 31557600.000000 for a year.
        let (_, texts) = extracted(
            "SELECT extract(epoch FROM TIMESTAMP '2026-03-01 01:00:00.5' - TIMESTAMP '2026-03-01 00:00:00'), \
             extract(second FROM TIMESTAMP '2026-03-01 01:00:00.5' - TIMESTAMP '2026-03-01 00:00:00'), \
             extract(milliseconds FROM TIMESTAMP '2026-03-01 01:00:00.5' - TIMESTAMP '2026-03-01 00:00:00'), \
             extract(epoch FROM TIMESTAMP '2026-03-01 09:31:40' - TIMESTAMP '2026-03-01 00:00:00'), \
             extract(epoch FROM INTERVAL '1 day 2 hours'), \
             extract(second FROM INTERVAL '3 minutes 12.25 seconds'), \
             extract(epoch FROM INTERVAL '1 year')",
        )
        .await;
        assert_eq!(
            texts,
            vec![
                "3600.500000",
                "0.500000",
                "500.000",
                "34300.000000",
                "93600.000000",
                "12.250000",
                "31557600.000000"
            ]
        );
    }

    #[test]
    fn fields_are_read_as_postgresql_names_them() {
        assert_eq!(Part::of("EPOCH"), Some(Part::Epoch));
        assert_eq!(Part::of("'seconds'"), Some(Part::WithinMinute { scale: 6 }));
        assert_eq!(Part::of("ms"), Some(Part::WithinMinute { scale: 3 }));
        assert_eq!(Part::of("isodow"), Some(Part::Integer));
        assert_eq!(Part::of("julian"), None);
    }
}
