//! PostgreSQL's float8 statistics aggregates, computed as PostgreSQL computes them.
//!
//! `var_samp`/`variance`, `var_pop`, `stddev`/`stddev_samp`, `stddev_pop`, `covar_samp`,
//! `covar_pop`, `corr` and the `regr_*` family over float8 (`regr_count` is bigint, as in
//! PostgreSQL; DataFusion's was an unsigned integer clients saw as numeric) (every numeric input is cast to
//! float8 first, as DataFusion's own versions do).
//!
//! DataFusion's versions update a running mean (Welford); PostgreSQL keeps the
//! Youngs–Cramer sums N, Sx, Sxx (and Sy, Syy, Sxy) in `float8_accum`/`float8_regr_accum`,
//! and merges partial states as `float8_combine`/`float8_regr_combine` do. Both are
//! accurate, but they round differently, so a dashboard comparing laketap with PostgreSQL
//! saw `2.0812500000000003` where PostgreSQL says `2.08125`. Here the updates, the merges
//! and the final functions follow PostgreSQL's `float.c` step by step, including its NULL
//! rules (a sample statistic of one row, a correlation of a constant) and its NaN/overflow
//! rules (an infinite input gives NaN; finite inputs whose sums overflow are 22003).
//!
//! Window frames that slide (`ROWS BETWEEN 6 PRECEDING AND CURRENT ROW`) keep their rows
//! and recompute each frame from its first row, which is what PostgreSQL does (these
//! aggregates have no inverse transition); `DISTINCT` sorts the distinct inputs first, as
//! PostgreSQL feeds a DISTINCT aggregate its sorted input. (DataFusion's
//! `single_distinct_aggregation_to_group_by` would plan a query's only distinct aggregate
//! as a GROUP BY feeding a plain one, in hash order; [`crate::pgresults`] gives such calls
//! their inputs as ORDER BY, which that rule leaves alone.)
//! Rows are summed in the order they arrive; a scan in several partitions merges partial
//! sums as `float8_combine` does, which PostgreSQL does only in parallel plans, so the
//! last digit can differ from a serial PostgreSQL scan there too.

use std::collections::{HashSet, VecDeque};
use std::mem::size_of;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Float64Type};
use datafusion::common::{Result, ScalarValue, exec_err, internal_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, EmitTo, GroupsAccumulator, Signature, Volatility,
};
use datafusion::prelude::SessionContext;

/// The final function an aggregate applies to the Youngs–Cramer sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stat {
    VarSamp,
    VarPop,
    StddevSamp,
    StddevPop,
    CovarSamp,
    CovarPop,
    Corr,
    RegrSlope,
    RegrIntercept,
    RegrR2,
    RegrAvgX,
    RegrAvgY,
    RegrSxx,
    RegrSyy,
    RegrSxy,
    RegrCount,
}

