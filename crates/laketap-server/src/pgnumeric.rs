//! Numeric division and `avg()` as PostgreSQL computes them.
//!
//! PostgreSQL divides numerics to at least 16 significant digits
//! (`select_div_scale` in utils/adt/numeric.c): the result scale is
//! `16 - 4 × qweight`, where qweight estimates the quotient's weight in base-10000
//! digits from the operands' leading digits, but never less than either operand's
//! scale, and the last digit is rounded half away from zero. `avg()` of integers and
//! numerics is that division of the sum by the count, so `avg()` of 1..5 is
//! `3.0000000000000000`, `10::numeric / 4` is `2.5000000000000000` and `1.0 / 3` is
//! `0.33333333333333333333`.
//!
//! DataFusion (Arrow) divides decimals to the dividend's scale plus 4 and truncates
//! (`sum(amount) / count(*)` gave 4 more digits, the last one cut, not rounded), and
//! its `avg()` of integers is a float8.
//!
//! An Arrow column has one scale, where PostgreSQL's varies per value. Here each
//! quotient is rounded at PostgreSQL's scale for that value and kept in a
//! `Decimal128(38, S)` column, S (from 16 to 20 for most operands; never less than
//! either operand's scale) chosen from the operands' types: the value is then
//! PostgreSQL's whenever PostgreSQL's scale is at most S, that is for every quotient
//! of at least 1 when S is 16 (`sum(int8) / sum(int8)`, an unconstrained `::numeric`),
//! and of at least 0.0001 when S is 20 (`numeric(10,2)` sums, averages of integers);
//! smaller quotients are rounded at S. Arrow-pg writes each value with PostgreSQL's
//! scale for its size (see `quotient_field`), so its text is PostgreSQL's
//! (`2.5000000000000000`, not the column's `2.50000000000000000000`), except when both
//! operands start with the same base-10000 digit (`6.0 / 6`: PostgreSQL writes 4 more
//! zeros) and where an expression over the quotient drops the field's metadata
//! (`avg(x) * 100` shows S digits). A quotient too large for the
//! 38 − S integer digits left is an error (22003), as is a division by zero (22012).
//!
//! [`crate::pgresults`] puts [`PgNumericDiv`] in place of `/` between numerics (or a
//! numeric and an integer) and [`PgAvg`] in place of `avg()` of integers and numerics,
//! where results are described to clients (`avg(DISTINCT x)` too: the distinct values
//! are kept and summed at the end).

use std::collections::HashSet;
use std::mem::size_of;
use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Decimal128Array, Int64Array, PrimitiveArray,
};
use datafusion::arrow::datatypes::{DataType, Decimal128Type, Field, FieldRef, Int64Type, i256};
use datafusion::common::{DataFusionError, Result, ScalarValue, exec_err, internal_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, ColumnarValue, EmitTo, GroupsAccumulator,
    ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// PostgreSQL's NUMERIC_MIN_SIG_DIGITS.
const MIN_SIG_DIGITS: i32 = 16;
/// Arrow's widest decimal.
const MAX_PRECISION: u8 = 38;
/// The most digits after the point a quotient column keeps (see the module docs).
const MAX_RESULT_SCALE: i32 = 20;

/// The decimal type PostgreSQL's numeric value of an integer type has (its digits).
pub fn integer_as_decimal(data_type: &DataType) -> Option<DataType> {
    let digits = match data_type {
        DataType::Int8 | DataType::UInt8 => 3,
        DataType::Int16 | DataType::UInt16 => 5,
        DataType::Int32 | DataType::UInt32 => 10,
        DataType::Int64 => 19,
        DataType::UInt64 => 20,
        _ => return None,
    };
    Some(DataType::Decimal128(digits, 0))
}

/// (precision, scale) of an operand as a numeric, for integers and decimals.
fn numeric_shape(data_type: &DataType) -> Option<(u8, i8)> {
    match integer_as_decimal(data_type).as_ref().unwrap_or(data_type) {
        DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => {
            Some(((*p).min(MAX_PRECISION), *s))
        }
        _ => None,
    }
}

/// Whether `data_type` divides as a numeric in PostgreSQL (integers divide as
/// integers unless the other operand is a numeric).
pub fn is_decimal(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Decimal128(..) | DataType::Decimal256(..)
    )
}

pub fn is_integer(data_type: &DataType) -> bool {
    integer_as_decimal(data_type).is_some()
}

