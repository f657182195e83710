//! `regtype` and `regclass` results as PostgreSQL prints them: the type's,
//! the relation's name.
//!
//! datafusion-pg-catalog plans `x::regtype` as the int4 OID, so
//! `SELECT atttypid::regtype` showed `20` where PostgreSQL shows `bigint`,
//! described as oid; asyncpg, which reads a regtype column as text, got a
//! number. Here a `::regtype` cast that is an item of the outermost select
//! list ([`crate::compat`] writes it as `laketap_regtype(x)`) gives a column
//! described as `regtype` (OID 2206) holding both the OID and its name: the
//! vendored arrow-pg writes the name in text format and the OID (4 bytes,
//! `regtypesend`) in binary.
//!
//! The names are `regtypeout`'s (`format_type_be`): SQL's names for the types
//! that have one (`integer`, `double precision`, `timestamp with time zone`),
//! `name[]` for an array, the `pg_type` name otherwise, and the number for an
//! OID that is no type. They are read from `pg_catalog.pg_type` at startup (its
//! rows are built in). `'integer'::regtype` (a SQL name) is read as
//! PostgreSQL's `regtypein` reads it ([`typname_of`]).
//!
//! Elsewhere (a `WHERE`, a join, an argument) a regtype stays its OID, as
//! comparisons need.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Int32Array, RecordBatch, StringBuilder, StructArray,
};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields, Int32Type};
use datafusion::common::{ScalarValue, exec_err};
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};

/// The function a result's `x::regtype` is written as.
pub const FUNCTION: &str = "laketap_regtype";

/// The function a result's `x::regclass` is written as.
pub const REGCLASS_FUNCTION: &str = "laketap_regclass";

/// The function a result's `x::oid` is written as: the same number,
/// described as oid (datafusion-pg-catalog's cast gives a plain int4, and
/// asyncpg reads the column by its described type).
pub const OID_FUNCTION: &str = "laketap_oid";

/// SQL's names of the types `format_type` prints differently from their
/// `pg_type` name (PostgreSQL's `format_type_extended`).
const SQL_NAMES: &[(&str, &str)] = &[
    ("bit", "bit"),
    ("bool", "boolean"),
    ("bpchar", "character"),
    ("float4", "real"),
    ("float8", "double precision"),
    ("int2", "smallint"),
    ("int4", "integer"),
    ("int8", "bigint"),
    ("numeric", "numeric"),
    ("interval", "interval"),
    ("time", "time without time zone"),
    ("timetz", "time with time zone"),
    ("timestamp", "timestamp without time zone"),
    ("timestamptz", "timestamp with time zone"),
    ("varbit", "bit varying"),
    ("varchar", "character varying"),
];

/// Other spellings `regtypein` accepts for a type (the parser's aliases).
const ALIASES: &[(&str, &str)] = &[
    ("int", "int4"),
    ("float", "float8"),
    ("decimal", "numeric"),
    ("char", "bpchar"),
    ("dec", "numeric"),
];

/// The `pg_type` name of a type as `regtypein` reads its text: `integer` →
/// `int4`, `character varying` → `varchar`, `int4[]` → `_int4`, `"char"` →
/// `char`. None when the text is already a `pg_type` name (or unknown).
pub fn typname_of(text: &str) -> Option<String> {
    let text = text.trim();
    if let Some(element) = text.strip_suffix("[]") {
        let element = typname_of(element).unwrap_or_else(|| element.trim().to_lowercase());
        return Some(format!("_{element}"));
    }
    if let Some(quoted) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        return (quoted != text).then(|| quoted.to_string());
    }
    // A type modifier does not change the type: numeric(10,2) is numeric.
    let bare = match text.split_once('(') {
        Some((name, rest)) if rest.trim_end().ends_with(')') => name.trim_end(),
        _ => text,
    };
    // `schema.` before a built-in type's name.
    let bare = bare.strip_prefix("pg_catalog.").unwrap_or(bare);
    let lower = bare.to_lowercase();
    let words = lower.split_whitespace().collect::<Vec<_>>().join(" ");
    SQL_NAMES
        .iter()
        .find(|(_, sql)| *sql == words)
        .map(|(typname, _)| *typname)
        .or_else(|| {
            ALIASES
                .iter()
                .find(|(alias, _)| *alias == words)
                .map(|(_, typname)| *typname)
        })
        .map(str::to_string)
        .or(Some(words))
        .filter(|typname| typname != text)
}

