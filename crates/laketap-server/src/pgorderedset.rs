//! PostgreSQL's ordered-set aggregates DataFusion lacks: `percentile_disc(f) WITHIN
//! GROUP (ORDER BY x)` and `mode() WITHIN GROUP (ORDER BY x)` (42883 before).
//!
//! - `percentile_disc(f)` is the first value whose position in the ordering reaches the
//!   fraction f: the ⌈f × n⌉-th of the n not-NULL values (the first when that is 0), as
//!   `percentile_disc_final` in PostgreSQL's orderedsetaggs.c. It is an actual input
//!   value, of the input's type (numbers, dates, timestamps, text), so BI tools' median
//!   of a date column works. f must be a constant from 0 to 1 (22003 otherwise); a NULL
//!   f gives NULL.
//! - `mode()` is the most frequent value; among equally frequent ones the first in the
//!   ordering (`mode_final` walks the sorted values and keeps the first longest run).
//!
//! NULL inputs are ignored and no rows give NULL. The values of a group are kept and
//! sorted once at the end (PostgreSQL sorts them too).

use std::mem::size_of;
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, make_comparator};
use datafusion::arrow::compute::{SortOptions, concat, sort_to_indices};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Schema};
use datafusion::common::{Result, ScalarValue, exec_err, internal_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::{AggregateOrderSensitivity, format_state_name};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, ColumnarValue, Signature, Volatility,
};
use datafusion::prelude::SessionContext;

/// Which ordered-set aggregate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    PercentileDisc,
    Mode,
}

/// `percentile_disc` or `mode` (see the module documentation).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct OrderedSet {
    kind: Kind,
    signature: Signature,
}

/// Registers `percentile_disc` and `mode`.
pub fn register(ctx: &SessionContext) {
    for kind in [Kind::PercentileDisc, Kind::Mode] {
        ctx.register_udaf(AggregateUDF::new_from_impl(OrderedSet {
            kind,
            signature: Signature::user_defined(Volatility::Immutable),
        }));
    }
}

impl AggregateUDFImpl for OrderedSet {
    fn name(&self) -> &str {
        match self.kind {
            Kind::PercentileDisc => "percentile_disc",
            Kind::Mode => "mode",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match (self.kind, args) {
            // The ordered value keeps its type; the fraction is a float8.
            (Kind::PercentileDisc, [value, fraction])
                if fraction.is_numeric() || fraction.is_null() =>
            {
                Ok(vec![value.clone(), DataType::Float64])
            }
            (Kind::Mode, [value]) => Ok(vec![value.clone()]),
            (Kind::PercentileDisc, _) => {
                exec_err!("percentile_disc takes a fraction and WITHIN GROUP (ORDER BY value)")
            }
            (Kind::Mode, _) => {
                exec_err!("mode takes no argument and WITHIN GROUP (ORDER BY value)")
            }
        }
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        match args.first() {
            Some(value) => Ok(value.clone()),
            None => exec_err!("{} needs WITHIN GROUP (ORDER BY value)", self.name()),
        }
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let value = args.input_fields.first().map(|f| f.data_type().clone());
        let Some(value) = value else {
            return internal_err!("{} has no ordered value", self.name());
        };
        let item = Arc::new(Field::new_list_field(value, true));
        Ok(vec![Arc::new(Field::new(
            format_state_name(args.name, "values"),
            DataType::List(item),
            true,
        ))])
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let descending = args
            .order_bys
            .first()
            .is_some_and(|sort| sort.options.descending);
        let fraction = match self.kind {
            Kind::Mode => None,
            Kind::PercentileDisc => Some(fraction_of(&args)?),
        };
        let value_type = match args.expr_fields.first() {
            Some(field) => field.data_type().clone(),
            None => return internal_err!("{} has no ordered value", self.name()),
        };
        Ok(Box::new(OrderedSetAccumulator {
            fraction,
            descending,
            value_type,
            values: Vec::new(),
        }))
    }

    fn order_sensitivity(&self) -> AggregateOrderSensitivity {
        // The accumulator sorts its values itself.
        AggregateOrderSensitivity::Insensitive
    }

    fn supports_within_group_clause(&self) -> bool {
        true
    }
}

/// The constant fraction of `percentile_disc(f)`, checked as PostgreSQL checks it.
fn fraction_of(args: &AccumulatorArgs) -> Result<f64> {
    // A constant evaluates to a scalar without any row.
    let empty = RecordBatch::new_empty(Arc::new(Schema::empty()));
    let constant = match args.exprs.get(1).map(|e| e.evaluate(&empty)) {
        Some(Ok(ColumnarValue::Scalar(constant))) => constant,
        _ => return exec_err!("percentile_disc's fraction must be a constant"),
    };
    match constant.cast_to(&DataType::Float64)? {
        ScalarValue::Float64(Some(f)) if (0.0..=1.0).contains(&f) => Ok(f),
        ScalarValue::Float64(Some(f)) => {
            exec_err!("value out of range: percentile value {f} is not between 0 and 1")
        }
        // A NULL fraction gives NULL, as in PostgreSQL.
        _ => Ok(f64::NAN),
    }
}

#[derive(Debug)]
struct OrderedSetAccumulator {
    /// `percentile_disc`'s fraction; `None` for `mode`.
    fraction: Option<f64>,
    descending: bool,
    value_type: DataType,
    /// The not-NULL inputs, batch by batch.
    values: Vec<ArrayRef>,
}

impl OrderedSetAccumulator {
    fn keep(&mut self, array: &ArrayRef) -> Result<()> {
        let kept = if array.null_count() == 0 {
            array.clone()
        } else {
            let valid = datafusion::arrow::compute::is_not_null(array)?;
            datafusion::arrow::compute::filter(array, &valid)?
        };
        if !kept.is_empty() {
            self.values.push(kept);
        }
        Ok(())
    }

