//! One table-driven mapping from engine errors to PostgreSQL SQLSTATEs, so
//! every client sees the code a PostgreSQL server would send (XX000 is kept
//! for our own bugs).

use datafusion::arrow::error::ArrowError;
use datafusion::common::SchemaError;
use datafusion::error::DataFusionError;
use datafusion::sql::sqlparser::parser::ParserError;
use pgwire::error::ErrorInfo;

/// syntax_error
pub const SYNTAX_ERROR: &str = "42601";
/// undefined_table
pub const UNDEFINED_TABLE: &str = "42P01";
/// undefined_column
pub const UNDEFINED_COLUMN: &str = "42703";
/// undefined_function
pub const UNDEFINED_FUNCTION: &str = "42883";
/// ambiguous_column
pub const AMBIGUOUS_COLUMN: &str = "42702";
/// datatype_mismatch
pub const DATATYPE_MISMATCH: &str = "42804";
/// syntax_error_or_access_rule_violation (a query that cannot be planned)
pub const INVALID_QUERY: &str = "42000";
/// insufficient_privilege
pub const INSUFFICIENT_PRIVILEGE: &str = "42501";
/// feature_not_supported
pub const NOT_SUPPORTED: &str = "0A000";
/// division_by_zero
pub const DIVISION_BY_ZERO: &str = "22012";
/// numeric_value_out_of_range
pub const OUT_OF_RANGE: &str = "22003";
/// invalid_text_representation
pub const INVALID_TEXT: &str = "22P02";
/// data_exception
pub const DATA_EXCEPTION: &str = "22000";
/// invalid_parameter_value
pub const INVALID_PARAMETER: &str = "22023";
/// out_of_memory
pub const OUT_OF_MEMORY: &str = "53200";
/// io_error
pub const IO_ERROR: &str = "58030";
/// query_canceled
pub const QUERY_CANCELED: &str = "57014";
/// undefined_object (an unrecognized configuration parameter)
pub const UNDEFINED_OBJECT: &str = "42704";
/// cant_change_runtime_param
pub const CANT_CHANGE: &str = "55P02";
/// not_null_violation
pub const NOT_NULL_VIOLATION: &str = "23502";
/// internal_error
pub const INTERNAL: &str = "XX000";
/// untranslatable_character (`\u0000` in jsonb).
pub const UNTRANSLATABLE_CHARACTER: &str = "22P05";
/// cannot_coerce (`cannot cast type bigint to jsonb`).
pub const CANNOT_COERCE: &str = "42846";
/// invalid_sql_statement_name: EXECUTE or DEALLOCATE of an unknown statement.
pub const INVALID_SQL_STATEMENT_NAME: &str = "26000";
/// duplicate_prepared_statement.
pub const DUPLICATE_PREPARED_STATEMENT: &str = "42P05";
/// A scalar subquery returned more than one row.
pub const CARDINALITY_VIOLATION: &str = "21000";
/// width_bucket's bounds or count (`crate::pgmath`).
pub const INVALID_WIDTH_BUCKET: &str = "2201G";

/// An engine error whose SQLSTATE its maker knows (`type "x" does not
/// exist`, 42704), for functions that answer as PostgreSQL's do.
#[derive(Debug)]
pub struct Coded {
    pub code: &'static str,
    pub message: String,
}

impl std::fmt::Display for Coded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Coded {}

/// A [`Coded`] engine error.
pub fn coded(code: &'static str, message: impl Into<String>) -> DataFusionError {
    DataFusionError::External(Box::new(Coded {
        code,
        message: message.into(),
    }))
}

/// An ErrorResponse (severity ERROR) with `code`, for the hooks' own refusals.
pub fn error(code: &str, message: impl Into<String>) -> pgwire::error::PgWireError {
    pgwire::error::PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".to_string(),
        code.to_string(),
        message.into(),
    )))
}

/// The plan a hook gives at Parse for a statement it answers itself at
/// Execute: described as returning no rows.
pub fn no_rows_plan() -> datafusion::logical_expr::LogicalPlan {
    datafusion::logical_expr::LogicalPlan::EmptyRelation(datafusion::logical_expr::EmptyRelation {
        produce_one_row: false,
        schema: std::sync::Arc::new(datafusion::common::DFSchema::empty()),
    })
}