/// `regtypeout`'s text of each type (OID → name), and each type's OID by
/// its `pg_type` name (`regtypein`).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct TypeNames {
    names: HashMap<i32, String>,
    oids: HashMap<String, i32>,
}

impl TypeNames {
    /// The names of the types in `batches` of (oid int4, typname text,
    /// typelem int4), as read from `pg_type`.
    pub fn from_pg_type(batches: &[RecordBatch]) -> DfResult<TypeNames> {
        let mut rows = HashMap::new();
        for batch in batches {
            let [oids, names, elements] = batch.columns() else {
                return exec_err!("pg_type: expected oid, typname and typelem");
            };
            let oids = datafusion::arrow::compute::cast(oids, &DataType::Int32)?;
            let elements = datafusion::arrow::compute::cast(elements, &DataType::Int32)?;
            let names = datafusion::arrow::compute::cast(names, &DataType::Utf8)?;
            let (oids, elements, names) = (
                oids.as_primitive::<Int32Type>(),
                elements.as_primitive::<Int32Type>(),
                names.as_string::<i32>(),
            );
            for i in 0..batch.num_rows() {
                if oids.is_null(i) || names.is_null(i) {
                    continue;
                }
                let element = if elements.is_null(i) {
                    0
                } else {
                    elements.value(i)
                };
                rows.insert(oids.value(i), (names.value(i).to_string(), element));
            }
        }
        let sql_name = |typname: &str| {
            SQL_NAMES
                .iter()
                .find(|(t, _)| *t == typname)
                .map_or_else(|| quote_identifier(typname), |(_, sql)| sql.to_string())
        };
        let oids = rows
            .iter()
            .map(|(oid, (typname, _))| (typname.clone(), *oid))
            .collect();
        let names = rows
            .iter()
            .map(|(oid, (typname, element))| {
                let name = match rows.get(element) {
                    // An array type (`_int4`): its element's name and [].
                    Some((element_name, _)) if typname.starts_with('_') => {
                        format!("{}[]", sql_name(element_name))
                    }
                    _ => sql_name(typname),
                };
                (*oid, name)
            })
            .collect();
        Ok(TypeNames { names, oids })
    }

    /// `regtypein(text)`: the OID of the type `text` names, or 42704.
    pub fn oid_of(&self, text: &str) -> DfResult<i32> {
        let typname = typname_of(text).unwrap_or_else(|| text.trim().to_string());
        match text.trim().parse::<u32>() {
            Ok(oid) => Ok(oid as i32),
            Err(_) => self.oids.get(&typname).copied().ok_or_else(|| {
                crate::sqlstate::coded(
                    crate::sqlstate::UNDEFINED_OBJECT,
                    format!("type \"{}\" does not exist", text.trim()),
                )
            }),
        }
    }

    /// `regtypeout(oid)`: the name, `-` for 0, or the number for an OID
    /// that is no type.
    pub fn name(&self, oid: i32) -> String {
        if oid == 0 {
            return "-".to_string();
        }
        self.names
            .get(&oid)
            .cloned()
            .unwrap_or_else(|| (oid as u32).to_string())
    }
}

/// An identifier as `quote_identifier` writes it: quoted unless it is
/// lower-case letters, digits and underscores not starting with a digit.
pub fn quote_identifier(name: &str) -> String {
    let plain = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && !name.is_empty()
        // Reserved words PostgreSQL quotes among the type names.
        && !matches!(name, "char");
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// What a reg* result names, and from what.
#[derive(Debug)]
enum RegKind {
    /// `laketap_regtype`: types, by `pg_type`.
    Type(Arc<TypeNames>),
    /// `laketap_regclass`: relations as pg_class has them (read at most a
    /// second before the statement: [`crate::tableoids::TableOids::refresh`]),
    /// for a user who sees only the relations of the schemas it may read (the
    /// others print as numbers, as the filtered pg_class does not list them).
    Class {
        relations: Arc<crate::tableoids::TableOids>,
        who: crate::access::Who,
    },
}

/// `laketap_regtype(x)` and `laketap_regclass(x)`: a regtype or regclass
/// result (see the module documentation). `x` is an OID, or a name (text)
/// read as `regtypein`/`regclassin` read it. regclass prints the relation's
/// name as `regclassout` does: schema-qualified unless visible on the
/// session's search_path. Both print `-` for 0 and the number for an OID
/// that names nothing (or a relation the user may not read).
#[derive(Debug)]
pub struct RegResult {
    signature: Signature,
    kind: RegKind,
}

impl PartialEq for RegResult {
    fn eq(&self, other: &Self) -> bool {
        match (&self.kind, &other.kind) {
            (RegKind::Type(a), RegKind::Type(b)) => Arc::ptr_eq(a, b),
            (RegKind::Class { relations: a, .. }, RegKind::Class { relations: b, .. }) => {
                Arc::ptr_eq(a, b)
            }
            _ => false,
        }
    }
}

impl Eq for RegResult {}

impl std::hash::Hash for RegResult {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name().hash(state);
    }
}