impl Stat {
    /// Every aggregate, with the names it answers to (PostgreSQL's first, then the
    /// DataFusion spellings it replaces, so `var`/`stddev` users get the same numbers).
    pub const ALL: [(Stat, &'static str, &'static [&'static str]); 16] = [
        (
            Stat::VarSamp,
            "var_samp",
            &["variance", "var", "var_sample"],
        ),
        (Stat::VarPop, "var_pop", &["var_population"]),
        (Stat::StddevSamp, "stddev_samp", &["stddev"]),
        (Stat::StddevPop, "stddev_pop", &[]),
        (Stat::CovarSamp, "covar_samp", &["covar"]),
        (Stat::CovarPop, "covar_pop", &[]),
        (Stat::Corr, "corr", &[]),
        (Stat::RegrSlope, "regr_slope", &[]),
        (Stat::RegrIntercept, "regr_intercept", &[]),
        (Stat::RegrR2, "regr_r2", &[]),
        (Stat::RegrAvgX, "regr_avgx", &[]),
        (Stat::RegrAvgY, "regr_avgy", &[]),
        (Stat::RegrSxx, "regr_sxx", &[]),
        (Stat::RegrSyy, "regr_syy", &[]),
        (Stat::RegrSxy, "regr_sxy", &[]),
        (Stat::RegrCount, "regr_count", &[]),
    ];

    /// Whether the aggregate takes (Y, X) rather than one value.
    fn two_args(self) -> bool {
        !matches!(
            self,
            Stat::VarSamp | Stat::VarPop | Stat::StddevSamp | Stat::StddevPop
        )
    }

    /// float8, but bigint for `regr_count`.
    fn data_type(self) -> DataType {
        match self {
            Stat::RegrCount => DataType::Int64,
            _ => DataType::Float64,
        }
    }

    fn scalar(self, m: &Moments) -> ScalarValue {
        match self {
            Stat::RegrCount => ScalarValue::Int64(Some(m.n as i64)),
            _ => ScalarValue::Float64(self.finish(m)),
        }
    }

    /// PostgreSQL's final function (`float8_var_samp`, `float8_corr`, …).
    fn finish(self, m: &Moments) -> Option<f64> {
        let n = m.n;
        match self {
            Stat::VarSamp if n > 1.0 => Some(m.sxx / (n - 1.0)),
            Stat::VarPop if n > 0.0 => Some(m.sxx / n),
            Stat::StddevSamp if n > 1.0 => Some((m.sxx / (n - 1.0)).sqrt()),
            Stat::StddevPop if n > 0.0 => Some((m.sxx / n).sqrt()),
            Stat::CovarSamp if n > 1.0 => Some(m.sxy / (n - 1.0)),
            Stat::CovarPop if n > 0.0 => Some(m.sxy / n),
            Stat::Corr if n > 0.0 && m.sxx != 0.0 && m.syy != 0.0 => {
                Some(m.sxy / (m.sxx * m.syy).sqrt())
            }
            Stat::RegrSlope if n > 0.0 && m.sxx != 0.0 => Some(m.sxy / m.sxx),
            Stat::RegrIntercept if n > 0.0 && m.sxx != 0.0 => {
                Some((m.sy - m.sx * m.sxy / m.sxx) / n)
            }
            Stat::RegrR2 if n > 0.0 && m.sxx != 0.0 => {
                if m.syy == 0.0 {
                    Some(1.0)
                } else {
                    Some((m.sxy * m.sxy) / (m.sxx * m.syy))
                }
            }
            Stat::RegrAvgX if n > 0.0 => Some(m.sx / n),
            Stat::RegrAvgY if n > 0.0 => Some(m.sy / n),
            Stat::RegrSxx if n > 0.0 => Some(m.sxx),
            Stat::RegrSyy if n > 0.0 => Some(m.syy),
            Stat::RegrSxy if n > 0.0 => Some(m.sxy),
            Stat::RegrCount => Some(n),
            _ => None,
        }
    }
}

/// PostgreSQL's "value out of range: overflow" (22003 over the wire, see `sqlstate.rs`).
fn overflow<T>() -> Result<T> {
    exec_err!("value out of range: overflow")
}

/// The Youngs–Cramer transition state. For one-argument aggregates the value is X and
/// only N, Sx and Sxx move (PostgreSQL's `float8_accum`); for two it is (Y, X)
/// (`float8_regr_accum`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Moments {
    n: f64,
    sx: f64,
    sxx: f64,
    sy: f64,
    syy: f64,
    sxy: f64,
}

impl Moments {
    /// `float8_accum`.
    fn add(&mut self, x: f64) -> Result<()> {
        let (before, old_sx) = (self.n, self.sx);
        self.n += 1.0;
        self.sx += x;
        if before > 0.0 {
            let tmp = x * self.n - self.sx;
            self.sxx += tmp * tmp / (self.n * before);
            // Only finite inputs that overflow are an error; an infinite input gives NaN.
            if self.sx.is_infinite() || self.sxx.is_infinite() {
                if !old_sx.is_infinite() && !x.is_infinite() {
                    return overflow();
                }
                self.sxx = f64::NAN;
            }
        } else if !x.is_finite() {
            self.sxx = f64::NAN;
        }
        Ok(())
    }