/// The scale of the quotient column for operands of these shapes: room for the
/// largest quotient's integer digits, between 16 and [`MAX_RESULT_SCALE`] digits
/// after the point, never fewer than an operand has.
fn quotient_scale(integer_digits: i32, s1: i8, s2: i8) -> i8 {
    let room = i32::from(MAX_PRECISION) - integer_digits;
    let scale = room.clamp(MIN_SIG_DIGITS, MAX_RESULT_SCALE);
    let scale = scale.max(i32::from(s1)).max(i32::from(s2));
    scale.min(i32::from(MAX_PRECISION)) as i8
}

/// The weight and the first digit of `v × 10^-scale` in base 10000, as PostgreSQL
/// stores numerics; (0, 0) for zero.
fn leading_digit(v: i128, scale: i8) -> (i32, u128) {
    if v == 0 {
        return (0, 0);
    }
    let magnitude = v.unsigned_abs();
    let exponent = magnitude.ilog10() as i32 - i32::from(scale);
    let weight = exponent.div_euclid(4);
    let shift = i32::from(scale) + 4 * weight;
    let first = if shift >= 0 {
        magnitude / 10u128.pow(shift as u32)
    } else {
        magnitude * 10u128.pow(shift.unsigned_abs())
    };
    (weight, first)
}

/// PostgreSQL's `select_div_scale`: the scale of `l × 10^-s1 / r × 10^-s2`.
pub fn division_scale(l: i128, s1: i8, r: i128, s2: i8) -> i32 {
    let (w1, first1) = leading_digit(l, s1);
    let (w2, first2) = leading_digit(r, s2);
    let mut qweight = w1 - w2;
    if first1 <= first2 {
        qweight -= 1;
    }
    (MIN_SIG_DIGITS - 4 * qweight)
        .max(i32::from(s1))
        .max(i32::from(s2))
        .clamp(0, 1000)
}

fn overflow() -> DataFusionError {
    DataFusionError::Execution("numeric field overflow".to_string())
}

fn pow10(exponent: u32) -> Result<i256> {
    i256::from_i128(10)
        .checked_pow(exponent)
        .ok_or_else(overflow)
}

/// `l × 10^-s1 / r × 10^-s2` rounded (half away from zero) at PostgreSQL's scale for
/// these values, or at `out_scale` if that is less, as an unscaled value of scale
/// `out_scale`.
pub fn divide(l: i128, s1: i8, r: i128, s2: i8, out_scale: i8) -> Result<i128> {
    if r == 0 {
        return exec_err!("division by zero");
    }
    let rscale = division_scale(l, s1, r, s2).min(i32::from(out_scale));
    // quotient × 10^rscale = l × 10^(rscale - s1 + s2) / r
    let shift = rscale - i32::from(s1) + i32::from(s2);
    let (mut numerator, mut denominator) = (i256::from_i128(l), i256::from_i128(r));
    if shift >= 0 {
        numerator = numerator
            .checked_mul(pow10(shift as u32)?)
            .ok_or_else(overflow)?;
    } else {
        denominator = denominator
            .checked_mul(pow10(shift.unsigned_abs())?)
            .ok_or_else(overflow)?;
    }
    let (mut quotient, remainder) = (
        numerator.checked_div(denominator).ok_or_else(overflow)?,
        numerator.checked_rem(denominator).ok_or_else(overflow)?,
    );
    let twice = remainder.wrapping_abs().checked_mul(i256::from_i128(2));
    if twice.is_some_and(|t| t >= denominator.wrapping_abs()) {
        let away = if numerator.is_negative() != denominator.is_negative() {
            i256::from_i128(-1)
        } else {
            i256::from_i128(1)
        };
        quotient = quotient.checked_add(away).ok_or_else(overflow)?;
    }
    let widen = i32::from(out_scale) - rscale;
    let value = quotient
        .checked_mul(pow10(widen as u32)?)
        .and_then(|v| v.to_i128())
        .ok_or_else(overflow)?;
    if value.unsigned_abs() >= 10u128.pow(u32::from(MAX_PRECISION)) {
        return Err(overflow());
    }
    Ok(value)
}