/// Message fragments of DataFusion's plan and execution errors that identify
/// the condition, in the order they are tried.
const MESSAGE_RULES: &[(&str, &str)] = &[
    (
        "is declared as non-nullable but contains null values",
        NOT_NULL_VIOLATION,
    ),
    ("unrecognized configuration parameter", UNDEFINED_OBJECT),
    ("' does not exist", INVALID_SQL_STATEMENT_NAME),
    ("' already exists", DUPLICATE_PREPARED_STATEMENT),
    ("not found", UNDEFINED_TABLE),
    ("No field named", UNDEFINED_COLUMN),
    ("Invalid function", UNDEFINED_FUNCTION),
    ("No function matches", UNDEFINED_FUNCTION),
    (
        "Scalar subquery returned more than one row",
        CARDINALITY_VIOLATION,
    ),
    ("count must be greater than zero", INVALID_WIDTH_BUCKET),
    ("lower bound cannot equal upper bound", INVALID_WIDTH_BUCKET),
    (
        "lower and upper bounds must be finite",
        INVALID_WIDTH_BUCKET,
    ),
    (
        "lower bound, and upper bound cannot be NaN",
        INVALID_WIDTH_BUCKET,
    ),
    ("percentile value", OUT_OF_RANGE),
    ("Divide by zero", DIVISION_BY_ZERO),
    ("divide by zero", DIVISION_BY_ZERO),
    ("Division by zero", DIVISION_BY_ZERO),
    ("overflow", OUT_OF_RANGE),
    ("Overflow", OUT_OF_RANGE),
    ("cannot cast type", CANNOT_COERCE),
    ("value overflows numeric format", OUT_OF_RANGE),
    ("is too large to store in a Decimal", OUT_OF_RANGE),
    ("cannot be converted to text", UNTRANSLATABLE_CHARACTER),
    ("Cannot cast", INVALID_TEXT),
    ("Cast error", INVALID_TEXT),
    ("Error parsing", INVALID_TEXT),
    ("invalid input syntax", INVALID_TEXT),
    ("Unsupported", NOT_SUPPORTED),
    ("not supported", NOT_SUPPORTED),
    ("is not implemented", NOT_SUPPORTED),
];

fn by_message(message: &str, default: &'static str) -> &'static str {
    MESSAGE_RULES
        .iter()
        .find(|(fragment, _)| {
            // "table 'x' not found" and "column 'x' not found" differ in code.
            if *fragment == "not found" {
                message.contains("table '") && message.contains(fragment)
            } else if fragment.starts_with("' ") {
                // DataFusion's prepared statements: "Prepared statement 'p' …".
                message.contains("Prepared statement '") && message.contains(fragment)
            } else {
                message.contains(fragment)
            }
        })
        .map_or(default, |(_, code)| *code)
}

fn arrow_code(e: &ArrowError) -> &'static str {
    match e {
        ArrowError::DivideByZero => DIVISION_BY_ZERO,
        ArrowError::ArithmeticOverflow(_) => OUT_OF_RANGE,
        ArrowError::CastError(_) | ArrowError::ParseError(_) => INVALID_TEXT,
        ArrowError::InvalidArgumentError(m) | ArrowError::ComputeError(m) => {
            by_message(m, DATA_EXCEPTION)
        }
        ArrowError::IoError(_, _) => IO_ERROR,
        ArrowError::MemoryError(_) => OUT_OF_MEMORY,
        ArrowError::NotYetImplemented(_) => NOT_SUPPORTED,
        ArrowError::ExternalError(inner) => inner
            .downcast_ref::<DataFusionError>()
            .map_or(DATA_EXCEPTION, sqlstate),
        _ => DATA_EXCEPTION,
    }
}

