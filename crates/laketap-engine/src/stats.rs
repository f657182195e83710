//! Statistics functions for the experiment view: `erfc(x)` and
//! `normal_cdf(x)`, in double precision (libm's `erfc`, a port of FreeBSD's
//! msun). `normal_cdf(x) = erfc(-x / √2) / 2` keeps its precision in both
//! tails, unlike `1 - Φ(x)`, which loses every digit once x > 8.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, Float64Array};
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::logical_expr::{ColumnarValue, Volatility, create_udf};
use datafusion::prelude::SessionContext;

/// The complementary error function.
pub fn erfc(x: f64) -> f64 {
    libm::erfc(x)
}

/// The standard normal cumulative distribution function Φ(x).
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

fn unary(name: &str, f: fn(f64) -> f64) -> datafusion::logical_expr::ScalarUDF {
    create_udf(
        name,
        vec![DataType::Float64],
        DataType::Float64,
        Volatility::Immutable,
        Arc::new(move |args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let input = arrays[0].as_primitive::<Float64Type>();
            let out: Float64Array = input.unary(f);
            Ok(ColumnarValue::Array(Arc::new(out) as ArrayRef))
        }),
    )
}

/// Registers `erfc(double)` and `normal_cdf(double)`.
pub fn register(ctx: &SessionContext) {
    ctx.register_udf(unary("erfc", erfc));
    ctx.register_udf(unary("normal_cdf", normal_cdf));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(actual: f64, expected: f64, rel: f64) -> bool {
        ((actual - expected) / expected).abs() <= rel
    }

    #[test]
    fn erfc_matches_published_values() {
        // Abramowitz & Stegun table 7.1 and Wolfram|Alpha, 16+ significant digits.
        let table = [
            (0.0, 1.0),
            (0.5, 0.479_500_122_186_953_5),
            (1.0, 0.157_299_207_050_285_13),
            (2.0, 0.004_677_734_981_047_266),
            (3.0, 2.209_049_699_858_544e-5),
            (5.0, 1.537_459_794_428_034_8e-12),
            (10.0, 2.088_487_583_762_545e-45),
            (-1.0, 1.842_700_792_949_715),
        ];
        for (x, expected) in table {
            assert!(close(erfc(x), expected, 1e-14), "erfc({x}) = {}", erfc(x));
        }
    }

    #[test]
    fn normal_cdf_matches_published_values() {
        // Φ(1.96) = 0.9750021048517795; Φ(-1.96) = 0.024997895148220435;
        // two-sided p for z = 6: 2Φ(-6) = 1.9731752900753963e-9; Φ(-10) = 7.6198530241605261e-24.
        assert!(close(normal_cdf(1.96), 0.975_002_104_851_779_5, 1e-15));
        assert!(close(normal_cdf(-1.96), 0.024_997_895_148_220_435, 1e-13));
        assert!(close(
            2.0 * normal_cdf(-6.0),
            1.973_175_290_075_396e-9,
            1e-12
        ));
        assert!(close(normal_cdf(-10.0), 7.619_853_024_160_527e-24, 1e-13));
        assert_eq!(normal_cdf(0.0), 0.5);
        // The p-value formula of KPI_SPEC: erfc(|z| / √2) = 2 (1 - Φ(|z|)).
        let z: f64 = 2.5;
        assert!(close(
            erfc(z.abs() / std::f64::consts::SQRT_2),
            2.0 * (1.0 - normal_cdf(z)),
            1e-12
        ));
    }
}