impl RegResult {
    fn new(kind: RegKind, volatility: Volatility) -> Self {
        RegResult {
            signature: Signature::one_of(
                vec![
                    TypeSignature::Exact(vec![DataType::Int32]),
                    TypeSignature::Exact(vec![DataType::Int64]),
                    TypeSignature::Exact(vec![DataType::Utf8]),
                ],
                volatility,
            ),
            kind,
        }
    }

    /// `laketap_regtype`, naming types as `names` has them.
    pub fn types(names: Arc<TypeNames>) -> Self {
        RegResult::new(RegKind::Type(names), Volatility::Immutable)
    }

    /// `laketap_regclass` for the session of `who`.
    pub fn relations(relations: Arc<crate::tableoids::TableOids>, who: crate::access::Who) -> Self {
        RegResult::new(RegKind::Class { relations, who }, Volatility::Stable)
    }
}

/// The struct a regtype result is held in: its OID and its name.
fn fields() -> Fields {
    Fields::from(vec![
        Field::new("oid", DataType::Int32, true),
        Field::new("name", DataType::Utf8, true),
    ])
}

/// The struct of OIDs and their names (`name(oid)`) for `args`' one
/// argument: OIDs, or names (text) that `oid_of` reads.
fn reg_values(
    args: ScalarFunctionArgs,
    function: &str,
    oid_of: impl Fn(&str) -> DfResult<i32>,
    name: impl Fn(i32) -> String,
) -> DfResult<ColumnarValue> {
    let scalar = matches!(args.args.first(), Some(ColumnarValue::Scalar(_)));
    let arrays = ColumnarValue::values_to_arrays(&args.args)?;
    let [values] = arrays.as_slice() else {
        return exec_err!("{function} takes one argument");
    };
    let oids = if values.data_type() == &DataType::Utf8 {
        let texts = values.as_string::<i32>();
        let oids: DfResult<Int32Array> = texts
            .iter()
            .map(|text| text.map(&oid_of).transpose())
            .collect();
        Arc::new(oids?) as ArrayRef
    } else {
        datafusion::arrow::compute::cast(values, &DataType::Int32)?
    };
    let oids = oids.as_primitive::<Int32Type>();
    let mut names = StringBuilder::with_capacity(oids.len(), oids.len() * 8);
    for oid in oids.iter() {
        match oid {
            Some(oid) => names.append_value(name(oid)),
            None => names.append_null(),
        }
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int32Array::from(oids.clone())),
        Arc::new(names.finish()),
    ];
    let result: ArrayRef = Arc::new(StructArray::try_new(
        fields(),
        columns,
        oids.nulls().cloned(),
    )?);
    Ok(if scalar {
        ColumnarValue::Scalar(ScalarValue::try_from_array(&result, 0)?)
    } else {
        ColumnarValue::Array(result)
    })
}

impl ScalarUDFImpl for RegResult {
    fn name(&self) -> &str {
        match self.kind {
            RegKind::Type(_) => FUNCTION,
            RegKind::Class { .. } => REGCLASS_FUNCTION,
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Struct(fields()))
    }

