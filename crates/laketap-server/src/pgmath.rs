//! PostgreSQL's numeric functions DataFusion lacks or spells otherwise:
//!
//! - `width_bucket(operand, low, high, count)`: the bucket (1..count) of an equi-width
//!   histogram from low to high that operand falls in; 0 below it and count + 1 above
//!   (a reversed range, low > high, counts downwards), as PostgreSQL: the
//!   Superset/Grafana histogram query. Operands are float8 (numerics are cast), and the
//!   bucket is computed exactly on their shortest decimal texts, which gives PostgreSQL
//!   15's answers where float8 arithmetic rounds below a bucket boundary; a count below 1
//!   or equal bounds are PostgreSQL's errors (2201G).
//! - `ceiling(x)` and `sign(x)`, PostgreSQL's names of DataFusion's `ceil` and `signum`.

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, Int32Array};
use datafusion::arrow::datatypes::{DataType, Float64Type, Int32Type};
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionContext;

/// Registers `width_bucket`, `ceiling` and `sign`.
pub fn register(ctx: &SessionContext) {
    ctx.register_udf(ScalarUDF::new_from_impl(WidthBucket {
        signature: Signature::user_defined(Volatility::Immutable),
    }));
    for (name, postgres) in [("ceil", "ceiling"), ("signum", "sign")] {
        if let Ok(f) = datafusion::execution::FunctionRegistry::udf(ctx, name) {
            ctx.register_udf(f.as_ref().clone().with_aliases([postgres]));
        }
    }
}

/// PostgreSQL's `width_bucket_float8`.
pub fn width_bucket(operand: f64, low: f64, high: f64, count: i32) -> Result<i32> {
    if count <= 0 {
        return exec_err!("count must be greater than zero");
    }
    if operand.is_nan() || low.is_nan() || high.is_nan() {
        return exec_err!("operand, lower bound, and upper bound cannot be NaN");
    }
    if !low.is_finite() || !high.is_finite() {
        return exec_err!("lower and upper bounds must be finite");
    }
    let bucket = |from: f64, at: f64, to: f64| -> Result<i32> {
        let b = match exact_offset(from, at, to, count) {
            Some(b) => b,
            None => (f64::from(count) * (at - from) / (to - from)).floor() as i64,
        };
        // Rounding can put an operand just below the top into bucket count + 1.
        Ok((b + 1).clamp(1, i64::from(count)) as i32)
    };
    if low < high {
        if operand < low {
            Ok(0)
        } else if operand >= high {
            count_past(count)
        } else {
            bucket(low, operand, high)
        }
    } else if low > high {
        if operand > low {
            Ok(0)
        } else if operand <= high {
            count_past(count)
        } else {
            bucket(-low, -operand, -high)
        }
    } else {
        exec_err!("lower bound cannot equal upper bound")
    }
}

/// ⌊count × (at − from) / (to − from)⌋ computed exactly on the values' shortest
/// decimal texts (`0.3`, not 0.299999999999999988898), which is what PostgreSQL 15
/// answers: `width_bucket(0.3::float8, 0.1, 0.5, 2)` is 2 there, where float8
/// arithmetic gives 1.9999999999999998 and bucket 1. `None` when the values do not
/// fit 38 digits at a common scale (1e300), left to float8 arithmetic.
fn exact_offset(from: f64, at: f64, to: f64, count: i32) -> Option<i64> {
    use datafusion::arrow::datatypes::i256;
    let parts = [from, at, to].map(|v| {
        let text = format!("{v:e}");
        let (mantissa, exponent) = text.split_once('e')?;
        let exponent: i32 = exponent.parse().ok()?;
        let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let digits: i128 = format!("{whole}{fraction}").parse().ok()?;
        Some((digits, fraction.len() as i32 - exponent))
    });
    let [Some(from), Some(at), Some(to)] = parts else {
        return None;
    };
    let scale = from.1.max(at.1).max(to.1);
    let rescale = |(digits, s): (i128, i32)| -> Option<i256> {
        let up = u32::try_from(scale - s).ok()?;
        i256::from_i128(digits).checked_mul(i256::from_i128(10).checked_pow(up)?)
    };
    let (from, at, to) = (rescale(from)?, rescale(at)?, rescale(to)?);
    let offset = at
        .checked_sub(from)?
        .checked_mul(i256::from_i128(i128::from(count)))?;
    let width = to.checked_sub(from)?;
    // Both are positive here (from ≤ at < to), so the quotient is the floor.
    offset
        .checked_div(width)?
        .to_i128()
        .and_then(|q| i64::try_from(q).ok())
}