/// A quotient column: its values are written with PostgreSQL's scale for each (at
/// least `min_scale` digits after the point), which the field's metadata tells
/// arrow-pg's encoder ([`arrow_pg::numeric::QUOTIENT_DISPLAY_KEY`]).
fn quotient_field(name: &str, data_type: DataType, min_scale: i8) -> FieldRef {
    // With the column's own scale: a cast that keeps the metadata but changes the
    // type (`::numeric(30,20)`) is then written as that type, not as a quotient.
    let scale = match data_type {
        DataType::Decimal128(_, s) => s,
        _ => 0,
    };
    let metadata = std::collections::HashMap::from([(
        arrow_pg::numeric::QUOTIENT_DISPLAY_KEY.to_string(),
        format!("{min_scale}/{MAX_PRECISION}/{scale}"),
    )]);
    Arc::new(Field::new(name, data_type, true).with_metadata(metadata))
}

/// `a / b` for numerics (and a numeric with an integer), as PostgreSQL divides them.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PgNumericDiv {
    signature: Signature,
}

/// The name the division has in plans (it is never written in SQL).
pub const DIV_NAME: &str = "laketap_numeric_div";

impl Default for PgNumericDiv {
    fn default() -> Self {
        PgNumericDiv {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

/// The division as a function (one instance for every plan).
pub fn numeric_div() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> =
        LazyLock::new(|| Arc::new(ScalarUDF::new_from_impl(PgNumericDiv::default())));
    UDF.clone()
}

fn operand_shapes(args: &[DataType]) -> Result<((u8, i8), (u8, i8))> {
    match args {
        [a, b] => match (numeric_shape(a), numeric_shape(b)) {
            (Some(a), Some(b)) => Ok((a, b)),
            _ => exec_err!("numeric division of {a} and {b}"),
        },
        _ => exec_err!("numeric division takes two arguments, not {}", args.len()),
    }
}

impl ScalarUDFImpl for PgNumericDiv {
    fn name(&self) -> &str {
        DIV_NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let ((p1, s1), (p2, s2)) = operand_shapes(args)?;
        Ok(vec![
            DataType::Decimal128(p1, s1),
            DataType::Decimal128(p2, s2),
        ])
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        let ((p1, s1), (_, s2)) = operand_shapes(args)?;
        // The quotient's integer digits: the dividend's, and the divisor's scale more.
        let digits = i32::from(p1) - i32::from(s1) + i32::from(s2);
        Ok(DataType::Decimal128(
            MAX_PRECISION,
            quotient_scale(digits, s1, s2),
        ))
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let types: Vec<DataType> = args
            .arg_fields
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        let ((_, s1), (_, s2)) = operand_shapes(&types)?;
        Ok(quotient_field(
            self.name(),
            self.return_type(&types)?,
            s1.max(s2),
        ))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let DataType::Decimal128(_, out_scale) = args.return_field.data_type() else {
            return internal_err!("numeric division returns a decimal");
        };
        let out_scale = *out_scale;
        let all_scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let [left, right] = arrays.as_slice() else {
            return internal_err!("numeric division takes two arguments");
        };
        let (Some(left), Some(right)) = (
            left.as_primitive_opt::<Decimal128Type>(),
            right.as_primitive_opt::<Decimal128Type>(),
        ) else {
            return internal_err!("numeric division of non-decimal arrays");
        };
        let (s1, s2) = (left.scale(), right.scale());
        let quotients: PrimitiveArray<Decimal128Type> =
            datafusion::arrow::compute::kernels::arity::try_binary(left, right, |l, r| {
                use datafusion::arrow::error::ArrowError;
                // Arrow's own errors, which are 22012 and 22003 over the wire.
                match divide(l, s1, r, s2, out_scale) {
                    Ok(q) => Ok(q),
                    Err(_) if r == 0 => Err(ArrowError::DivideByZero),
                    Err(e) => Err(ArrowError::ArithmeticOverflow(e.to_string())),
                }
            })?;
        let quotients: ArrayRef =
            Arc::new(quotients.with_precision_and_scale(MAX_PRECISION, out_scale)?);
        if all_scalar {
            return Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(
                &quotients, 0,
            )?));
        }
        Ok(ColumnarValue::Array(quotients))
    }
}

/// `avg()` of integers and numerics: the sum divided by the count as [`divide`] does.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PgAvg {
    signature: Signature,
}

