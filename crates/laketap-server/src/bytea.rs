//! PostgreSQL's `bytea` input for string literals cast to bytea.
//!
//! `'\xdeadbeef'::bytea` is four bytes in PostgreSQL (hex format), and
//! `'a\\000b'::bytea` three (escape format). DataFusion casts a string to
//! binary as its UTF-8 bytes, so the same literal came back as the ten bytes
//! of the text. psycopg2 sends every bytes parameter this way (it quotes
//! parameters into the SQL text), so a bytea it writes would not read back.
//!
//! [`rewrite`] (in laketap's analyzer rule, [`crate::rules`]) replaces `CAST('…' AS bytea)` of
//! a string literal (also a parameter's value, which is a literal once bound)
//! with the bytes PostgreSQL would read, or fails with 22P02 as PostgreSQL
//! does. A cast of a text column is left to DataFusion.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::tree_node::Transformed;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::Expr;
use datafusion::logical_expr::expr::{Cast, TryCast};
use datafusion::scalar::ScalarValue;

pub(crate) fn rewrite(expr: Expr) -> DfResult<Transformed<Expr>> {
    let (inner, target) = match &expr {
        Expr::Cast(Cast { expr, field }) | Expr::TryCast(TryCast { expr, field }) => {
            (expr.as_ref(), field.data_type())
        }
        _ => return Ok(Transformed::no(expr)),
    };
    let Expr::Literal(value, _) = inner else {
        return Ok(Transformed::no(expr));
    };
    let text = match value {
        ScalarValue::Utf8(Some(s))
        | ScalarValue::Utf8View(Some(s))
        | ScalarValue::LargeUtf8(Some(s)) => s.as_str(),
        _ => return Ok(Transformed::no(expr)),
    };
    let bytes = match target {
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => {
            bytea_in(text).map_err(|e| {
                DataFusionError::Execution(format!("invalid input syntax for type bytea: {e}"))
            })?
        }
        _ => return Ok(Transformed::no(expr)),
    };
    let value = match target {
        DataType::LargeBinary => ScalarValue::LargeBinary(Some(bytes)),
        DataType::BinaryView => ScalarValue::BinaryView(Some(bytes)),
        _ => ScalarValue::Binary(Some(bytes)),
    };
    Ok(Transformed::yes(Expr::Literal(value, None)))
}

/// PostgreSQL's `byteain`: `\x` followed by hex digit pairs (whitespace
/// between pairs allowed), or the escape format (`\\` is a backslash, `\ooo`
/// an octal byte, anything else itself).
pub fn bytea_in(text: &str) -> Result<Vec<u8>, String> {
    if let Some(hex) = text
        .strip_prefix("\\x")
        .or_else(|| text.strip_prefix("\\X"))
    {
        let mut out = Vec::with_capacity(hex.len() / 2);
        let mut digits = hex.bytes().filter(|b| !b.is_ascii_whitespace());
        while let Some(high) = digits.next() {
            let low = digits
                .next()
                .ok_or_else(|| format!("\"{text}\": odd number of hex digits"))?;
            let nibble = |b: u8| {
                (b as char).to_digit(16).ok_or_else(|| {
                    format!("\"{text}\": invalid hexadecimal digit \"{}\"", b as char)
                })
            };
            out.push((nibble(high)? * 16 + nibble(low)?) as u8);
        }
        return Ok(out);
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
        } else if bytes.get(i + 1) == Some(&b'\\') {
            out.push(b'\\');
            i += 2;
        } else if let Some(octal) = bytes.get(i + 1..i + 4).filter(|o| {
            (b'0'..=b'3').contains(&o[0]) && o[1..].iter().all(|d| (b'0'..=b'7').contains(d))
        }) {
            out.push((octal[0] - b'0') * 64 + (octal[1] - b'0') * 8 + (octal[2] - b'0'));
            i += 4;
        } else {
            return Err(format!("\"{text}\""));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::SessionContext;

    #[test]
    fn hex_and_escape_formats() {
        assert_eq!(
            bytea_in("\\xdeadbeef").unwrap(),
            vec![0xde, 0xad, 0xbe, 0xef]
        );
        assert_eq!(bytea_in("\\xDE AD").unwrap(), vec![0xde, 0xad]);
        assert_eq!(bytea_in("\\x").unwrap(), Vec::<u8>::new());
        assert_eq!(bytea_in("abc").unwrap(), b"abc".to_vec());
        assert_eq!(bytea_in("a\\\\b\\000c").unwrap(), b"a\\b\0c".to_vec());
        assert!(bytea_in("\\xabc").is_err());
        assert!(bytea_in("\\xzz").is_err());
        assert!(bytea_in("a\\9").is_err());
    }

    #[tokio::test]
    async fn literals_cast_to_bytea_are_decoded() {
        let ctx = SessionContext::new();
        let text = crate::rules::table_text(
            &ctx,
            "SELECT '\\xdeadbeef'::bytea AS h, 'a\\000'::bytea AS e, '\\x01'::bytea",
        )
        .await;
        assert!(text.contains("| deadbeef | 6100 | 01 "), "{text}");
        let err = ctx
            .sql("SELECT '\\xzz'::bytea")
            .await
            .expect("plan")
            .collect()
            .await
            .expect_err("bad hex");
        assert!(
            err.to_string()
                .contains("invalid input syntax for type bytea"),
            "{err}"
        );
    }
}
