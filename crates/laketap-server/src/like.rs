//! `LIKE … ESCAPE 'c'` with an escape character other than backslash.
//!
//! DataFusion's LIKE takes only a backslash as its escape character and
//! refuses any other ("LIKE does not support escape_char other than the
//! backslash"). SQLAlchemy escapes with `/` (`startswith(…, autoescape=True)`,
//! which its PostgreSQL dialect's schema listing uses), so Superset and
//! `inspect(engine).get_schema_names()` failed.
//!
//! [`rewrite`] (in laketap's analyzer rule, [`crate::rules`]) rewrites such a LIKE (or ILIKE,
//! SIMILAR TO is left alone) to escape with backslash: the pattern, whatever
//! expression it is (a literal, a bound parameter, `$1 || '%'`), goes through
//! [`reescape`], which constant folding evaluates once for a constant pattern.

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::tree_node::Transformed;
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::expr::{Like, ScalarFunction};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility, cast,
    lit,
};

pub(crate) fn rewrite(expr: Expr) -> DfResult<Transformed<Expr>> {
    let Expr::Like(like) = expr else {
        return Ok(Transformed::no(expr));
    };
    let Some(escape) = like.escape_char.filter(|c| *c != '\\') else {
        return Ok(Transformed::no(Expr::Like(like)));
    };
    let pattern = Expr::ScalarFunction(ScalarFunction::new_udf(
        Arc::new(ScalarUDF::new_from_impl(Reescape::default())),
        vec![cast(*like.pattern, DataType::Utf8), lit(escape.to_string())],
    ));
    Ok(Transformed::yes(Expr::Like(Like {
        negated: like.negated,
        expr: like.expr,
        pattern: Box::new(pattern),
        escape_char: Some('\\'),
        case_insensitive: like.case_insensitive,
    })))
}

/// `pattern` escaped with `escape` as the same pattern escaped with
/// backslash: `escape` + c becomes `\` + c, and a backslash (an ordinary
/// character there) becomes `\\`.
pub fn reescape(pattern: &str, escape: char) -> String {
    let mut out = String::with_capacity(pattern.len() + 2);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c == escape {
            out.push('\\');
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else if c == '\\' {
            out.push_str("\\\\");
        } else {
            out.push(c);
        }
    }
    out
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Reescape {
    signature: Signature,
}

impl Default for Reescape {
    fn default() -> Self {
        Reescape {
            signature: Signature::exact(
                vec![DataType::Utf8, DataType::Utf8],
                Volatility::Immutable,
            ),
        }
    }
}

impl ScalarUDFImpl for Reescape {
    fn name(&self) -> &str {
        "laketap_like_reescape"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let patterns = arrays[0].as_string::<i32>();
        let escapes = arrays[1].as_string::<i32>();
        let mut out = StringBuilder::with_capacity(patterns.len(), 0);
        for i in 0..patterns.len() {
            if patterns.is_null(i) || escapes.is_null(i) {
                out.append_null();
                continue;
            }
            match escapes.value(i).chars().next() {
                Some(escape) => out.append_value(reescape(patterns.value(i), escape)),
                None => out.append_value(patterns.value(i)),
            }
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::SessionContext;

    #[test]
    fn patterns_are_escaped_with_backslash() {
        assert_eq!(reescape("pg/_%", '/'), "pg\\_%");
        assert_eq!(reescape("a\\b//", '/'), "a\\\\b\\/");
        assert_eq!(reescape("100#%", '#'), "100\\%");
    }

    #[tokio::test]
    async fn like_with_another_escape_character_runs() {
        let ctx = SessionContext::new();
        let text = crate::rules::table_text(
            &ctx,
            "SELECT n FROM (VALUES ('pg_x'), ('pgx'), ('a\\b')) AS t(n) \
             WHERE n NOT LIKE 'pg/_' || '%' ESCAPE '/' AND n NOT ILIKE 'A\\%' ESCAPE '/'",
        )
        .await;
        assert!(text.contains("| pgx |"), "{text}");
        assert!(!text.contains("pg_x"), "{text}");
        assert!(!text.contains("a\\b"), "{text}");
    }
}