    /// `float8_regr_accum`: `y` is the first argument, `x` the second.
    fn add_pair(&mut self, y: f64, x: f64) -> Result<()> {
        let (before, old_sx, old_sy) = (self.n, self.sx, self.sy);
        self.n += 1.0;
        self.sx += x;
        self.sy += y;
        if before > 0.0 {
            let tmp_x = x * self.n - self.sx;
            let tmp_y = y * self.n - self.sy;
            // float8_regr_accum multiplies by the reciprocal (float8_accum divides).
            let scale = 1.0 / (self.n * before);
            self.sxx += tmp_x * tmp_x * scale;
            self.syy += tmp_y * tmp_y * scale;
            self.sxy += tmp_x * tmp_y * scale;
            let finite_x = old_sx.is_finite() && x.is_finite();
            let finite_y = old_sy.is_finite() && y.is_finite();
            if self.sx.is_infinite() || self.sxx.is_infinite() {
                if finite_x {
                    return overflow();
                }
                self.sxx = f64::NAN;
            }
            if self.sy.is_infinite() || self.syy.is_infinite() {
                if finite_y {
                    return overflow();
                }
                self.syy = f64::NAN;
            }
            if self.sxy.is_infinite() {
                if finite_x && finite_y {
                    return overflow();
                }
                self.sxy = f64::NAN;
            }
        } else {
            if !x.is_finite() {
                self.sxx = f64::NAN;
                self.sxy = f64::NAN;
            }
            if !y.is_finite() {
                self.syy = f64::NAN;
                self.sxy = f64::NAN;
            }
        }
        Ok(())
    }

    /// `float8_combine` / `float8_regr_combine`.
    fn merge(&mut self, other: &Moments) -> Result<()> {
        if other.n == 0.0 {
            return Ok(());
        }
        if self.n == 0.0 {
            *self = *other;
            return Ok(());
        }
        let n = self.n + other.n;
        let tmp_x = self.sx / self.n - other.sx / other.n;
        let tmp_y = self.sy / self.n - other.sy / other.n;
        let weight = self.n * other.n;
        let merged = Moments {
            n,
            sx: self.sx + other.sx,
            sxx: self.sxx + other.sxx + weight * tmp_x * tmp_x / n,
            sy: self.sy + other.sy,
            syy: self.syy + other.syy + weight * tmp_y * tmp_y / n,
            sxy: self.sxy + other.sxy + weight * tmp_x * tmp_y / n,
        };
        let grew = |sum: f64, a: f64, b: f64| sum.is_infinite() && a.is_finite() && b.is_finite();
        if grew(merged.sx, self.sx, other.sx)
            || grew(merged.sxx, self.sxx, other.sxx)
            || grew(merged.sy, self.sy, other.sy)
            || grew(merged.syy, self.syy, other.syy)
            || grew(merged.sxy, self.sxy, other.sxy)
        {
            return overflow();
        }
        *self = merged;
        Ok(())
    }

    fn from_state(columns: &[&Float64Array; 6], row: usize) -> Moments {
        Moments {
            n: columns[0].value(row),
            sx: columns[1].value(row),
            sxx: columns[2].value(row),
            sy: columns[3].value(row),
            syy: columns[4].value(row),
            sxy: columns[5].value(row),
        }
    }
}

/// Whether `name` is one of these aggregates (as a plan names it).
pub fn is_statistic(name: &str) -> bool {
    Stat::ALL
        .iter()
        .any(|(stat, n, _)| *n == name && *stat != Stat::RegrCount)
}

/// One of PostgreSQL's float8 statistics aggregates.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PgStatistic {
    stat: Stat,
    name: &'static str,
    aliases: Vec<String>,
    signature: Signature,
}

impl PgStatistic {
    pub fn new(stat: Stat, name: &'static str, aliases: &[&str]) -> Self {
        let args = if stat.two_args() { 2 } else { 1 };
        PgStatistic {
            stat,
            name,
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
            signature: Signature::exact(vec![DataType::Float64; args], Volatility::Immutable),
        }
    }
}