impl Default for PgAvg {
    fn default() -> Self {
        PgAvg {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

/// PostgreSQL's `avg` (one instance for every plan).
pub fn avg() -> Arc<AggregateUDF> {
    static UDAF: LazyLock<Arc<AggregateUDF>> =
        LazyLock::new(|| Arc::new(AggregateUDF::new_from_impl(PgAvg::default())));
    UDAF.clone()
}

/// The scale of an average of values of `(precision, scale)`: an average has no more
/// integer digits than the values.
fn average_scale(precision: u8, scale: i8) -> i8 {
    quotient_scale(i32::from(precision) - i32::from(scale), scale, 0)
}

fn input_shape(args: &[DataType]) -> Result<(u8, i8)> {
    match args {
        [a] => numeric_shape(a).map_or_else(|| exec_err!("avg of {a} as a numeric"), Ok),
        _ => exec_err!("avg takes one argument, not {}", args.len()),
    }
}

impl AggregateUDFImpl for PgAvg {
    fn name(&self) -> &str {
        "avg"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let (p, s) = input_shape(args)?;
        Ok(vec![DataType::Decimal128(p, s)])
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        let (p, s) = input_shape(args)?;
        Ok(DataType::Decimal128(MAX_PRECISION, average_scale(p, s)))
    }

    fn return_field(&self, arg_fields: &[FieldRef]) -> Result<FieldRef> {
        let types: Vec<DataType> = arg_fields.iter().map(|f| f.data_type().clone()).collect();
        let (_, s) = input_shape(&types)?;
        Ok(quotient_field(self.name(), self.return_type(&types)?, s))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let types: Vec<DataType> = args
            .input_fields
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        let (_, s) = input_shape(&types)?;
        if args.is_distinct {
            let item = Field::new_list_field(DataType::Decimal128(MAX_PRECISION, s), true);
            return Ok(vec![Arc::new(Field::new(
                format_state_name(args.name, "distinct_values"),
                DataType::List(Arc::new(item)),
                true,
            ))]);
        }
        Ok(vec![
            Arc::new(Field::new(
                format_state_name(args.name, "sum"),
                DataType::Decimal128(MAX_PRECISION, s),
                false,
            )),
            Arc::new(Field::new(
                format_state_name(args.name, "count"),
                DataType::Int64,
                false,
            )),
        ])
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let shape = Shape::of(&args)?;
        if args.is_distinct {
            return Ok(Box::new(DistinctAvgAccumulator {
                shape,
                values: HashSet::new(),
            }));
        }
        Ok(Box::new(AvgAccumulator {
            shape,
            sum: 0,
            count: 0,
        }))
    }

    fn groups_accumulator_supported(&self, args: AccumulatorArgs) -> bool {
        !args.is_distinct
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(AvgGroups {
            shape: Shape::of(&args)?,
            sums: Vec::new(),
            counts: Vec::new(),
        }))
    }
}

/// The input's and the result's scales.
#[derive(Debug, Clone, Copy)]
struct Shape {
    scale: i8,
    out_scale: i8,
}

impl Shape {
    fn of(args: &AccumulatorArgs) -> Result<Shape> {
        let input = args
            .exprs
            .first()
            .map(|e| e.data_type(args.schema))
            .transpose()?;
        let (p, scale) = input_shape(input.as_slice())?;
        Ok(Shape {
            scale,
            out_scale: average_scale(p, scale),
        })
    }

    fn average(&self, sum: i128, count: i64) -> Result<Option<i128>> {
        if count == 0 {
            return Ok(None);
        }
        divide(sum, self.scale, i128::from(count), 0, self.out_scale).map(Some)
    }

    fn result(&self, values: impl Iterator<Item = Result<Option<i128>>>) -> Result<ArrayRef> {
        let values = values.collect::<Result<Decimal128Array>>()?;
        Ok(Arc::new(
            values.with_precision_and_scale(MAX_PRECISION, self.out_scale)?,
        ))
    }
}

fn add(sum: &mut i128, value: i128) -> Result<()> {
    *sum = sum.checked_add(value).ok_or_else(overflow)?;
    Ok(())
}

/// The not-NULL values of a batch's argument (FILTER applied), with their rows.
fn each_value(
    values: &[ArrayRef],
    filter: Option<&BooleanArray>,
    mut apply: impl FnMut(usize, i128) -> Result<()>,
) -> Result<()> {
    let Some(values) = values
        .first()
        .and_then(|v| v.as_primitive_opt::<Decimal128Type>())
    else {
        return internal_err!("avg of a non-decimal array");
    };
    for row in 0..values.len() {
        if values.is_null(row) || filter.is_some_and(|f| !(f.is_valid(row) && f.value(row))) {
            continue;
        }
        apply(row, values.value(row))?;
    }
    Ok(())
}

#[derive(Debug)]
struct AvgAccumulator {
    shape: Shape,
    sum: i128,
    count: i64,
}

impl Accumulator for AvgAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let (sum, count) = (&mut self.sum, &mut self.count);
        each_value(values, None, |_, v| {
            *count += 1;
            add(sum, v)
        })
    }

    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let (sum, count) = (&mut self.sum, &mut self.count);
        each_value(values, None, |_, v| {
            *count -= 1;
            add(sum, v.checked_neg().ok_or_else(overflow)?)
        })
    }

    fn supports_retract_batch(&self) -> bool {
        true
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let (sums, counts) = state_columns(states)?;
        for row in 0..sums.len() {
            add(&mut self.sum, sums.value(row))?;
            self.count += counts.value(row);
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![
            ScalarValue::Decimal128(Some(self.sum), MAX_PRECISION, self.shape.scale),
            ScalarValue::Int64(Some(self.count)),
        ])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(ScalarValue::Decimal128(
            self.shape.average(self.sum, self.count)?,
            MAX_PRECISION,
            self.shape.out_scale,
        ))
    }

    fn size(&self) -> usize {
        size_of::<Self>()
    }
}

