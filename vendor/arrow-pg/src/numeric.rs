//! Exact PostgreSQL `numeric` for Arrow decimals (laketap's patch).
//!
//! Upstream arrow-pg 0.16 goes through `rust_decimal`, whose 96-bit
//! mantissa holds 28 digits: a Decimal128 value with more digits (a
//! `decimal(38,18)` above 79 billion, a 30-digit literal) failed to encode
//! with 22003, and a bound parameter rescaled past 28 digits came back
//! with its digits shifted (`12345678901234567890.123456789` as
//! `1234567890123456789.0123456789`). [`PgNumeric`] keeps the decimal digits
//! as text, so every Decimal128 and Decimal256 value is sent exactly (text
//! and binary, with the column's scale as display scale), and parameters
//! are read into the planned precision and scale exactly, rounding half
//! away from zero as PostgreSQL does, or refused with 22003.
//!
//! Its tests are in laketap-server (`src/numeric_tests.rs`): a vendored
//! crate outside the workspace is not tested by `cargo test --workspace`.

use std::error::Error;
use std::fmt;

use bytes::{BufMut, BytesMut};
use pgwire::types::format::FormatOptions;
use pgwire::types::{FromSqlText, ToSqlText};
use postgres_types::{FromSql, IsNull, ToSql, Type, to_sql_checked};

type BoxError = Box<dyn Error + Sync + Send>;

/// Field metadata of a quotient column (laketap's numeric division and `avg()`):
/// `min/precision/scale`, the least scale its values are written with and the
/// column's decimal type (a cast to another type keeps the metadata but is no longer
/// the quotient); see [`PgNumeric::quotient_from_i128`].
pub const QUOTIENT_DISPLAY_KEY: &str = "laketap.quotient_min_scale";

/// A decimal number: `digits × 10^-scale`, negative when `negative`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgNumeric {
    negative: bool,
    /// Decimal digits of the absolute unscaled value, without leading
    /// zeros; empty for zero.
    digits: String,
    /// Digits after the point (the display scale); negative appends zeros.
    scale: i32,
}

fn error(message: impl Into<String>) -> BoxError {
    message.into().into()
}

