//! Schema drift: how a table's data differs from the columns recorded in its
//! declaration (`schema = [...]`, written by `laketap crawl`), and whether a
//! table's `on_schema_change` policy lets the difference through.

use std::fmt;
use std::str::FromStr;

use datafusion::arrow::datatypes::{DataType, Schema};

use crate::decl::{ColumnDecl, SchemaChangePolicy};

/// One difference between recorded and actual columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    /// A column the data has and the record does not.
    Added {
        /// Column name.
        column: String,
        /// Its type in the data.
        data_type: String,
    },
    /// A recorded column the data no longer has.
    Removed {
        /// Column name.
        column: String,
        /// Its recorded type.
        data_type: String,
    },
    /// A column whose type changed.
    Retyped {
        /// Column name.
        column: String,
        /// The recorded type.
        from: String,
        /// The type in the data.
        to: String,
    },
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Drift::Added { column, data_type } => {
                write!(f, "column `{column}` added ({data_type})")
            }
            Drift::Removed { column, data_type } => {
                write!(f, "column `{column}` removed (was {data_type})")
            }
            Drift::Retyped { column, from, to } => {
                write!(f, "column `{column}` retyped from {from} to {to}")
            }
        }
    }
}

/// Joins drifts into one line.
pub fn describe(drifts: &[Drift]) -> String {
    drifts
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// The columns of `schema` as a declaration records them.
pub fn record(schema: &Schema) -> Vec<ColumnDecl> {
    schema
        .fields()
        .iter()
        .map(|f| ColumnDecl {
            name: f.name().clone(),
            data_type: f.data_type().to_string(),
            nullable: f.is_nullable(),
        })
        .collect()
}

/// Parses the recorded columns' types; an unknown type names its column.
pub fn parse_recorded(columns: &[ColumnDecl]) -> Result<Vec<(String, DataType)>, String> {
    columns
        .iter()
        .map(|c| {
            DataType::from_str(&c.data_type)
                .map(|t| (c.name.clone(), t))
                .map_err(|e| {
                    format!(
                        "schema: column `{}` has type `{}`, which is not an Arrow type ({e})",
                        c.name, c.data_type
                    )
                })
        })
        .collect()
}

/// How `actual` differs from `recorded`, in the order of the recorded
/// columns, then the added ones.
pub fn compare(recorded: &[(String, DataType)], actual: &Schema) -> Vec<Drift> {
    let mut drifts = Vec::new();
    for (name, recorded_type) in recorded {
        match actual.field_with_name(name) {
            Err(_) => drifts.push(Drift::Removed {
                column: name.clone(),
                data_type: recorded_type.to_string(),
            }),
            Ok(field) if !same_type(field.data_type(), recorded_type) => {
                drifts.push(Drift::Retyped {
                    column: name.clone(),
                    from: recorded_type.to_string(),
                    to: field.data_type().to_string(),
                })
            }
            Ok(_) => {}
        }
    }
    for field in actual.fields() {
        if !recorded.iter().any(|(name, _)| name == field.name()) {
            drifts.push(Drift::Added {
                column: field.name().clone(),
                data_type: field.data_type().to_string(),
            });
        }
    }
    drifts
}

/// Types are the same when equal, ignoring the names and nullability of
/// nested fields (a list's item field is named differently by different writers).
fn same_type(a: &DataType, b: &DataType) -> bool {
    a.equals_datatype(b)
}

/// Whether `policy` lets these drifts through; the error says which did not.
pub fn allows(policy: SchemaChangePolicy, drifts: &[Drift]) -> Result<(), String> {
    let refused: Vec<&Drift> = match policy {
        SchemaChangePolicy::Update => Vec::new(),
        SchemaChangePolicy::AddColumnsOnly => drifts
            .iter()
            .filter(|d| !matches!(d, Drift::Added { .. }))
            .collect(),
        SchemaChangePolicy::Fail => drifts.iter().collect(),
    };
    if refused.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the data's schema drifted from the declared one: {}; on_schema_change = \"{}\" refuses this (run `laketap crawl --write` to record the new schema, or change the policy)",
            refused
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
            policy.as_str()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::{Field, TimeUnit};

    fn actual() -> Schema {
        Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new(
                "at",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
            Field::new("extra", DataType::Utf8, true),
        ])
    }

    #[test]
    fn recorded_types_round_trip_through_their_text() {
        let recorded = record(&actual());
        assert_eq!(recorded[1].data_type, "Timestamp(µs, \"UTC\")");
        assert!(!recorded[0].nullable);
        let parsed = parse_recorded(&recorded).expect("parses");
        assert!(compare(&parsed, &actual()).is_empty());
    }

    #[test]
    fn drifts_are_named_and_policies_apply() {
        let recorded = parse_recorded(&[
            ColumnDecl {
                name: "id".into(),
                data_type: "Int32".into(),
                nullable: false,
            },
            ColumnDecl {
                name: "at".into(),
                data_type: "Timestamp(µs, \"UTC\")".into(),
                nullable: true,
            },
            ColumnDecl {
                name: "gone".into(),
                data_type: "Utf8".into(),
                nullable: true,
            },
        ])
        .expect("parses");
        let drifts = compare(&recorded, &actual());
        assert_eq!(
            describe(&drifts),
            "column `id` retyped from Int32 to Int64; column `gone` removed (was Utf8); column `extra` added (Utf8)"
        );
        assert!(allows(SchemaChangePolicy::Update, &drifts).is_ok());
        let err = allows(SchemaChangePolicy::AddColumnsOnly, &drifts).expect_err("refused");
        assert!(
            err.contains("`id` retyped") && err.contains("`gone` removed"),
            "{err}"
        );
        assert!(!err.contains("`extra`"), "{err}");
        let added_only = [Drift::Added {
            column: "extra".into(),
            data_type: "Utf8".into(),
        }];
        assert!(allows(SchemaChangePolicy::AddColumnsOnly, &added_only).is_ok());
        assert!(allows(SchemaChangePolicy::Fail, &added_only).is_err());
    }

    #[test]
    fn an_unknown_type_names_its_column() {
        let err = parse_recorded(&[ColumnDecl {
            name: "x".into(),
            data_type: "Integer".into(),
            nullable: true,
        }])
        .expect_err("not arrow");
        assert!(err.contains("`x`") && err.contains("`Integer`"), "{err}");
    }
}