/// `avg(DISTINCT x)`: the distinct values, summed when the average is asked for.
#[derive(Debug)]
struct DistinctAvgAccumulator {
    shape: Shape,
    values: HashSet<i128>,
}

impl Accumulator for DistinctAvgAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let set = &mut self.values;
        each_value(values, None, |_, v| {
            set.insert(v);
            Ok(())
        })
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let Some(lists) = states.first().and_then(|s| s.as_list_opt::<i32>()) else {
            return internal_err!("avg(DISTINCT) state is not a list");
        };
        for list in lists.iter().flatten() {
            let Some(values) = list.as_primitive_opt::<Decimal128Type>() else {
                return internal_err!("avg(DISTINCT) state is not decimal");
            };
            self.values.extend(values.iter().flatten());
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let values = Decimal128Array::from_iter_values(self.values.iter().copied())
            .with_precision_and_scale(MAX_PRECISION, self.shape.scale)?;
        Ok(vec![
            datafusion::common::utils::SingleRowListArrayBuilder::new(Arc::new(values))
                .build_list_scalar(),
        ])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let mut sum = 0i128;
        for &v in &self.values {
            add(&mut sum, v)?;
        }
        let count = i64::try_from(self.values.len()).map_err(|_| overflow())?;
        Ok(ScalarValue::Decimal128(
            self.shape.average(sum, count)?,
            MAX_PRECISION,
            self.shape.out_scale,
        ))
    }

    fn size(&self) -> usize {
        size_of::<Self>() + self.values.capacity() * size_of::<i128>()
    }
}

fn state_columns(states: &[ArrayRef]) -> Result<(&Decimal128Array, &Int64Array)> {
    match states {
        [sums, counts] => match (
            sums.as_primitive_opt::<Decimal128Type>(),
            counts.as_primitive_opt::<Int64Type>(),
        ) {
            (Some(sums), Some(counts)) => Ok((sums, counts)),
            _ => internal_err!("avg state is not (decimal, bigint)"),
        },
        _ => internal_err!("avg state has {} columns", states.len()),
    }
}

#[derive(Debug)]
struct AvgGroups {
    shape: Shape,
    sums: Vec<i128>,
    counts: Vec<i64>,
}

impl AvgGroups {
    fn resize(&mut self, groups: usize) {
        self.sums.resize(groups, 0);
        self.counts.resize(groups, 0);
    }
}