/// Registers every aggregate in [`Stat::ALL`], replacing DataFusion's under the same names.
pub fn register(ctx: &SessionContext) {
    for (stat, name, aliases) in Stat::ALL {
        ctx.register_udaf(AggregateUDF::new_from_impl(PgStatistic::new(
            stat, name, aliases,
        )));
    }
}

const STATE: [&str; 6] = ["n", "sx", "sxx", "sy", "syy", "sxy"];

impl AggregateUDFImpl for PgStatistic {
    fn name(&self) -> &str {
        self.name
    }

    fn aliases(&self) -> &[String] {
        &self.aliases
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(self.stat.data_type())
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        if args.is_distinct {
            let item = Arc::new(Field::new_list_field(DataType::Float64, true));
            return Ok(vec![Arc::new(Field::new(
                format_state_name(args.name, "distinct_values"),
                DataType::List(item),
                true,
            ))]);
        }
        Ok(STATE
            .iter()
            .map(|part| {
                Arc::new(Field::new(
                    format_state_name(args.name, part),
                    DataType::Float64,
                    false,
                ))
            })
            .collect())
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        if args.is_distinct {
            return Ok(Box::new(RowsAccumulator::new(self.stat, true)));
        }
        Ok(Box::new(SumsAccumulator {
            stat: self.stat,
            moments: Moments::default(),
        }))
    }

    fn create_sliding_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(RowsAccumulator::new(self.stat, args.is_distinct)))
    }

    fn groups_accumulator_supported(&self, args: AccumulatorArgs) -> bool {
        !args.is_distinct
    }

    fn create_groups_accumulator(
        &self,
        _args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(SumsGroups {
            stat: self.stat,
            groups: Vec::new(),
        }))
    }
}

/// The rows of one batch that are fed to the aggregate: (Y, X) with both not NULL (X
/// alone, as Y, for one-argument aggregates) and the FILTER clause true.
fn each_input(
    values: &[ArrayRef],
    filter: Option<&BooleanArray>,
    mut apply: impl FnMut(usize, f64, f64) -> Result<()>,
) -> Result<()> {
    let Some(first) = values.first() else {
        return internal_err!("statistics aggregate called without arguments");
    };
    let first = first.as_primitive_opt::<Float64Type>();
    let second = values.get(1).map(|a| a.as_primitive_opt::<Float64Type>());
    let (Some(first), Some(second)) = (first, second.unwrap_or(first)) else {
        return internal_err!("statistics aggregate arguments are not float8");
    };
    for row in 0..first.len() {
        if first.is_null(row) || second.is_null(row) {
            continue;
        }
        if let Some(filter) = filter
            && !(filter.is_valid(row) && filter.value(row))
        {
            continue;
        }
        apply(row, first.value(row), second.value(row))?;
    }
    Ok(())
}

fn feed(stat: Stat, moments: &mut Moments, y: f64, x: f64) -> Result<()> {
    if stat == Stat::RegrCount {
        // regr_count only counts (its sums could overflow where the count cannot).
        moments.n += 1.0;
        Ok(())
    } else if stat.two_args() {
        moments.add_pair(y, x)
    } else {
        moments.add(y)
    }
}

fn state_columns(states: &[ArrayRef]) -> Result<[&Float64Array; 6]> {
    let mut columns = Vec::with_capacity(6);
    for state in states {
        match state.as_primitive_opt::<Float64Type>() {
            Some(column) => columns.push(column),
            None => return internal_err!("statistics aggregate state is not float8"),
        }
    }
    columns
        .try_into()
        .or_else(|_| internal_err!("statistics aggregate state has {} columns", states.len()))
}

fn state_arrays(moments: &[Moments]) -> Vec<ArrayRef> {
    let parts: [fn(&Moments) -> f64; 6] =
        [|m| m.n, |m| m.sx, |m| m.sxx, |m| m.sy, |m| m.syy, |m| m.sxy];
    parts
        .iter()
        .map(|part| Arc::new(moments.iter().map(part).collect::<Float64Array>()) as ArrayRef)
        .collect()
}

