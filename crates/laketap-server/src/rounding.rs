//! `floor`, `ceil` and `trunc` of a numeric, with PostgreSQL's scale.
//!
//! PostgreSQL's `floor(numeric)`, `ceil(numeric)` and `trunc(numeric)` are
//! integers of scale 0 (`floor(12.50)` is `12`); DataFusion keeps the
//! argument's scale (`12.00`), which a client prints as such. A lake column
//! of `numeric(12,2)`, a `numeric` parameter and [`crate::extract`]'s
//! results meet them. [`ScaleZero`] wraps each in client sessions: a
//! decimal argument gives a decimal of scale 0, one digit wider for a
//! carry (`ceil(9.5)` is `10`); other arguments are left as DataFusion
//! answers them, as is `trunc(x, n)`.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::preimage::PreimageResult;
use datafusion::logical_expr::simplify::SimplifyContext;
use datafusion::logical_expr::sort_properties::{ExprProperties, SortProperties};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
};

/// The functions wrapped, by name.
pub const FUNCTIONS: [&str; 3] = ["floor", "ceil", "trunc"];

/// A rounding function whose decimal results have scale 0.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ScaleZero {
    inner: Arc<ScalarUDF>,
}

impl ScaleZero {
    pub fn new(inner: Arc<ScalarUDF>) -> Self {
        ScaleZero { inner }
    }
}

/// The scale-0 type for a one-argument call on `input`, when it changes.
fn scale_zero(arg_fields: &[FieldRef]) -> Option<DataType> {
    match arg_fields {
        [only] => match only.data_type() {
            DataType::Decimal128(p, s) if *s > 0 => {
                let integer_digits = i16::from(*p) - i16::from(*s) + 1;
                let precision = u8::try_from(integer_digits.clamp(1, 38)).ok()?;
                Some(DataType::Decimal128(precision, 0))
            }
            _ => None,
        },
        _ => None,
    }
}

impl ScalarUDFImpl for ScaleZero {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> DfResult<DataType> {
        self.inner.return_type(arg_types)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> DfResult<FieldRef> {
        let to = scale_zero(args.arg_fields);
        let field = self.inner.return_field_from_args(args)?;
        Ok(match to {
            Some(to) => Arc::new(field.as_ref().clone().with_data_type(to)),
            None => field,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let Some(to) = scale_zero(&args.arg_fields) else {
            return self.inner.invoke_with_args(args);
        };
        // The inner function answers in its argument's type, widened by a
        // digit first for a carry (`ceil(9.5)`); its values are whole, so
        // the cast to scale 0 is exact.
        let DataType::Decimal128(p, s) = *args.arg_fields[0].data_type() else {
            return self.inner.invoke_with_args(args);
        };
        let wide = DataType::Decimal128(p.saturating_add(1).min(38), s);
        let field = |name: &str, nullable: bool| Arc::new(Field::new(name, wide.clone(), nullable));
        let ScalarFunctionArgs {
            args: values,
            arg_fields,
            number_rows,
            return_field,
            config_options,
        } = args;
        let values = values
            .into_iter()
            .map(|v| v.cast_to(&wide, None))
            .collect::<DfResult<Vec<_>>>()?;
        let whole = self.inner.invoke_with_args(ScalarFunctionArgs {
            args: values,
            arg_fields: vec![field(arg_fields[0].name(), arg_fields[0].is_nullable())],
            number_rows,
            return_field: field(self.name(), return_field.is_nullable()),
            config_options,
        })?;
        whole.cast_to(&to, None)
    }

    fn output_ordering(&self, inputs: &[ExprProperties]) -> DfResult<SortProperties> {
        self.inner.output_ordering(inputs)
    }

    /// The inner function's preimage (`floor(x) = 3` as a range on `x`),
    /// where this one answers in its argument's type: its bounds are in
    /// that type. A decimal argument's scale-0 result is compared with a
    /// literal of another scale than the argument's, and is left alone.
    fn preimage(
        &self,
        args: &[Expr],
        lit_expr: &Expr,
        info: &SimplifyContext,
    ) -> DfResult<PreimageResult> {
        let arg_types = args
            .iter()
            .map(|a| info.get_data_type(a))
            .collect::<DfResult<Vec<_>>>()?;
        let fields: Vec<FieldRef> = arg_types
            .into_iter()
            .map(|t| Arc::new(Field::new("", t, true)))
            .collect();
        if scale_zero(&fields).is_some() {
            return Ok(PreimageResult::None);
        }
        self.inner.preimage(args, lit_expr, info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::SessionContext;

    #[tokio::test]
    async fn a_numeric_is_rounded_to_scale_zero() {
        let ctx = SessionContext::new();
        for name in FUNCTIONS {
            let inner =
                datafusion::execution::FunctionRegistry::udf(&ctx.state(), name).expect("built in");
            ctx.register_udf(ScalarUDF::new_from_impl(ScaleZero::new(inner)));
        }
        let batches = crate::test_util::batches(
            &ctx,
            "SELECT floor(CAST(12.50 AS DECIMAL(4, 2))), ceil(CAST(9.5 AS DECIMAL(2, 1))), \
             trunc(CAST(-2.7 AS DECIMAL(2, 1))), floor(CAST(-0.5 AS DECIMAL(2, 1))), \
             floor(2.5), trunc(CAST(2.567 AS DECIMAL(4, 3)), 1)",
        )
        .await;
        let batch = &batches[0];
        let texts = crate::test_util::row_text(batch, 0);
        // PostgreSQL 15: 12, 10, -2, -1; a float stays a float; trunc(x, n)
        // is left as DataFusion answers it.
        assert_eq!(texts, vec!["12", "10", "-2", "-1", "2.0", "2.500"]);
        let schema = batch.schema();
        assert_eq!(schema.field(0).data_type(), &DataType::Decimal128(3, 0));
        assert_eq!(schema.field(1).data_type(), &DataType::Decimal128(2, 0));
    }

    #[tokio::test]
    async fn floor_of_a_float_compared_keeps_its_range() {
        let ctx = SessionContext::new();
        let inner =
            datafusion::execution::FunctionRegistry::udf(&ctx.state(), "floor").expect("built in");
        ctx.register_udf(ScalarUDF::new_from_impl(ScaleZero::new(inner)));
        ctx.sql("CREATE TABLE f (x double, d decimal(4, 2)) AS VALUES (2.5, 2.50), (3.5, 3.50)")
            .await
            .expect("table");
        let plan = |sql: &'static str| {
            let ctx = ctx.clone();
            async move {
                ctx.sql(sql)
                    .await
                    .expect("plans")
                    .into_optimized_plan()
                    .expect("optimizes")
                    .display_indent()
                    .to_string()
            }
        };
        // DataFusion's floor preimage: a range on x.
        let float = plan("SELECT x FROM f WHERE floor(x) = 3").await;
        assert!(
            float.contains("f.x >= Float64(3)") && float.contains("f.x < Float64(4)"),
            "{float}"
        );
        // A numeric's scale-0 floor is compared as it is, and answers right.
        let numeric = plan("SELECT d FROM f WHERE floor(d) = 3").await;
        assert!(numeric.contains("floor(f.d)"), "{numeric}");
        let batches = crate::test_util::batches(&ctx, "SELECT d FROM f WHERE floor(d) = 3").await;
        assert_eq!(crate::test_util::row_text(&batches[0], 0), ["3.50"]);
    }
}
