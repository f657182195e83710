//! `timestamp::text` and `timestamptz::text` as PostgreSQL writes them.
//!
//! DataFusion casts a timestamp to text in ISO 8601 (`2026-03-01T10:00:00`,
//! `2026-03-01T13:00:00+01:00`, `…Z`); PostgreSQL writes `2026-03-01
//! 10:00:00` and `2026-03-01 13:00:00+01`, fractions trimmed. Clients and BI
//! tools that cast to text for display or grouping (Tableau's and Power BI's
//! generated SQL does) saw the other form.
//!
//! [`rewrite`] (in laketap's analyzer rule, [`crate::rules`]) replaces such a cast with
//! [`timestamp_text`], which writes PostgreSQL's ISO DateStyle: a zoned
//! value in its zone with the offset as PostgreSQL prints it (`+01`,
//! `+05:30`).

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, StringBuilder};
use datafusion::arrow::datatypes::{DataType, TimeUnit, TimestampMicrosecondType};
use datafusion::common::tree_node::Transformed;
use datafusion::common::{DFSchema, ExprSchema};
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::expr::{Cast, ScalarFunction};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ExprSchemable, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility, cast,
};

pub(crate) fn rewrite<'a>(
    expr: Expr,
    schema: &dyn Fn() -> &'a DFSchema,
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
    let Ok(DataType::Timestamp(_, zone)) = inner.get_type(schema() as &dyn ExprSchema) else {
        return Ok(Transformed::no(expr));
    };
    let target = field.data_type().clone();
    let micros = cast(
        inner.as_ref().clone(),
        DataType::Timestamp(TimeUnit::Microsecond, zone),
    );
    let text = Expr::ScalarFunction(ScalarFunction::new_udf(
        Arc::new(ScalarUDF::new_from_impl(PgTimestampText::default())),
        vec![micros],
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
    use chrono::{DateTime, Offset, TimeZone};
    let utc = DateTime::from_timestamp_micros(micros)?;
    let (local, offset) = match zone {
        Some(zone) => {
            let zoned = zone.from_utc_datetime(&utc.naive_utc());
            (
                zoned.naive_local(),
                Some(zoned.offset().fix().local_minus_utc()),
            )
        }
        None => (utc.naive_utc(), None),
    };
    let mut text = crate::pgtext::trim_fraction(&local.format("%Y-%m-%d %H:%M:%S%.6f").to_string())
        .into_owned();
    if let Some(seconds) = offset {
        let sign = if seconds < 0 { '-' } else { '+' };
        let seconds = seconds.unsigned_abs();
        let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
        text.push_str(&format!("{sign}{h:02}"));
        if m != 0 || s != 0 {
            text.push_str(&format!(":{m:02}"));
        }
        if s != 0 {
            text.push_str(&format!(":{s:02}"));
        }
    }
    Some(text)
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct PgTimestampText {
    signature: Signature,
}

impl Default for PgTimestampText {
    fn default() -> Self {
        PgTimestampText {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for PgTimestampText {
    fn name(&self) -> &str {
        "laketap_timestamp_text"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let values = arrays[0].as_primitive::<TimestampMicrosecondType>();
        let zone = match arrays[0].data_type() {
            DataType::Timestamp(_, Some(zone)) => Some(
                zone.parse::<datafusion::arrow::array::timezone::Tz>()
                    .map_err(|e| datafusion::error::DataFusionError::Execution(e.to_string()))?,
            ),
            _ => None,
        };
        let mut out = StringBuilder::with_capacity(values.len(), values.len() * 24);
        for i in 0..values.len() {
            if values.is_null(i) {
                out.append_null();
            } else {
                out.append_option(timestamp_text(values.value(i), zone.as_ref()));
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
}