fn count_past(count: i32) -> Result<i32> {
    match count.checked_add(1) {
        Some(c) => Ok(c),
        None => exec_err!("integer out of range"),
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct WidthBucket {
    signature: Signature,
}

impl ScalarUDFImpl for WidthBucket {
    fn name(&self) -> &str {
        "width_bucket"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let number = |t: &DataType| t.is_numeric() || t.is_null();
        match args {
            [operand, low, high, count]
                if number(operand) && number(low) && number(high) && number(count) =>
            {
                Ok(vec![
                    DataType::Float64,
                    DataType::Float64,
                    DataType::Float64,
                    DataType::Int32,
                ])
            }
            _ => exec_err!(
                "function width_bucket({}) does not exist",
                args.iter()
                    .map(|t| t.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int32)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let [operand, low, high, count] = arrays.as_slice() else {
            return exec_err!("width_bucket takes 4 arguments");
        };
        let (Some(operand), Some(low), Some(high), Some(count)) = (
            operand.as_primitive_opt::<Float64Type>(),
            low.as_primitive_opt::<Float64Type>(),
            high.as_primitive_opt::<Float64Type>(),
            count.as_primitive_opt::<Int32Type>(),
        ) else {
            return exec_err!("width_bucket of (float8, float8, float8, int4) only");
        };
        let mut out = Vec::with_capacity(rows);
        for row in 0..operand.len() {
            if operand.is_null(row) || low.is_null(row) || high.is_null(row) || count.is_null(row) {
                out.push(None);
                continue;
            }
            out.push(Some(width_bucket(
                operand.value(row),
                low.value(row),
                high.value(row),
                count.value(row),
            )?));
        }
        let result: datafusion::arrow::array::ArrayRef = Arc::new(Int32Array::from(out));
        if args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)))
        {
            return Ok(ColumnarValue::Scalar(
                datafusion::common::ScalarValue::try_from_array(&result, 0)?,
            ));
        }
        Ok(ColumnarValue::Array(result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_postgresqls() {
        // PostgreSQL 15.18: width_bucket(x, 5.0, 10.0, 5) for 9.5, 7.25, 8.0, 6.5, 5.75,
        // 4.9, 10, then width_bucket(7.25, 10, 5, 5) and width_bucket(5, 10, 5, 5).
        let row: Vec<i32> = [9.5, 7.25, 8.0, 6.5, 5.75, 4.9, 10.0]
            .iter()
            .map(|&x| width_bucket(x, 5.0, 10.0, 5).expect("bucket"))
            .collect();
        assert_eq!(row, [5, 3, 4, 2, 1, 0, 6]);
        assert_eq!(width_bucket(7.25, 10.0, 5.0, 5).expect("reversed"), 3);
        // PostgreSQL 15.18 for (o, l, h, c) = (0.3, 0.1, 0.5, 2), (10.01, 7.11, 11.17, 7),
        // (0.7, 0.1, 1.0, 3), (0.6, 0.0, 1.0, 10), (2.9, 1.1, 3.4, 9): 2, 6, 3, 7, 8.
        let cases = [
            (0.3, 0.1, 0.5, 2),
            (10.01, 7.11, 11.17, 7),
            (0.7, 0.1, 1.0, 3),
            (0.6, 0.0, 1.0, 10),
            (2.9, 1.1, 3.4, 9),
        ];
        let got: Vec<i32> = cases
            .iter()
            .map(|&(o, l, h, c)| width_bucket(o, l, h, c).expect("bucket"))
            .collect();
        assert_eq!(got, [2, 6, 3, 7, 8]);
        // Past 38 digits it is float8 arithmetic, and still a bucket in range.
        assert_eq!(width_bucket(1e300, 0.0, 2e300, 4).expect("wide"), 3);
        assert_eq!(width_bucket(5.0, 10.0, 5.0, 5).expect("reversed"), 6);
        let zero = width_bucket(1.0, 0.0, 2.0, 0).expect_err("count 0");
        assert!(zero.to_string().contains("count must be greater than zero"));
        let equal = width_bucket(1.0, 2.0, 2.0, 3).expect_err("equal bounds");
        assert!(
            equal
                .to_string()
                .contains("lower bound cannot equal upper bound")
        );
    }
}