/// The SQLSTATE for an engine error.
pub fn sqlstate(e: &DataFusionError) -> &'static str {
    match e {
        DataFusionError::SQL(_, _) => SYNTAX_ERROR,
        DataFusionError::SchemaError(schema_error, _) => match schema_error.as_ref() {
            SchemaError::FieldNotFound { .. } => UNDEFINED_COLUMN,
            SchemaError::AmbiguousReference { .. } => AMBIGUOUS_COLUMN,
            _ => INVALID_QUERY,
        },
        DataFusionError::Plan(m) => by_message(m, INVALID_QUERY),
        DataFusionError::Execution(m) => by_message(m, DATA_EXCEPTION),
        DataFusionError::ArrowError(inner, _) => arrow_code(inner),
        DataFusionError::NotImplemented(_) => NOT_SUPPORTED,
        DataFusionError::Configuration(_) => INVALID_PARAMETER,
        DataFusionError::ResourcesExhausted(_) => OUT_OF_MEMORY,
        DataFusionError::ParquetError(_)
        | DataFusionError::ObjectStore(_)
        | DataFusionError::IoError(_) => IO_ERROR,
        DataFusionError::External(inner) => match inner.downcast_ref::<DataFusionError>() {
            Some(df) => sqlstate(df),
            None => match inner.downcast_ref::<ArrowError>() {
                Some(arrow) => arrow_code(arrow),
                None => match inner.downcast_ref::<laketap_ingest::Error>() {
                    Some(ingest) => ingest.sqlstate(),
                    None if inner.is::<crate::access::PermissionDenied>() => INSUFFICIENT_PRIVILEGE,
                    None if inner.is::<Coded>() => {
                        inner.downcast_ref::<Coded>().map_or(INTERNAL, |c| c.code)
                    }
                    None => by_message(&inner.to_string(), IO_ERROR),
                },
            },
        },
        DataFusionError::Context(_, inner) | DataFusionError::Diagnostic(_, inner) => {
            sqlstate(inner)
        }
        DataFusionError::Shared(inner) => sqlstate(inner),
        DataFusionError::Collection(errors) => errors.first().map_or(INTERNAL, sqlstate),
        DataFusionError::Internal(_)
        | DataFusionError::ExecutionJoin(_)
        | DataFusionError::Substrait(_)
        | DataFusionError::Ffi(_) => INTERNAL,
    }
}

/// The message of the innermost error, without DataFusion's category prefix
/// ("Error during planning: ").
fn plain_message(e: &DataFusionError) -> String {
    match e {
        DataFusionError::Plan(m)
        | DataFusionError::Execution(m)
        | DataFusionError::NotImplemented(m)
        | DataFusionError::Configuration(m)
        | DataFusionError::ResourcesExhausted(m)
        | DataFusionError::Internal(m) => m.clone(),
        DataFusionError::SQL(inner, _) => inner.to_string(),
        DataFusionError::SchemaError(inner, _) => inner.to_string(),
        DataFusionError::ArrowError(inner, _) => inner.to_string(),
        DataFusionError::Context(context, inner) => format!("{context}: {}", plain_message(inner)),
        DataFusionError::Diagnostic(_, inner) => plain_message(inner),
        DataFusionError::Shared(inner) => plain_message(inner),
        DataFusionError::External(inner) => match inner.downcast_ref::<DataFusionError>() {
            Some(df) => plain_message(df),
            None => inner.to_string(),
        },
        other => other.message().to_string(),
    }
}

/// The ErrorResponse for an engine error: its SQLSTATE, the message without
/// DataFusion's prefixes, and its "Did you mean" suggestion as the hint.
pub fn error_info(e: &DataFusionError) -> ErrorInfo {
    let code = sqlstate(e);
    let message = plain_message(e);
    let (message, hint) = match message.split_once("\nDid you mean") {
        Some((m, rest)) => (m.trim().to_string(), Some(format!("Did you mean{rest}"))),
        None => (message.trim().to_string(), None),
    };
    let mut info = ErrorInfo::new("ERROR".to_string(), code.to_string(), message);
    info.hint = hint;
    info
}