impl PgNumeric {
    /// `unscaled × 10^-scale` (`unscaled` as decimal text, optionally signed).
    fn from_unscaled_text(unscaled: &str, scale: i32) -> Self {
        let (negative, digits) = match unscaled.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, unscaled),
        };
        let digits = digits.trim_start_matches('0').to_string();
        PgNumeric {
            negative: negative && !digits.is_empty(),
            digits,
            scale,
        }
    }

    /// A Decimal128 value of scale `scale`.
    pub fn from_i128(unscaled: i128, scale: i8) -> Self {
        Self::from_unscaled_text(&unscaled.to_string(), i32::from(scale))
    }

    /// A quotient (laketap's numeric division or `avg()`) of scale `scale`, written
    /// with the scale PostgreSQL gives a quotient of its size: `16 - 4 × weight`
    /// digits after the point, `weight` being the value's in base-10000 digits (so
    /// `2.5000000000000000`, `0.33333333333333333333`, `17636684.142857142857`), and
    /// never fewer than `min_scale`. Only zeros are dropped: a value with more
    /// non-zero digits keeps them.
    pub fn quotient_from_i128(unscaled: i128, scale: i8, min_scale: i8) -> Self {
        let mut number = Self::from_i128(unscaled, scale);
        if number.digits.is_empty() || number.scale <= 0 {
            return number;
        }
        let exponent = number.digits.len() as i32 - 1 - number.scale;
        let postgres = (16 - 4 * exponent.div_euclid(4)).max(i32::from(min_scale));
        let zeros = (number.digits.len() - number.digits.trim_end_matches('0').len()) as i32;
        let shown = postgres.max(number.scale - zeros).clamp(0, number.scale);
        let drop = (number.scale - shown) as usize;
        number.digits.truncate(number.digits.len() - drop);
        number.scale = shown;
        number
    }

    /// A Decimal256 value (its unscaled value's decimal text) of scale `scale`.
    pub fn from_i256_text(unscaled: &str, scale: i8) -> Self {
        Self::from_unscaled_text(unscaled, i32::from(scale))
    }

    /// Reads PostgreSQL's numeric input: sign, digits, point, exponent.
    pub fn parse(text: &str) -> Result<Self, BoxError> {
        let invalid = || error(format!("invalid input syntax for type numeric: \"{text}\""));
        let t = text.trim();
        let lower = t.to_ascii_lowercase();
        if matches!(
            lower.trim_start_matches(['+', '-']),
            "nan" | "infinity" | "inf"
        ) {
            return Err(error(format!(
                "numeric value \"{t}\" cannot be represented: Arrow decimals have no NaN or infinity"
            )));
        }
        let (negative, rest) = match t.as_bytes().first() {
            Some(b'-') => (true, &t[1..]),
            Some(b'+') => (false, &t[1..]),
            _ => (false, t),
        };
        let (mantissa, exponent) = match rest.find(['e', 'E']) {
            Some(i) => (
                &rest[..i],
                rest[i + 1..].parse::<i32>().map_err(|_| invalid())?,
            ),
            None => (rest, 0),
        };
        // laketap: PostgreSQL's numeric_in bound (NUMERIC_MAX_PRECISION);
        // `1e2000000000` would otherwise be spelled out in memory.
        if !(-1000..=1000).contains(&exponent) {
            return Err(invalid());
        }
        let (int_part, frac_part) = match mantissa.split_once('.') {
            Some((i, f)) => (i, f),
            None => (mantissa, ""),
        };
        if int_part.is_empty() && frac_part.is_empty()
            || !int_part.bytes().all(|b| b.is_ascii_digit())
            || !frac_part.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(invalid());
        }
        let scale = i32::try_from(frac_part.len())
            .ok()
            .and_then(|s| s.checked_sub(exponent))
            .ok_or_else(invalid)?;
        let mut unscaled = String::with_capacity(int_part.len() + frac_part.len() + 1);
        if negative {
            unscaled.push('-');
        }
        unscaled.push_str(int_part);
        unscaled.push_str(frac_part);
        let mut n = Self::from_unscaled_text(&unscaled, scale);
        // PostgreSQL's display scale is never negative: 1e3 is 1000.
        if n.scale < 0 {
            n = n.rescaled_digits(0);
        }
        Ok(n)
    }

    /// The digits at scale `scale` (appending zeros, or dropping digits with
    /// rounding half away from zero).
    fn rescaled_digits(&self, scale: i32) -> Self {
        let mut digits = self.digits.clone();
        if scale >= self.scale {
            if !digits.is_empty() {
                digits.extend(std::iter::repeat_n('0', (scale - self.scale) as usize));
            }
        } else {
            let drop = (self.scale - scale) as usize;
            if drop > digits.len() {
                digits.clear();
            } else {
                let round_up = digits.as_bytes()[digits.len() - drop] >= b'5';
                digits.truncate(digits.len() - drop);
                if round_up {
                    digits = increment(&digits);
                }
            }
        }
        Self::from_unscaled_text(
            &format!("{}{digits}", if self.negative { "-" } else { "" }),
            scale,
        )
    }

    /// The unscaled value at `scale` as a Decimal128 of `precision`, or
    /// PostgreSQL's "numeric field overflow".
    pub fn to_i128(&self, precision: u8, scale: i8) -> Result<i128, BoxError> {
        self.unscaled_text(precision, scale)?
            .parse()
            .map_err(|_| error(format!("numeric field overflow: {self}")))
    }

    /// The unscaled value at `scale` as signed decimal text, at most
    /// `precision` digits (for Decimal256).
    pub fn unscaled_text(&self, precision: u8, scale: i8) -> Result<String, BoxError> {
        let rescaled = self.rescaled_digits(i32::from(scale));
        if rescaled.digits.len() > usize::from(precision) {
            return Err(error(format!(
                "numeric field overflow: {self} does not fit a numeric with precision {precision}, scale {scale}"
            )));
        }
        Ok(match (rescaled.negative, rescaled.digits.is_empty()) {
            (_, true) => "0".to_string(),
            (true, false) => format!("-{}", rescaled.digits),
            (false, false) => rescaled.digits,
        })
    }

    /// The Decimal128 (precision, scale) that holds this value as it is:
    /// `None` when it has more than 38 digits or a scale above 38.
    pub fn natural_precision_scale(&self) -> Option<(u8, i8)> {
        let scale = u8::try_from(self.scale).ok()?;
        let precision = u8::try_from(self.digits.len().max(1))
            .ok()?
            .max(scale)
            .max(1);
        (precision <= 38).then_some((precision, scale as i8))
    }

    /// As a float (for a numeric bound to a float column).
    pub fn to_f64(&self) -> Option<f64> {
        self.to_string().parse().ok()
    }

    /// PostgreSQL's binary numeric: ndigits, weight, sign, dscale, then
    /// base-10000 digits.
    pub fn write_binary(&self, out: &mut BytesMut) -> Result<(), BoxError> {
        let dscale = self.scale.max(0);
        let whole = self.rescaled_digits(dscale);
        // Integer and fraction digits of the value at its display scale.
        let digits = whole.digits.as_str();
        let frac_len = dscale as usize;
        let padded;
        let digits = if digits.len() < frac_len {
            padded = format!("{}{digits}", "0".repeat(frac_len - digits.len()));
            padded.as_str()
        } else {
            digits
        };
        let (int_digits, frac_digits) = digits.split_at(digits.len() - frac_len);
        let mut groups: Vec<i16> = Vec::new();
        let int_pad = (4 - int_digits.len() % 4) % 4;
        let int_text = format!("{}{int_digits}", "0".repeat(int_pad));
        let int_groups = int_text.len() / 4;
        for chunk in int_text.as_bytes().chunks(4) {
            groups.push(std::str::from_utf8(chunk)?.parse()?);
        }
        let frac_pad = (4 - frac_digits.len() % 4) % 4;
        let frac_text = format!("{frac_digits}{}", "0".repeat(frac_pad));
        for chunk in frac_text.as_bytes().chunks(4) {
            groups.push(std::str::from_utf8(chunk)?.parse()?);
        }
        let mut weight = int_groups as i32 - 1;
        // Leading and trailing zero groups are not sent.
        let leading = groups.iter().take_while(|g| **g == 0).count();
        groups.drain(..leading);
        weight -= leading as i32;
        while groups.last() == Some(&0) {
            groups.pop();
        }
        if groups.is_empty() {
            weight = 0;
        }
        let too_big = || error(format!("numeric {self} is too large for the binary format"));
        out.put_i16(i16::try_from(groups.len()).map_err(|_| too_big())?);
        out.put_i16(i16::try_from(weight).map_err(|_| too_big())?);
        out.put_u16(if whole.negative { 0x4000 } else { 0 });
        out.put_u16(u16::try_from(dscale).map_err(|_| too_big())?);
        for g in groups {
            out.put_i16(g);
        }
        Ok(())
    }

    /// Reads PostgreSQL's binary numeric.
    pub fn read_binary(raw: &[u8]) -> Result<Self, BoxError> {
        let short = || error("binary numeric is too short");
        let word = |i: usize| -> Result<u16, BoxError> {
            raw.get(i * 2..i * 2 + 2)
                .map(|b| u16::from_be_bytes([b[0], b[1]]))
                .ok_or_else(short)
        };
        let ndigits = word(0)? as usize;
        let weight = word(1)? as i16 as i32;
        let sign = word(2)?;
        let dscale = i32::from(word(3)?);
        match sign {
            0x0000 | 0x4000 => {}
            0xC000 => {
                return Err(error(
                    "numeric NaN cannot be represented: Arrow decimals have no NaN",
                ));
            }
            _ => {
                return Err(error(
                    "numeric infinity cannot be represented: Arrow decimals have no infinity",
                ));
            }
        }
        let mut unscaled = String::new();
        if sign == 0x4000 {
            unscaled.push('-');
        }
        for i in 0..ndigits {
            let g = word(4 + i)?;
            if g > 9999 {
                return Err(error("invalid digit in binary numeric"));
            }
            unscaled.push_str(&format!("{g:04}"));
        }
        // The digits stand for groups weight, weight-1, …: the unscaled
        // value at scale 4 × (ndigits - weight - 1).
        let scale = 4 * (ndigits as i32 - weight - 1);
        let n = Self::from_unscaled_text(if ndigits == 0 { "0" } else { &unscaled }, scale);
        Ok(n.rescaled_digits(dscale))
    }
}