impl GroupsAccumulator for AvgGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.resize(total_num_groups);
        let (sums, counts) = (&mut self.sums, &mut self.counts);
        each_value(values, opt_filter, |row, v| {
            let group = group_indices.get(row).copied().unwrap_or(usize::MAX);
            match (sums.get_mut(group), counts.get_mut(group)) {
                (Some(sum), Some(count)) => {
                    *count += 1;
                    add(sum, v)
                }
                _ => internal_err!("avg row {row} has no group"),
            }
        })
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.resize(total_num_groups);
        let (sums, counts) = state_columns(values)?;
        for (row, &group) in group_indices.iter().enumerate() {
            match (self.sums.get_mut(group), self.counts.get_mut(group)) {
                (Some(sum), Some(count)) => {
                    *count += counts.value(row);
                    add(sum, sums.value(row))?;
                }
                _ => return internal_err!("avg group {group} out of range"),
            }
        }
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let sums = emit_to.take_needed(&mut self.sums);
        let counts = emit_to.take_needed(&mut self.counts);
        let shape = self.shape;
        shape.result(
            sums.into_iter()
                .zip(counts)
                .map(|(s, c)| shape.average(s, c)),
        )
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let sums = emit_to.take_needed(&mut self.sums);
        let counts = emit_to.take_needed(&mut self.counts);
        Ok(vec![
            Arc::new(
                Decimal128Array::from(sums)
                    .with_precision_and_scale(MAX_PRECISION, self.shape.scale)?,
            ),
            Arc::new(Int64Array::from(counts)),
        ])
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let rows = values.first().map(|v| v.len()).unwrap_or(0);
        let (mut sums, mut counts) = (vec![0i128; rows], vec![0i64; rows]);
        each_value(values, opt_filter, |row, v| {
            if let (Some(sum), Some(count)) = (sums.get_mut(row), counts.get_mut(row)) {
                *sum = v;
                *count = 1;
            }
            Ok(())
        })?;
        Ok(vec![
            Arc::new(
                Decimal128Array::from(sums)
                    .with_precision_and_scale(MAX_PRECISION, self.shape.scale)?,
            ),
            Arc::new(Int64Array::from(counts)),
        ])
    }

    fn size(&self) -> usize {
        self.sums.capacity() * size_of::<i128>() + self.counts.capacity() * size_of::<i64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `l / r` (unscaled, with scales) as text at PostgreSQL's own scale.
    fn pg_text(l: i128, s1: i8, r: i128, s2: i8) -> String {
        let scale = division_scale(l, s1, r, s2) as i8;
        let v = divide(l, s1, r, s2, scale).expect("divides");
        let digits = v.unsigned_abs().to_string();
        let scale = scale as usize;
        let padded = format!("{digits:0>width$}", width = scale + 1);
        let (int, frac) = padded.split_at(padded.len() - scale);
        let sign = if v < 0 { "-" } else { "" };
        if scale == 0 {
            format!("{sign}{int}")
        } else {
            format!("{sign}{int}.{frac}")
        }
    }

    #[test]
    fn quotients_are_postgresqls() {
        // Each expected text is PostgreSQL 15.18's answer to the division.
        assert_eq!(pg_text(10, 0, 4, 0), "2.5000000000000000"); // 10::numeric / 4
        assert_eq!(pg_text(1, 0, 3, 0), "0.33333333333333333333"); // 1::numeric / 3
        assert_eq!(pg_text(2, 0, 3, 0), "0.66666666666666666667"); // rounded up
        assert_eq!(pg_text(-2, 0, 3, 0), "-0.66666666666666666667"); // away from zero
        assert_eq!(pg_text(6, 0, 6, 0), "1.00000000000000000000"); // equal first digits
        assert_eq!(pg_text(15, 0, 5, 0), "3.0000000000000000"); // avg(1..5)
        assert_eq!(pg_text(123456789, 0, 7, 0), "17636684.142857142857"); // weight 2 by 0
        assert_eq!(pg_text(12000011999, 2, 6, 0), "20000019.998333333333"); // sum(amount)/6
        assert_eq!(pg_text(1, 3, 7, 0), "0.00014285714285714286"); // 0.001 / 7
        assert_eq!(pg_text(10000, 0, 10001, 0), "0.99990000999900009999");
    }

    #[test]
    fn division_by_zero_and_overflow_are_errors() {
        let zero = divide(1, 0, 0, 0, 16).expect_err("division by zero");
        assert!(zero.to_string().contains("division by zero"), "{zero}");
        let big = divide(i128::MAX / 10, 0, 1, 0, 16).expect_err("overflow");
        assert!(big.to_string().contains("numeric field overflow"), "{big}");
    }

    #[test]
    fn quotient_columns_keep_room_for_their_integer_digits() {
        // numeric(10,2) sums (Decimal128(20,2)) by a count: 20 digits after the point.
        assert_eq!(quotient_scale(20 - 2, 2, 0), 20);
        // Averages of bigints: 19 integer digits, so 19 after the point.
        assert_eq!(average_scale(19, 0), 19);
        // Wide operands still get 16 (and an error past 10^22).
        assert_eq!(quotient_scale(38, 0, 0), 16);
        assert_eq!(quotient_scale(38, 25, 0), 25);
        // A value kept at 20 digits is PostgreSQL's 16-digit one, padded.
        assert_eq!(
            divide(10, 0, 4, 0, 20).expect("divides"),
            25 * 10i128.pow(19)
        );
    }
}