/// The ErrorResponse for a statement the SQL parser rejected.
pub fn parser_error_info(e: &ParserError) -> ErrorInfo {
    let message = match e {
        ParserError::ParserError(m) | ParserError::TokenizerError(m) => m.clone(),
        other => other.to_string(),
    };
    ErrorInfo::new(
        "ERROR".to_string(),
        SYNTAX_ERROR.to_string(),
        format!("syntax error: {message}"),
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::common::Column;
    use datafusion::sql::sqlparser::parser::ParserError;

    use super::*;

    #[test]
    fn the_whole_table() {
        let io = || std::io::Error::other("disk");
        let cases: Vec<(DataFusionError, &str)> = vec![
            (
                DataFusionError::SQL(Box::new(ParserError::ParserError("x".into())), None),
                SYNTAX_ERROR,
            ),
            (
                DataFusionError::Plan("table 'laketap.amp.nope' not found".into()),
                UNDEFINED_TABLE,
            ),
            (
                DataFusionError::SchemaError(
                    Box::new(SchemaError::FieldNotFound {
                        field: Box::new(Column::from_name("nope")),
                        valid_fields: vec![],
                    }),
                    Box::new(None),
                ),
                UNDEFINED_COLUMN,
            ),
            (
                DataFusionError::SchemaError(
                    Box::new(SchemaError::AmbiguousReference {
                        field: Box::new(Column::from_name("id")),
                    }),
                    Box::new(None),
                ),
                AMBIGUOUS_COLUMN,
            ),
            (
                DataFusionError::Plan("Invalid function 'nope'.".into()),
                UNDEFINED_FUNCTION,
            ),
            (DataFusionError::Plan("something odd".into()), INVALID_QUERY),
            (
                DataFusionError::Execution("Prepared statement 'p' does not exist".into()),
                INVALID_SQL_STATEMENT_NAME,
            ),
            (
                DataFusionError::Execution("Prepared statement 'p' already exists".into()),
                DUPLICATE_PREPARED_STATEMENT,
            ),
            (
                DataFusionError::Execution("file 'x' does not exist".into()),
                DATA_EXCEPTION,
            ),
            (
                DataFusionError::ArrowError(Box::new(ArrowError::DivideByZero), None),
                DIVISION_BY_ZERO,
            ),
            (
                DataFusionError::ArrowError(
                    Box::new(ArrowError::ArithmeticOverflow("x".into())),
                    None,
                ),
                OUT_OF_RANGE,
            ),
            (
                DataFusionError::ArrowError(
                    Box::new(ArrowError::CastError(
                        "Cannot cast string 'a' to Int64".into(),
                    )),
                    None,
                ),
                INVALID_TEXT,
            ),
            (
                DataFusionError::Execution("Divide by zero error".into()),
                DIVISION_BY_ZERO,
            ),
            (DataFusionError::Execution("bad row".into()), DATA_EXCEPTION),
            (
                DataFusionError::Execution("Scalar subquery returned more than one row".into()),
                CARDINALITY_VIOLATION,
            ),
            (DataFusionError::NotImplemented("x".into()), NOT_SUPPORTED),
            (
                DataFusionError::Configuration("x".into()),
                INVALID_PARAMETER,
            ),
            (
                DataFusionError::ResourcesExhausted("x".into()),
                OUT_OF_MEMORY,
            ),
            (DataFusionError::IoError(io()), IO_ERROR),
            (DataFusionError::External(Box::new(io())), IO_ERROR),
            (
                DataFusionError::External(Box::new(DataFusionError::ResourcesExhausted(
                    "x".into(),
                ))),
                OUT_OF_MEMORY,
            ),
            (
                DataFusionError::Context(
                    "while planning".into(),
                    Box::new(DataFusionError::ArrowError(
                        Box::new(ArrowError::DivideByZero),
                        None,
                    )),
                ),
                DIVISION_BY_ZERO,
            ),
            (
                DataFusionError::Shared(Arc::new(DataFusionError::NotImplemented("x".into()))),
                NOT_SUPPORTED,
            ),
            (
                DataFusionError::Collection(vec![DataFusionError::Plan(
                    "table 'a' not found".into(),
                )]),
                UNDEFINED_TABLE,
            ),
            (DataFusionError::Internal("bug".into()), INTERNAL),
        ];
        for (error, code) in cases {
            assert_eq!(sqlstate(&error), code, "{error:?}");
        }
    }

    #[test]
    fn column_not_found_is_not_a_missing_table() {
        assert_eq!(
            sqlstate(&DataFusionError::Plan("column 'x' not found".into())),
            INVALID_QUERY
        );
    }

    #[test]
    fn error_info_carries_code_and_plain_message() {
        let info = error_info(&DataFusionError::Plan("table 'a.b' not found".into()));
        assert_eq!(info.code, UNDEFINED_TABLE);
        assert_eq!(info.severity, "ERROR");
        assert_eq!(info.message, "table 'a.b' not found");
        let info = error_info(&DataFusionError::Plan(
            "Invalid function 'nope'.\nDid you mean 'now'?".into(),
        ));
        assert_eq!(info.code, UNDEFINED_FUNCTION);
        assert_eq!(info.message, "Invalid function 'nope'.");
        assert_eq!(info.hint.as_deref(), Some("Did you mean 'now'?"));
        let info = parser_error_info(&ParserError::ParserError("Expected: x".into()));
        assert_eq!(info.code, SYNTAX_ERROR);
        assert_eq!(info.message, "syntax error: Expected: x");
    }
}