/// The running sums, for a whole group (an aggregate or a frame that only grows).
#[derive(Debug)]
struct SumsAccumulator {
    stat: Stat,
    moments: Moments,
}

impl Accumulator for SumsAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let (stat, moments) = (self.stat, &mut self.moments);
        each_input(values, None, |_, y, x| feed(stat, moments, y, x))
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let columns = state_columns(states)?;
        for row in 0..columns[0].len() {
            self.moments.merge(&Moments::from_state(&columns, row))?;
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let m = self.moments;
        Ok([m.n, m.sx, m.sxx, m.sy, m.syy, m.sxy]
            .into_iter()
            .map(|v| ScalarValue::Float64(Some(v)))
            .collect())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(self.stat.scalar(&self.moments))
    }

    fn size(&self) -> usize {
        size_of::<Self>()
    }
}

/// The inputs themselves: for a sliding window frame (PostgreSQL recomputes each frame from
/// its first row) and for DISTINCT (PostgreSQL feeds the distinct inputs in sorted order).
/// A two-argument DISTINCT keeps (Y, X) pairs flattened in its list state.
#[derive(Debug)]
struct RowsAccumulator {
    stat: Stat,
    distinct: bool,
    rows: VecDeque<(f64, f64)>,
    /// The rows kept so far, for DISTINCT.
    seen: HashSet<(u64, u64)>,
}

/// A float's bits with PostgreSQL's float8 equality: one zero, one NaN.
fn float_key(v: f64) -> u64 {
    if v.is_nan() {
        f64::NAN.to_bits()
    } else {
        (v + 0.0).to_bits()
    }
}

impl RowsAccumulator {
    fn new(stat: Stat, distinct: bool) -> Self {
        RowsAccumulator {
            stat,
            distinct,
            rows: VecDeque::new(),
            seen: HashSet::new(),
        }
    }

    fn inputs(&self) -> Vec<(f64, f64)> {
        let mut rows: Vec<(f64, f64)> = self.rows.iter().copied().collect();
        if self.distinct {
            // PostgreSQL sorts with float8's order (NaN last, -0 = 0) and drops equal rows.
            let order = |a: &f64, b: &f64| {
                let (a, b) = (a + 0.0, b + 0.0);
                match (a.is_nan(), b.is_nan()) {
                    (true, true) => std::cmp::Ordering::Equal,
                    (true, false) => std::cmp::Ordering::Greater,
                    (false, true) => std::cmp::Ordering::Less,
                    _ => a.total_cmp(&b),
                }
            };
            rows.sort_by(|a, b| order(&a.0, &b.0).then_with(|| order(&a.1, &b.1)));
            rows.dedup_by(|a, b| order(&a.0, &b.0).is_eq() && order(&a.1, &b.1).is_eq());
        }
        rows
    }
}

impl Accumulator for RowsAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let (rows, seen, distinct) = (&mut self.rows, &mut self.seen, self.distinct);
        each_input(values, None, |_, y, x| {
            // DISTINCT keeps one of equal rows (float8 equality: -0 = 0, NaN = NaN).
            if !distinct || seen.insert((float_key(y), float_key(x))) {
                rows.push_back((y, x));
            }
            Ok(())
        })
    }

    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        // Frames leave from the front, in the order they were fed.
        let rows = &mut self.rows;
        each_input(values, None, |_, _, _| {
            rows.pop_front();
            Ok(())
        })
    }

    fn supports_retract_batch(&self) -> bool {
        true
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let Some(lists) = states.first().and_then(|s| s.as_list_opt::<i32>()) else {
            return internal_err!("distinct statistics state is not a list");
        };
        let pairs = self.stat.two_args();
        for list in lists.iter().flatten() {
            let Some(values) = list.as_primitive_opt::<Float64Type>() else {
                return internal_err!("distinct statistics state is not float8");
            };
            let values = values.values();
            let incoming: Vec<(f64, f64)> = if pairs {
                values.chunks_exact(2).map(|p| (p[0], p[1])).collect()
            } else {
                values.iter().map(|&v| (v, v)).collect()
            };
            for (y, x) in incoming {
                if self.seen.insert((float_key(y), float_key(x))) {
                    self.rows.push_back((y, x));
                }
            }
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let pairs = self.stat.two_args();
        let mut values = Vec::new();
        for (y, x) in self.inputs() {
            values.push(y);
            if pairs {
                values.push(x);
            }
        }
        let values = Arc::new(Float64Array::from(values));
        Ok(vec![
            datafusion::common::utils::SingleRowListArrayBuilder::new(values).build_list_scalar(),
        ])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let mut moments = Moments::default();
        if self.distinct {
            for (y, x) in self.inputs() {
                feed(self.stat, &mut moments, y, x)?;
            }
        } else {
            for &(y, x) in &self.rows {
                feed(self.stat, &mut moments, y, x)?;
            }
        }
        Ok(self.stat.scalar(&moments))
    }

    fn size(&self) -> usize {
        size_of::<Self>()
            + self.rows.capacity() * size_of::<(f64, f64)>()
            + self.seen.capacity() * size_of::<(u64, u64)>()
    }
}