    /// The values, sorted as WITHIN GROUP asks.
    fn sorted(&self) -> Result<Option<ArrayRef>> {
        if self.values.is_empty() {
            return Ok(None);
        }
        let parts: Vec<&dyn Array> = self.values.iter().map(|a| a.as_ref()).collect();
        let all = concat(&parts)?;
        let options = SortOptions {
            descending: self.descending,
            nulls_first: false,
        };
        let order = sort_to_indices(&all, Some(options), None)?;
        Ok(Some(datafusion::arrow::compute::take(&all, &order, None)?))
    }
}

impl Accumulator for OrderedSetAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        match values.first() {
            Some(array) => self.keep(array),
            None => internal_err!("ordered-set aggregate called without its value"),
        }
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let Some(lists) = states.first().and_then(|s| s.as_list_opt::<i32>()) else {
            return internal_err!("ordered-set aggregate state is not a list");
        };
        for list in lists.iter().flatten() {
            self.keep(&list)?;
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let values = match self.values.as_slice() {
            [] => datafusion::arrow::array::new_empty_array(&self.value_type),
            parts => {
                let parts: Vec<&dyn Array> = parts.iter().map(|a| a.as_ref()).collect();
                concat(&parts)?
            }
        };
        Ok(vec![
            datafusion::common::utils::SingleRowListArrayBuilder::new(values).build_list_scalar(),
        ])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let null_fraction = self.fraction.is_some_and(f64::is_nan);
        let sorted = match self.sorted()? {
            Some(sorted) if !null_fraction => sorted,
            _ => return ScalarValue::try_from(&self.value_type),
        };
        let n = sorted.len();
        let at = match self.fraction {
            Some(f) => {
                // PostgreSQL: rownum = ceil(f × n), at least 1.
                let rownum = (f * n as f64).ceil() as usize;
                rownum.clamp(1, n) - 1
            }
            None => {
                let same = make_comparator(&sorted, &sorted, SortOptions::default())?;
                let (mut best, mut best_len, mut start) = (0, 0, 0);
                for i in 1..=n {
                    if i == n || same(start, i).is_ne() {
                        if i - start > best_len {
                            (best, best_len) = (start, i - start);
                        }
                        start = i;
                    }
                }
                best
            }
        };
        ScalarValue::try_from_array(&sorted, at)
    }

    fn size(&self) -> usize {
        size_of::<Self>()
            + self
                .values
                .iter()
                .map(|a| a.get_array_memory_size())
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn answer(sql: &str) -> Vec<String> {
        let ctx = SessionContext::new();
        register(&ctx);
        let batches = ctx
            .sql(sql)
            .await
            .expect("planned")
            .collect()
            .await
            .expect("runs");
        crate::test_util::row_text(&batches[0], 0)
    }

    #[tokio::test]
    async fn percentile_disc_and_mode_are_postgresqls() {
        // PostgreSQL 15.18 over the same values answers 3, 1, 3, 5, 7, 2026-03-02, b, 1.
        let values = "(VALUES (5, DATE '2026-03-01', 'b'), (1, DATE '2026-03-02', 'a'), \
                      (3, DATE '2026-03-02', 'b'), (7, NULL, 'c'), (NULL, DATE '2026-03-04', NULL), \
                      (1, DATE '2026-03-05', 'a')) AS v(x, d, t)";
        let row = answer(&format!(
            "SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY x), \
             percentile_disc(0) WITHIN GROUP (ORDER BY x), \
             percentile_disc(0.5) WITHIN GROUP (ORDER BY x DESC), \
             percentile_disc(0.4) WITHIN GROUP (ORDER BY x DESC), \
             percentile_disc(1) WITHIN GROUP (ORDER BY x), \
             percentile_disc(0.5) WITHIN GROUP (ORDER BY d), \
             mode() WITHIN GROUP (ORDER BY t DESC), \
             mode() WITHIN GROUP (ORDER BY x) FROM {values}"
        ))
        .await;
        assert_eq!(row, ["3", "1", "3", "5", "7", "2026-03-02", "b", "1"]);
    }

    #[tokio::test]
    async fn a_fraction_out_of_range_is_refused() {
        let ctx = SessionContext::new();
        register(&ctx);
        let err = ctx
            .sql("SELECT percentile_disc(1.5) WITHIN GROUP (ORDER BY x) FROM (VALUES (1)) v(x)")
            .await
            .expect("planned")
            .collect()
            .await
            .expect_err("1.5 is out of range");
        assert!(err.to_string().contains("not between 0 and 1"), "{err}");
    }
}
