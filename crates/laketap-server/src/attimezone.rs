//! `x AT TIME ZONE zone` as PostgreSQL types it.
//!
//! PostgreSQL's `AT TIME ZONE` goes both ways: a timestamp (without zone)
//! is read as wall time in `zone` and gives a timestamptz; a timestamptz
//! gives the wall time in `zone`, a timestamp. Metabase wraps timestamptz
//! columns so for a report time zone (`date_trunc('day', ts AT TIME ZONE
//! 'Europe/Paris')`), and its buckets and their text follow from the
//! timestamp it gets. DataFusion plans `AT TIME ZONE` as a cast to a
//! timestamp in `zone`, which is right for a timestamp and, for a
//! timestamptz, only relabels it: it stayed a timestamptz.
//!
//! [`crate::compat`] writes `x AT TIME ZONE z` as `laketap_at_time_zone(x,
//! z)`, [`PgAtTimeZone`]. The zone is read as `SET TIME ZONE` reads one
//! ([`laketap_engine::pgsettings::parse_time_zone`]), and must be a constant.

use std::sync::Arc;

use chrono::{DateTime, Offset, TimeZone};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, TimestampMicrosecondArray};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, TimeUnit, TimestampMicrosecondType};
use datafusion::common::{ScalarValue, exec_err, plan_err};
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

/// The name `x AT TIME ZONE z` is planned as.
pub const NAME: &str = "laketap_at_time_zone";

/// See the module documentation.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PgAtTimeZone {
    signature: Signature,
}