    fn return_field_from_args(&self, _args: ReturnFieldArgs) -> DfResult<FieldRef> {
        let kind = match self.kind {
            RegKind::Type(_) => "regtype",
            RegKind::Class { .. } => "regclass",
        };
        Ok(Arc::new(
            Field::new(self.name(), DataType::Struct(fields()), true).with_metadata(HashMap::from(
                [(
                    arrow_pg::datatypes::PG_OID_ALIAS_KEY.to_string(),
                    kind.to_string(),
                )],
            )),
        ))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let (relations, who) = match &self.kind {
            RegKind::Type(names) => {
                return reg_values(
                    args,
                    FUNCTION,
                    |text| names.oid_of(text),
                    |oid| names.name(oid),
                );
            }
            RegKind::Class { relations, who } => (relations, who),
        };
        let path = crate::searchpath::entries(&args.config_options);
        let access = who.access();
        let oid_of = |text: &str| {
            if let Ok(oid) = text.trim().parse::<u32>() {
                return Ok(oid as i32);
            }
            crate::colnames::qualified_name_parts(text)
                .and_then(|parts| {
                    relations.relation_oid(&parts, &path, |schema| access.can_read(schema))
                })
                .ok_or_else(|| {
                    crate::sqlstate::coded(
                        crate::sqlstate::UNDEFINED_TABLE,
                        format!("relation \"{}\" does not exist", text.trim()),
                    )
                })
        };
        reg_values(args, REGCLASS_FUNCTION, oid_of, |oid| {
            if oid == 0 {
                return "-".to_string();
            }
            relations
                .relation_name(oid, &path, |schema| access.can_read(schema))
                .unwrap_or_else(|| (oid as u32).to_string())
        })
    }
}

/// `laketap_oid(x)`: `x` as an int4 described as oid.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct OidResult {
    signature: Signature,
}

impl Default for OidResult {
    fn default() -> Self {
        OidResult {
            signature: Signature::one_of(
                vec![
                    TypeSignature::Exact(vec![DataType::Int32]),
                    TypeSignature::Exact(vec![DataType::Int64]),
                ],
                Volatility::Immutable,
            ),
        }
    }
}

impl ScalarUDFImpl for OidResult {
    fn name(&self) -> &str {
        OID_FUNCTION
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Int32)
    }

    fn return_field_from_args(&self, _args: ReturnFieldArgs) -> DfResult<FieldRef> {
        Ok(Arc::new(crate::roles::oid_field(OID_FUNCTION)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        match args.args.as_slice() {
            [ColumnarValue::Scalar(value)] => {
                Ok(ColumnarValue::Scalar(value.cast_to(&DataType::Int32)?))
            }
            [ColumnarValue::Array(array)] => Ok(ColumnarValue::Array(
                datafusion::arrow::compute::cast(array, &DataType::Int32)?,
            )),
            _ => exec_err!("{OID_FUNCTION} takes one argument"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_names_read_as_pg_type_names() {
        assert_eq!(typname_of("integer").as_deref(), Some("int4"));
        assert_eq!(typname_of("INT").as_deref(), Some("int4"));
        assert_eq!(
            typname_of("timestamp  with time zone").as_deref(),
            Some("timestamptz")
        );
        assert_eq!(typname_of("character varying").as_deref(), Some("varchar"));
        assert_eq!(typname_of("integer[]").as_deref(), Some("_int4"));
        assert_eq!(typname_of("text[]").as_deref(), Some("_text"));
        assert_eq!(typname_of("\"char\"").as_deref(), Some("char"));
        assert_eq!(typname_of("int4"), None);
        assert_eq!(typname_of("text"), None);
        // Unquoted names fold to lower case; modifiers and pg_catalog. go.
        assert_eq!(typname_of("TEXT").as_deref(), Some("text"));
        assert_eq!(typname_of("numeric(10,2)").as_deref(), Some("numeric"));
        assert_eq!(typname_of("varchar(20)").as_deref(), Some("varchar"));
        assert_eq!(typname_of("pg_catalog.int4").as_deref(), Some("int4"));
        assert_eq!(
            typname_of("character varying(20)").as_deref(),
            Some("varchar")
        );
    }

    #[tokio::test]
    async fn names_are_regtypeouts() {
        let ctx = datafusion::prelude::SessionContext::new();
        let batches = ctx
            .sql(
                "SELECT * FROM (VALUES (23, 'int4', 0), (1007, '_int4', 23), (1043, 'varchar', 0), \
                 (1015, '_varchar', 1043), (18, 'char', 0), (28, 'xid', 0), (22, 'int2vector', 21), \
                 (21, 'int2', 0))",
            )
            .await
            .expect("plan")
            .collect()
            .await
            .expect("rows");
        let names = TypeNames::from_pg_type(&batches).expect("names");
        let got: Vec<String> = [23, 1007, 1043, 1015, 18, 28, 22, 99999]
            .into_iter()
            .map(|oid| names.name(oid))
            .collect();
        assert_eq!(
            got,
            [
                "integer",
                "integer[]",
                "character varying",
                "character varying[]",
                "\"char\"",
                "xid",
                "int2vector",
                "99999"
            ]
        );
    }
}