/// The running sums of every group of a GROUP BY.
#[derive(Debug)]
struct SumsGroups {
    stat: Stat,
    groups: Vec<Moments>,
}

impl GroupsAccumulator for SumsGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.groups.resize(total_num_groups, Moments::default());
        let (stat, groups) = (self.stat, &mut self.groups);
        each_input(values, opt_filter, |row, y, x| {
            match group_indices.get(row).and_then(|&g| groups.get_mut(g)) {
                Some(moments) => feed(stat, moments, y, x),
                None => internal_err!("statistics aggregate row {row} has no group"),
            }
        })
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.groups.resize(total_num_groups, Moments::default());
        let columns = state_columns(values)?;
        for (row, &group) in group_indices.iter().enumerate() {
            let Some(moments) = self.groups.get_mut(group) else {
                return internal_err!("statistics aggregate group {group} out of range");
            };
            moments.merge(&Moments::from_state(&columns, row))?;
        }
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let groups = emit_to.take_needed(&mut self.groups);
        let stat = self.stat;
        if stat == Stat::RegrCount {
            // A count of at most 2^53 rows, exact in the f64 it was kept in.
            return Ok(Arc::new(
                groups.iter().map(|m| m.n as i64).collect::<Int64Array>(),
            ));
        }
        Ok(Arc::new(
            groups
                .iter()
                .map(|m| stat.finish(m))
                .collect::<Float64Array>(),
        ))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let groups = emit_to.take_needed(&mut self.groups);
        Ok(state_arrays(&groups))
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let rows = values.first().map(|v| v.len()).unwrap_or(0);
        let mut states = vec![Moments::default(); rows];
        let stat = self.stat;
        each_input(values, opt_filter, |row, y, x| match states.get_mut(row) {
            Some(moments) => feed(stat, moments, y, x),
            None => internal_err!("statistics aggregate row {row} out of range"),
        })?;
        Ok(state_arrays(&states))
    }

    fn size(&self) -> usize {
        self.groups.capacity() * size_of::<Moments>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(values: &[f64]) -> Moments {
        let mut m = Moments::default();
        for &v in values {
            m.add(v).expect("finite");
        }
        m
    }

    #[test]
    fn results_are_postgresqls_to_the_last_digit() {
        // PostgreSQL 15.18: SELECT variance(x), stddev(x), var_pop(x), corr(x, x*x+1),
        // regr_slope(x*x, x), regr_intercept(x*x, x), regr_r2(x*x, x),
        // covar_samp(x, x*3.1) FROM (VALUES (1.5::float8),(2.25),(4.75),(0.5)) v(x)
        let xs = [1.5, 2.25, 4.75, 0.5];
        let m = sample(&xs);
        assert_eq!(Stat::VarSamp.finish(&m), Some(3.2916666666666665));
        assert_eq!(Stat::StddevSamp.finish(&m), Some(1.8142950880897701));
        assert_eq!(Stat::VarPop.finish(&m), Some(2.46875));
        let pairs = |f: &dyn Fn(f64) -> (f64, f64)| {
            let mut m = Moments::default();
            for &x in &xs {
                let (y, x) = f(x);
                m.add_pair(y, x).expect("finite");
            }
            m
        };
        let corr = pairs(&|x| (x, x * x + 1.0));
        assert_eq!(Stat::Corr.finish(&corr), Some(0.976449467866893));
        let square = pairs(&|x| (x * x, x));
        assert_eq!(Stat::RegrSlope.finish(&square), Some(5.496835443037975));
        assert_eq!(
            Stat::RegrIntercept.finish(&square),
            Some(-4.8366297468354436)
        );
        assert_eq!(Stat::RegrR2.finish(&square), Some(0.9534535632975384));
        let scaled = pairs(&|x| (x, x * 3.1));
        assert_eq!(Stat::CovarSamp.finish(&scaled), Some(10.204166666666666));
    }

    #[test]
    fn pairs_are_scaled_as_float8_regr_accum_scales_them() {
        // PostgreSQL 15.18: covar_samp(y,x), corr(y,x), regr_slope(y,x) over (8.43,3.66),
        // (7.45,6.79), (6.18,7.09), (5.02,1.51), (1.66,0.07): 5.762535000000001,
        // 0.7041684302801331, 0.5919715280117684 (dividing, not multiplying by the
        // reciprocal, gave 5.762535).
        let mut m = Moments::default();
        for (y, x) in [
            (8.43, 3.66),
            (7.45, 6.79),
            (6.18, 7.09),
            (5.02, 1.51),
            (1.66, 0.07),
        ] {
            m.add_pair(y, x).expect("finite");
        }
        assert_eq!(Stat::CovarSamp.finish(&m), Some(5.762535000000001));
        assert_eq!(Stat::Corr.finish(&m), Some(0.7041684302801331));
        assert_eq!(Stat::RegrSlope.finish(&m), Some(0.5919715280117684));
        // regr_count only counts: sums that overflow do not matter to it.
        let mut count = Moments::default();
        for _ in 0..2 {
            feed(Stat::RegrCount, &mut count, 1e308, 1e308).expect("counted");
        }
        assert_eq!(Stat::RegrCount.scalar(&count), ScalarValue::Int64(Some(2)));
    }

    #[test]
    fn null_rules_follow_postgresql() {
        let one = sample(&[3.0]);
        assert_eq!(Stat::VarSamp.finish(&one), None);
        assert_eq!(Stat::VarPop.finish(&one), Some(0.0));
        assert_eq!(Stat::VarPop.finish(&Moments::default()), None);
        let mut constant = Moments::default();
        for (y, x) in [(1.0, 2.0), (1.0, 3.0)] {
            constant.add_pair(y, x).expect("finite");
        }
        assert_eq!(Stat::Corr.finish(&constant), None);
        assert_eq!(Stat::RegrR2.finish(&constant), Some(1.0));
        assert_eq!(Stat::RegrSlope.finish(&constant), Some(0.0));
    }

    #[test]
    fn infinities_give_nan_and_finite_overflow_is_an_error() {
        let m = sample(&[f64::INFINITY]);
        assert!(Stat::VarPop.finish(&m).is_some_and(f64::is_nan));
        let mut big = Moments::default();
        big.add(f64::MAX).expect("first value");
        let err = big.add(-f64::MAX).expect_err("overflow");
        assert!(
            err.to_string().contains("value out of range: overflow"),
            "{err}"
        );
    }

    #[test]
    fn merging_two_halves_is_float8_combine() {
        let values = [1.5, 2.25, 4.75, 0.5, 9.0, -3.25];
        let mut left = sample(&values[..3]);
        left.merge(&sample(&values[3..])).expect("finite");
        let whole = sample(&values);
        assert_eq!(left.n, whole.n);
        let (a, b) = (
            Stat::VarSamp.finish(&left).unwrap_or(f64::NAN),
            Stat::VarSamp.finish(&whole).unwrap_or(f64::NAN),
        );
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        let mut empty = Moments::default();
        empty.merge(&whole).expect("finite");
        assert_eq!(empty, whole);
    }
}