/// `digits` + 1 (decimal text, no sign).
fn increment(digits: &str) -> String {
    let mut bytes = digits.as_bytes().to_vec();
    for b in bytes.iter_mut().rev() {
        if *b == b'9' {
            *b = b'0';
        } else {
            *b += 1;
            return String::from_utf8(bytes).unwrap_or_default();
        }
    }
    let mut out = String::from("1");
    out.push_str(std::str::from_utf8(&bytes).unwrap_or_default());
    out
}

impl fmt::Display for PgNumeric {
    /// PostgreSQL's text: exactly `scale` fraction digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.negative { "-" } else { "" };
        if self.scale <= 0 {
            if self.digits.is_empty() {
                return f.write_str("0");
            }
            return write!(f, "{sign}{}{}", self.digits, "0".repeat((-self.scale) as usize));
        }
        let scale = self.scale as usize;
        let digits = if self.digits.len() <= scale {
            format!("{}{}", "0".repeat(scale + 1 - self.digits.len()), self.digits)
        } else {
            self.digits.clone()
        };
        let (int_part, frac_part) = digits.split_at(digits.len() - scale);
        write!(f, "{sign}{int_part}.{frac_part}")
    }
}

impl ToSql for PgNumeric {
    fn to_sql(&self, _ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        self.write_binary(out)?;
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::NUMERIC
    }

    to_sql_checked!();
}

impl ToSqlText for PgNumeric {
    fn to_sql_text(
        &self,
        ty: &Type,
        out: &mut BytesMut,
        _format_options: &FormatOptions,
    ) -> Result<IsNull, BoxError> {
        if !matches!(*ty, Type::NUMERIC | Type::NUMERIC_ARRAY) {
            return Err(Box::new(postgres_types::WrongType::new::<PgNumeric>(
                ty.clone(),
            )));
        }
        out.put_slice(self.to_string().as_bytes());
        Ok(IsNull::No)
    }
}

impl<'a> FromSql<'a> for PgNumeric {
    fn from_sql(_ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        Self::read_binary(raw)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::NUMERIC
    }
}

impl<'a> FromSqlText<'a> for PgNumeric {
    fn from_sql_text(
        _ty: &Type,
        input: &'a [u8],
        _format_options: &FormatOptions,
    ) -> Result<Self, BoxError> {
        Self::parse(std::str::from_utf8(input)?)
    }
}