impl Default for PgAtTimeZone {
    fn default() -> Self {
        PgAtTimeZone {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

/// The Arrow zone of an `AT TIME ZONE` zone, or PostgreSQL's error.
fn arrow_zone(zone: Option<&ScalarValue>) -> DfResult<Arc<str>> {
    let Some(text) = zone.and_then(|z| z.try_as_str().flatten()) else {
        return plan_err!("AT TIME ZONE takes a constant time zone here (a literal such as 'UTC')");
    };
    match laketap_engine::pgsettings::parse_time_zone(text) {
        Some(zone) => Ok(zone.arrow.into()),
        None => Err(DataFusionError::Configuration(format!(
            "time zone \"{text}\" not recognized"
        ))),
    }
}

impl ScalarUDFImpl for PgAtTimeZone {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> DfResult<Vec<DataType>> {
        let [value, zone] = arg_types else {
            return plan_err!("AT TIME ZONE takes a timestamp and a zone");
        };
        let value = match value {
            DataType::Timestamp(_, zone) => {
                DataType::Timestamp(TimeUnit::Microsecond, zone.clone())
            }
            DataType::Date32
            | DataType::Date64
            | DataType::Null
            | DataType::Utf8
            | DataType::Utf8View
            | DataType::LargeUtf8 => DataType::Timestamp(TimeUnit::Microsecond, None),
            other => return plan_err!("AT TIME ZONE takes a timestamp, not {other}"),
        };
        let zone = match zone {
            DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 | DataType::Null => {
                DataType::Utf8
            }
            other => return plan_err!("AT TIME ZONE takes a zone name, not {other}"),
        };
        Ok(vec![value, zone])
    }

    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        exec_err!("{NAME}: return_field_from_args is called instead")
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> DfResult<FieldRef> {
        let zone = arrow_zone(args.scalar_arguments.get(1).copied().flatten())?;
        let Some(input) = args.arg_fields.first() else {
            return plan_err!("AT TIME ZONE takes a timestamp and a zone");
        };
        let to = match input.data_type() {
            // A timestamptz: its wall time there.
            DataType::Timestamp(_, Some(_)) => DataType::Timestamp(TimeUnit::Microsecond, None),
            // A timestamp: read as wall time there.
            _ => DataType::Timestamp(TimeUnit::Microsecond, Some(zone)),
        };
        Ok(Arc::new(Field::new(self.name(), to, input.is_nullable())))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let zone = match args.args.get(1) {
            Some(ColumnarValue::Scalar(zone)) => arrow_zone(Some(zone))?,
            _ => return exec_err!("AT TIME ZONE takes a constant time zone here"),
        };
        let Some(value) = args.args.first() else {
            return exec_err!("AT TIME ZONE takes a timestamp and a zone");
        };
        let is_scalar = matches!(value, ColumnarValue::Scalar(_));
        let array = value.to_array(args.number_rows)?;
        let result: ArrayRef = match array.data_type() {
            DataType::Timestamp(_, Some(_)) => {
                let tz: datafusion::arrow::array::timezone::Tz = zone.parse()?;
                let values = array.as_primitive::<TimestampMicrosecondType>();
                let mut wall = Vec::with_capacity(values.len());
                for i in 0..values.len() {
                    if values.is_null(i) {
                        wall.push(None);
                        continue;
                    }
                    let micros = values.value(i);
                    let Some(utc) = DateTime::from_timestamp_micros(micros) else {
                        return exec_err!("AT TIME ZONE: timestamp out of range");
                    };
                    let offset = tz.offset_from_utc_datetime(&utc.naive_utc()).fix();
                    wall.push(Some(
                        micros + i64::from(offset.local_minus_utc()) * 1_000_000,
                    ));
                }
                Arc::new(TimestampMicrosecondArray::from(wall))
            }
            // Arrow reads a zone-less timestamp cast into a zone as wall
            // time there.
            _ => datafusion::arrow::compute::cast(
                &array,
                &DataType::Timestamp(TimeUnit::Microsecond, Some(zone)),
            )?,
        };
        Ok(if is_scalar {
            ColumnarValue::Scalar(ScalarValue::try_from_array(&result, 0)?)
        } else {
            ColumnarValue::Array(result)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::logical_expr::ScalarUDF;
    use datafusion::prelude::SessionContext;

    /// PostgreSQL 15 (session TimeZone UTC): `timestamptz '2026-03-01
    /// 10:30+02' AT TIME ZONE 'UTC'` is the timestamp `2026-03-01
    /// 08:30:00`; `timestamp '2026-07-01 12:00' AT TIME ZONE
    /// 'Europe/Paris'` is the timestamptz `2026-07-01 10:00:00+00`.
    #[tokio::test]
    async fn at_time_zone_goes_both_ways() {
        let ctx = SessionContext::new();
        ctx.register_udf(ScalarUDF::new_from_impl(PgAtTimeZone::default()));
        ctx.sql("SET datafusion.execution.time_zone = 'UTC'")
            .await
            .expect("zone");
        let batches = crate::test_util::batches(
            &ctx,
            "SELECT laketap_at_time_zone(CAST('2026-03-01T10:30:00+02:00' AS TIMESTAMP WITH TIME ZONE), 'UTC') AS a, \
             laketap_at_time_zone(TIMESTAMP '2026-07-01 12:00:00', 'Europe/Paris') AS b, \
             laketap_at_time_zone(CAST('2026-07-01T12:00:00Z' AS TIMESTAMP WITH TIME ZONE), 'GMT+5') AS c, \
             laketap_at_time_zone(CAST(NULL AS TIMESTAMP), 'UTC') AS d",
        )
        .await;
        let schema = batches[0].schema();
        let types: Vec<&DataType> = schema.fields().iter().map(|f| f.data_type()).collect();
        assert_eq!(
            types,
            [
                &DataType::Timestamp(TimeUnit::Microsecond, None),
                &DataType::Timestamp(TimeUnit::Microsecond, Some("Europe/Paris".into())),
                &DataType::Timestamp(TimeUnit::Microsecond, None),
                &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            ]
        );
        assert_eq!(
            crate::test_util::row_text(&batches[0], 0),
            [
                "2026-03-01T08:30:00",
                "2026-07-01T12:00:00+02:00",
                // GMT+5 is POSIX: five hours west.
                "2026-07-01T07:00:00",
                ""
            ]
        );
        let refused = ctx
            .sql("SELECT laketap_at_time_zone(TIMESTAMP '2026-07-01 12:00:00', 'Nowhere/x')")
            .await
            .expect_err("unknown zone");
        assert!(
            refused
                .to_string()
                .contains("time zone \"Nowhere/x\" not recognized")
        );
    }
}
