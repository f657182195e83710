//! PostgreSQL's `json`, `jsonb` and `uuid`, which DataFusion has no types
//! for. A value of each is text (Arrow Utf8) whose field carries
//! [`KIND_KEY`] naming the PostgreSQL type; the pieces that make them
//! behave as in PostgreSQL:
//!
//! - [`PgTypePlanner`]: `::json`, `::jsonb`, `::uuid` (and `CAST(… AS …)`)
//!   plan as casts to such a field instead of "Unsupported SQL type".
//! - [`rewrite`] (in laketap's analyzer rule): each such cast becomes the
//!   input function of its type ([`PgInput`]), which checks the text as
//!   PostgreSQL does (22P02 otherwise) and gives jsonb and uuid their
//!   PostgreSQL output form. No cast carrying field metadata reaches the
//!   physical planner (datafusion#22079).
//! - [`retype`]: RowDescription says json (114), jsonb (3802) or uuid (2950)
//!   for such columns; [`crate::pgtext`] writes their binary form (jsonb's
//!   version byte, uuid's 16 bytes).
//! - [`bind_as_text`]: Bind parameters declared (or described) as one of
//!   them reach the decoder as text: pgwire cannot decode them.
//!
//! The key is Arrow's extension-name key, which a plain cast drops:
//! `jsonb_value::text` is text again.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use datafusion::arrow::array::{Array, AsArray, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::expr::{Cast, Placeholder, ScalarFunction};
use datafusion::logical_expr::planner::TypePlanner;
use datafusion::logical_expr::{
    ColumnarValue, Expr, LogicalPlan, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF,
    ScalarUDFImpl, Signature, Volatility,
};
use datafusion::sql::sqlparser::ast::DataType as SqlType;
use pgwire::api::Type;
use pgwire::api::results::FieldInfo;

/// The field metadata key naming the PostgreSQL type of a text value.
pub const KIND_KEY: &str = "ARROW:extension:name";

/// The PostgreSQL types carried as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PgKind {
    Json,
    Jsonb,
    Uuid,
    /// `name`: text that PostgreSQL's catalog functions return
    /// (`current_user`, `current_schema()`); only results carry it.
    Name,
    /// `oid[]`: a list of oids (`array_agg(atttypid)`); only results carry
    /// it.
    OidArray,
    /// `varchar`: a cast to varchar (`$1::varchar`, `CAST(x AS VARCHAR(20))`)
    /// is described as varchar (1043); its value is text (the analyzer
    /// drops the tag, [`rewrite`]).
    Varchar,
}

impl PgKind {
    fn tag(self) -> &'static str {
        match self {
            PgKind::Json => "laketap.json",
            PgKind::Jsonb => "laketap.jsonb",
            PgKind::Uuid => "laketap.uuid",
            PgKind::Name => "laketap.name",
            PgKind::OidArray => "laketap.oid_array",
            PgKind::Varchar => "laketap.varchar",
        }
    }

    fn name(self) -> &'static str {
        match self {
            PgKind::Json => "json",
            PgKind::Jsonb => "jsonb",
            PgKind::Uuid => "uuid",
            PgKind::Name => "name",
            PgKind::OidArray => "oid[]",
            PgKind::Varchar => "character varying",
        }
    }

    /// The kind `field` carries.
    pub fn of_field(field: &Field) -> Option<PgKind> {
        match field.metadata().get(KIND_KEY)?.as_str() {
            "laketap.json" => Some(PgKind::Json),
            "laketap.jsonb" => Some(PgKind::Jsonb),
            "laketap.uuid" => Some(PgKind::Uuid),
            "laketap.name" => Some(PgKind::Name),
            "laketap.oid_array" => Some(PgKind::OidArray),
            "laketap.varchar" => Some(PgKind::Varchar),
            _ => None,
        }
    }

    /// The kind of a PostgreSQL wire type.
    pub fn of_pg_type(ty: &Type) -> Option<PgKind> {
        match *ty {
            Type::JSON => Some(PgKind::Json),
            Type::JSONB => Some(PgKind::Jsonb),
            Type::UUID => Some(PgKind::Uuid),
            _ => None,
        }
    }

    fn of_sql(ty: &SqlType) -> Option<PgKind> {
        match ty {
            SqlType::JSON => Some(PgKind::Json),
            SqlType::JSONB => Some(PgKind::Jsonb),
            SqlType::Uuid => Some(PgKind::Uuid),
            SqlType::Varchar(_) | SqlType::CharacterVarying(_) => Some(PgKind::Varchar),
            SqlType::Custom(name, modifiers) if modifiers.is_empty() => {
                let last = name.0.last()?.as_ident()?.value.to_ascii_lowercase();
                let qualified = name.0.len() == 1
                    || (name.0.len() == 2
                        && name.0[0]
                            .as_ident()
                            .is_some_and(|s| s.value.eq_ignore_ascii_case("pg_catalog")));
                match last.as_str() {
                    "json" if qualified => Some(PgKind::Json),
                    "jsonb" if qualified => Some(PgKind::Jsonb),
                    "uuid" if qualified => Some(PgKind::Uuid),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// The wire type.
    pub fn pg_type(self) -> Type {
        match self {
            PgKind::Json => Type::JSON,
            PgKind::Jsonb => Type::JSONB,
            PgKind::Uuid => Type::UUID,
            PgKind::Name => Type::NAME,
            PgKind::OidArray => Type::OID_ARRAY,
            PgKind::Varchar => Type::VARCHAR,
        }
    }

    /// A nullable text field of this kind, named `name`.
    pub fn field(self, name: &str) -> FieldRef {
        Arc::new(
            Field::new(name, DataType::Utf8, true).with_metadata(HashMap::from([(
                KIND_KEY.to_string(),
                self.tag().to_string(),
            )])),
        )
    }

    /// `text` as PostgreSQL's input function of this type reads it, in the
    /// form its output function writes.
    pub fn input(self, text: &str) -> Result<String, String> {
        let invalid = || format!("invalid input syntax for type {}: \"{text}\"", self.name());
        match self {
            PgKind::Json => json::parse(text)
                .map(|_| text.to_string())
                .map_err(|e| format!("invalid input syntax for type json: {e} (in \"{text}\")")),
            PgKind::Jsonb => json::parse(text)
                .map_err(|e| format!("invalid input syntax for type jsonb: {e} (in \"{text}\")"))?
                .to_jsonb(),
            PgKind::Uuid => uuid_text(text).ok_or_else(invalid),
            PgKind::Name | PgKind::OidArray | PgKind::Varchar => Ok(text.to_string()),
        }
    }
}

/// The 16 bytes of a uuid in its text form.
pub fn uuid_bytes(text: &str) -> Option<[u8; 16]> {
    let hex: Vec<u8> = text.bytes().filter(|b| *b != b'-').collect();
    if hex.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, pair) in hex.chunks(2).enumerate() {
        let pair = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(out)
}

/// A uuid as PostgreSQL's uuid_in reads it (32 hex digits, upper or lower
/// case, optionally in braces, a hyphen allowed after any group of four),
/// written as uuid_out does (lower case, 8-4-4-4-12).
fn uuid_text(text: &str) -> Option<String> {
    let inner = match text.strip_prefix('{') {
        Some(rest) => rest.strip_suffix('}')?,
        None => text,
    };
    let mut digits = String::with_capacity(32);
    let mut previous_hyphen = true;
    for c in inner.chars() {
        if c == '-' {
            if previous_hyphen || !digits.len().is_multiple_of(4) {
                return None;
            }
            previous_hyphen = true;
        } else if c.is_ascii_hexdigit() {
            digits.push(c.to_ascii_lowercase());
            previous_hyphen = false;
        } else {
            return None;
        }
    }
    if digits.len() != 32 || previous_hyphen {
        return None;
    }
    Some(format!(
        "{}-{}-{}-{}-{}",
        &digits[..8],
        &digits[8..12],
        &digits[12..16],
        &digits[16..20],
        &digits[20..]
    ))
}

/// json text, parsed keeping number lexemes (jsonb prints numbers as
/// PostgreSQL's numeric does, not as binary floats).
mod json {
    pub enum Value {
        Null,
        Bool(bool),
        Number(String),
        String(String),
        Array(Vec<Value>),
        Object(Vec<(String, Value)>),
    }

    pub fn parse(text: &str) -> Result<Value, String> {
        let mut parser = Parser {
            bytes: text.as_bytes(),
            at: 0,
            depth: 0,
        };
        let value = parser.value()?;
        parser.space();
        if parser.at != parser.bytes.len() {
            return Err(format!("unexpected data at character {}", parser.at + 1));
        }
        Ok(value)
    }

    struct Parser<'a> {
        bytes: &'a [u8],
        at: usize,
        depth: usize,
    }

    impl Parser<'_> {
        fn space(&mut self) {
            while self
                .bytes
                .get(self.at)
                .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
            {
                self.at += 1;
            }
        }

        fn error<T>(&self, what: &str) -> Result<T, String> {
            Err(format!("{what} at character {}", self.at + 1))
        }

        fn literal(&mut self, word: &str, value: Value) -> Result<Value, String> {
            if self.bytes[self.at..].starts_with(word.as_bytes()) {
                self.at += word.len();
                Ok(value)
            } else {
                self.error("invalid token")
            }
        }

        fn value(&mut self) -> Result<Value, String> {
            self.space();
            match self.bytes.get(self.at) {
                None => self.error("the input ends"),
                Some(b'{') => self.object(),
                Some(b'[') => self.array(),
                Some(b'"') => self.string().map(Value::String),
                Some(b't') => self.literal("true", Value::Bool(true)),
                Some(b'f') => self.literal("false", Value::Bool(false)),
                Some(b'n') => self.literal("null", Value::Null),
                Some(b'-' | b'0'..=b'9') => self.number(),
                Some(_) => self.error("invalid token"),
            }
        }

        fn nested(&mut self) -> Result<(), String> {
            self.depth += 1;
            if self.depth > 1000 {
                return self.error("nesting too deep");
            }
            self.at += 1;
            self.space();
            Ok(())
        }

        fn object(&mut self) -> Result<Value, String> {
            self.nested()?;
            let mut members = Vec::new();
            if self.bytes.get(self.at) == Some(&b'}') {
                self.at += 1;
                self.depth -= 1;
                return Ok(Value::Object(members));
            }
            loop {
                self.space();
                if self.bytes.get(self.at) != Some(&b'"') {
                    return self.error("expected a string key");
                }
                let key = self.string()?;
                self.space();
                if self.bytes.get(self.at) != Some(&b':') {
                    return self.error("expected \":\"");
                }
                self.at += 1;
                let value = self.value()?;
                members.push((key, value));
                self.space();
                match self.bytes.get(self.at) {
                    Some(b',') => self.at += 1,
                    Some(b'}') => {
                        self.at += 1;
                        self.depth -= 1;
                        return Ok(Value::Object(members));
                    }
                    _ => return self.error("expected \",\" or \"}\""),
                }
            }
        }

        fn array(&mut self) -> Result<Value, String> {
            self.nested()?;
            let mut items = Vec::new();
            if self.bytes.get(self.at) == Some(&b']') {
                self.at += 1;
                self.depth -= 1;
                return Ok(Value::Array(items));
            }
            loop {
                items.push(self.value()?);
                self.space();
                match self.bytes.get(self.at) {
                    Some(b',') => self.at += 1,
                    Some(b']') => {
                        self.at += 1;
                        self.depth -= 1;
                        return Ok(Value::Array(items));
                    }
                    _ => return self.error("expected \",\" or \"]\""),
                }
            }
        }

        fn hex4(&mut self) -> Result<u32, String> {
            let digits = self
                .bytes
                .get(self.at..self.at + 4)
                .and_then(|d| std::str::from_utf8(d).ok())
                .and_then(|d| u32::from_str_radix(d, 16).ok());
            match digits {
                Some(v) => {
                    self.at += 4;
                    Ok(v)
                }
                None => self.error("invalid \\u escape"),
            }
        }

        fn string(&mut self) -> Result<String, String> {
            self.at += 1;
            let mut out = Vec::new();
            loop {
                let Some(&b) = self.bytes.get(self.at) else {
                    return self.error("unterminated string");
                };
                self.at += 1;
                match b {
                    b'"' => break,
                    b'\\' => {
                        let Some(&e) = self.bytes.get(self.at) else {
                            return self.error("unterminated string");
                        };
                        self.at += 1;
                        let c = match e {
                            b'"' => '"',
                            b'\\' => '\\',
                            b'/' => '/',
                            b'b' => '\u{8}',
                            b'f' => '\u{c}',
                            b'n' => '\n',
                            b'r' => '\r',
                            b't' => '\t',
                            b'u' => {
                                let first = self.hex4()?;
                                let code = if (0xD800..0xDC00).contains(&first) {
                                    if !self.bytes[self.at..].starts_with(b"\\u") {
                                        return self.error("unpaired surrogate");
                                    }
                                    self.at += 2;
                                    let second = self.hex4()?;
                                    if !(0xDC00..0xE000).contains(&second) {
                                        return self.error("unpaired surrogate");
                                    }
                                    0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                                } else {
                                    first
                                };
                                match char::from_u32(code) {
                                    Some('\0') => {
                                        return self.error("\\u0000 cannot be converted to text");
                                    }
                                    Some(c) => c,
                                    None => return self.error("invalid \\u escape"),
                                }
                            }
                            _ => return self.error("invalid escape"),
                        };
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                    }
                    0..=0x1f => return self.error("control character in a string"),
                    _ => out.push(b),
                }
            }
            String::from_utf8(out).or_else(|_| self.error("invalid UTF-8"))
        }

        fn number(&mut self) -> Result<Value, String> {
            let start = self.at;
            let digits = |p: &mut Self| {
                let from = p.at;
                while p.bytes.get(p.at).is_some_and(u8::is_ascii_digit) {
                    p.at += 1;
                }
                p.at - from
            };
            if self.bytes.get(self.at) == Some(&b'-') {
                self.at += 1;
            }
            let leading_zero = self.bytes.get(self.at) == Some(&b'0');
            let int = digits(self);
            if int == 0 || (leading_zero && int > 1) {
                return self.error("invalid number");
            }
            if self.bytes.get(self.at) == Some(&b'.') {
                self.at += 1;
                if digits(self) == 0 {
                    return self.error("invalid number");
                }
            }
            if matches!(self.bytes.get(self.at), Some(b'e' | b'E')) {
                self.at += 1;
                if matches!(self.bytes.get(self.at), Some(b'+' | b'-')) {
                    self.at += 1;
                }
                if digits(self) == 0 {
                    return self.error("invalid number");
                }
            }
            let lexeme = String::from_utf8_lossy(&self.bytes[start..self.at]).into_owned();
            Ok(Value::Number(lexeme))
        }
    }

    impl Value {
        /// jsonb's text: object keys by length, then bytes (the last of
        /// duplicate keys kept), `": "` and `", "` separators, numbers as
        /// numeric prints them.
        pub fn to_jsonb(&self) -> Result<String, String> {
            let mut out = String::new();
            self.write(&mut out)?;
            Ok(out)
        }

        fn write(&self, out: &mut String) -> Result<(), String> {
            match self {
                Value::Null => out.push_str("null"),
                Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
                Value::Number(n) => out.push_str(&numeric(n)?),
                Value::String(s) => quote(s, out),
                Value::Array(items) => {
                    out.push('[');
                    for (i, item) in items.iter().enumerate() {
                        if i > 0 {
                            out.push_str(", ");
                        }
                        item.write(out)?;
                    }
                    out.push(']');
                }
                Value::Object(members) => {
                    let mut sorted: Vec<&(String, Value)> = Vec::with_capacity(members.len());
                    for member in members.iter().rev() {
                        if !sorted.iter().any(|m| m.0 == member.0) {
                            sorted.push(member);
                        }
                    }
                    sorted.sort_by(|a, b| {
                        (a.0.len(), a.0.as_bytes()).cmp(&(b.0.len(), b.0.as_bytes()))
                    });
                    out.push('{');
                    for (i, (key, value)) in sorted.into_iter().enumerate() {
                        if i > 0 {
                            out.push_str(", ");
                        }
                        quote(key, out);
                        out.push_str(": ");
                        value.write(out)?;
                    }
                    out.push('}');
                }
            }
            Ok(())
        }
    }

    /// A JSON number as PostgreSQL's numeric prints it: positional, with
    /// the scale the lexeme implies (`1.50e1` → `15.0`, `1e2` → `100`).
    fn numeric(lexeme: &str) -> Result<String, String> {
        let (negative, rest) = match lexeme.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, lexeme),
        };
        let (mantissa, exponent) = match rest.find(['e', 'E']) {
            Some(i) => (&rest[..i], rest[i + 1..].parse::<i64>().unwrap_or(0)),
            None => (rest, 0),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let digits: String = format!("{int}{frac}");
        let point = (int.len() as i64).saturating_add(exponent);
        // numeric's limits: 131072 digits before the point, 16383 after.
        let scale = (digits.len() as i64).saturating_sub(point);
        if point > 131_072 || scale > 16_383 {
            return Err(format!("value overflows numeric format: {lexeme}"));
        }
        let len = digits.len() as i64;
        let (whole, fraction) = if point <= 0 {
            (
                "0".to_string(),
                format!(
                    "{}{digits}",
                    "0".repeat(usize::try_from(-point).unwrap_or(0))
                ),
            )
        } else if point >= len {
            (
                format!(
                    "{digits}{}",
                    "0".repeat(usize::try_from(point - len).unwrap_or(0))
                ),
                String::new(),
            )
        } else {
            let p = usize::try_from(point).unwrap_or(0);
            (digits[..p].to_string(), digits[p..].to_string())
        };
        let whole = whole.trim_start_matches('0');
        let whole = if whole.is_empty() { "0" } else { whole };
        let zero = whole == "0" && fraction.bytes().all(|b| b == b'0');
        let mut out = String::new();
        if negative && !zero {
            out.push('-');
        }
        out.push_str(whole);
        if !fraction.is_empty() {
            out.push('.');
            out.push_str(&fraction);
        }
        Ok(out)
    }

    /// `s` as a JSON string the way PostgreSQL's escape_json writes it.
    fn quote(s: &str, out: &mut String) {
        out.push('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
    }
}

/// [`PgKind`]'s SQL type names for DataFusion's SQL planner, in front of
/// the planner that was installed (datafusion-pg-catalog's oid types).
#[derive(Debug)]
pub struct PgTypePlanner {
    inner: Option<Arc<dyn TypePlanner>>,
}

impl PgTypePlanner {
    /// Installs the planner in `ctx`'s session, in front of its current one.
    pub fn install(ctx: &datafusion::prelude::SessionContext) {
        use datafusion::execution::session_state::SessionStateBuilder;
        let state = ctx.state_ref();
        let existing = state.read().clone();
        let mut builder = SessionStateBuilder::new_from_existing(existing);
        let inner = builder.type_planner().clone();
        let planner = Arc::new(PgTypePlanner { inner });
        *state.write() = builder.with_type_planner(planner).build();
    }
}

impl TypePlanner for PgTypePlanner {
    fn plan_type_field(&self, sql_type: &SqlType) -> DfResult<Option<FieldRef>> {
        if let Some(kind) = PgKind::of_sql(sql_type) {
            let field = kind.field("");
            if let SqlType::Varchar(Some(length)) | SqlType::CharacterVarying(Some(length)) =
                sql_type
                && let datafusion::sql::sqlparser::ast::CharacterLength::IntegerLength {
                    length,
                    ..
                } = length
            {
                let mut metadata = field.metadata().clone();
                metadata.insert(VARCHAR_LENGTH_KEY.to_string(), length.to_string());
                return Ok(Some(Arc::new(
                    field.as_ref().clone().with_metadata(metadata),
                )));
            }
            return Ok(Some(field));
        }
        match &self.inner {
            Some(inner) => inner.plan_type_field(sql_type),
            None => Ok(None),
        }
    }
}

/// Where a cast to `varchar(n)` keeps its length.
const VARCHAR_LENGTH_KEY: &str = "laketap.varchar_length";

/// A cast to varchar: the plain cast to text inside it (for the analyzer
/// rule's rewrites of casts to text: `d::varchar` is written as `d::text`
/// is) and the length of `varchar(n)`. [`varchar`] wraps the result.
pub fn varchar_cast(expr: &Expr) -> Option<(Expr, Option<usize>)> {
    let Expr::Cast(Cast { expr: inner, field }) = expr else {
        return None;
    };
    (PgKind::of_field(field) == Some(PgKind::Varchar)).then(|| {
        let length = field
            .metadata()
            .get(VARCHAR_LENGTH_KEY)
            .and_then(|n| n.parse().ok());
        (
            datafusion::logical_expr::cast(inner.as_ref().clone(), DataType::Utf8),
            length,
        )
    })
}

/// `text` as a varchar value: tagged (so the tag lasts through the plan,
/// as a UNION's schema keeps it) and cut to `length` characters, as
/// PostgreSQL's explicit cast to `varchar(n)` cuts it.
pub fn varchar(text: Expr, length: Option<usize>) -> Expr {
    let mut input = PgInput::new(PgKind::Varchar);
    input.length = length;
    Expr::ScalarFunction(ScalarFunction::new_udf(
        Arc::new(ScalarUDF::new_from_impl(input)),
        vec![text],
    ))
}

/// A cast to json, jsonb or uuid → that type's input function.
pub fn rewrite(expr: Expr) -> DfResult<Transformed<Expr>> {
    let Expr::Cast(Cast { expr: inner, field }) = &expr else {
        return Ok(Transformed::no(expr));
    };
    let Some(kind) = PgKind::of_field(field) else {
        return Ok(Transformed::no(expr));
    };
    if kind == PgKind::Varchar {
        // [`varchar_cast`]'s, in the analyzer rule.
        return Ok(Transformed::no(expr));
    }
    Ok(Transformed::yes(Expr::ScalarFunction(
        ScalarFunction::new_udf(
            Arc::new(ScalarUDF::new_from_impl(PgInput::new(kind))),
            vec![inner.as_ref().clone()],
        ),
    )))
}

/// A string literal compared with a json, jsonb or uuid value is read as
/// one, as PostgreSQL reads an untyped literal as the other side's type:
/// `u = 'A0EE…'` matches the lower-case uuid, `j = '{"b":1,"a":2}'` the
/// normalized jsonb (text comparisons missed both).
pub fn compared_literal<'a>(
    expr: Expr,
    schema: &dyn Fn() -> &'a datafusion::common::DFSchema,
) -> DfResult<Transformed<Expr>> {
    use datafusion::logical_expr::ExprSchemable;
    use datafusion::logical_expr::expr::{BinaryExpr, InList};
    let kind_of = |e: &Expr| {
        e.to_field(schema())
            .ok()
            .and_then(|(_, field)| PgKind::of_field(&field))
            .filter(|kind| *kind != PgKind::Varchar)
    };
    let literal = |e: &Expr| {
        matches!(
            e,
            Expr::Literal(
                datafusion::scalar::ScalarValue::Utf8(Some(_))
                    | datafusion::scalar::ScalarValue::Utf8View(Some(_))
                    | datafusion::scalar::ScalarValue::LargeUtf8(Some(_)),
                _
            )
        )
    };
    let input = |kind: PgKind, e: Expr| {
        Expr::ScalarFunction(ScalarFunction::new_udf(
            Arc::new(ScalarUDF::new_from_impl(PgInput::new(kind))),
            vec![e],
        ))
    };
    match expr {
        Expr::BinaryExpr(BinaryExpr { left, op, right })
            if laketap_engine::analysis::is_comparison(op) =>
        {
            if literal(&right)
                && let Some(kind) = kind_of(&left)
            {
                let right = Box::new(input(kind, *right));
                return Ok(Transformed::yes(Expr::BinaryExpr(BinaryExpr {
                    left,
                    op,
                    right,
                })));
            }
            if literal(&left)
                && let Some(kind) = kind_of(&right)
            {
                let left = Box::new(input(kind, *left));
                return Ok(Transformed::yes(Expr::BinaryExpr(BinaryExpr {
                    left,
                    op,
                    right,
                })));
            }
            Ok(Transformed::no(Expr::BinaryExpr(BinaryExpr {
                left,
                op,
                right,
            })))
        }
        Expr::InList(InList {
            expr: value,
            list,
            negated,
        }) => match list.iter().any(literal).then(|| kind_of(&value)).flatten() {
            Some(kind) => {
                let list = list
                    .into_iter()
                    .map(|e| if literal(&e) { input(kind, e) } else { e })
                    .collect();
                Ok(Transformed::yes(Expr::InList(InList {
                    expr: value,
                    list,
                    negated,
                })))
            }
            _ => Ok(Transformed::no(Expr::InList(InList {
                expr: value,
                list,
                negated,
            }))),
        },
        other => Ok(Transformed::no(other)),
    }
}

/// PostgreSQL's name of the type of values of `data_type` (`kind` when the
/// field carries one), as `pg_typeof` and `format_type` print it.
pub fn type_name(data_type: &DataType, kind: Option<PgKind>) -> String {
    if let Some(kind) = kind {
        return kind.name().to_string();
    }
    match data_type {
        DataType::Null => "unknown".to_string(),
        DataType::Boolean => "boolean".to_string(),
        DataType::Int8 | DataType::Int16 | DataType::UInt8 => "smallint".to_string(),
        DataType::Int32 | DataType::UInt16 => "integer".to_string(),
        DataType::Int64 | DataType::UInt32 => "bigint".to_string(),
        DataType::UInt64 => "numeric".to_string(),
        DataType::Float16 | DataType::Float32 => "real".to_string(),
        DataType::Float64 => "double precision".to_string(),
        DataType::Decimal128(..) | DataType::Decimal256(..) => "numeric".to_string(),
        DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 => "text".to_string(),
        DataType::Date32 | DataType::Date64 => "date".to_string(),
        DataType::Time32(_) | DataType::Time64(_) => "time without time zone".to_string(),
        DataType::Timestamp(_, None) => "timestamp without time zone".to_string(),
        DataType::Timestamp(_, Some(_)) => "timestamp with time zone".to_string(),
        DataType::Interval(_) | DataType::Duration(_) => "interval".to_string(),
        DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_) => "bytea".to_string(),
        DataType::List(item)
        | DataType::LargeList(item)
        | DataType::FixedSizeList(item, _)
        | DataType::ListView(item) => {
            format!("{}[]", type_name(item.data_type(), PgKind::of_field(item)))
        }
        DataType::Struct(_) => "record".to_string(),
        other => other.to_string(),
    }
}

/// `pg_typeof(any)`: the name of its argument's type (PostgreSQL's
/// regtype, printed: `bigint`, `text[]`, `jsonb`).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PgTypeOf {
    signature: Signature,
}

impl Default for PgTypeOf {
    fn default() -> Self {
        PgTypeOf {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for PgTypeOf {
    fn name(&self) -> &str {
        "pg_typeof"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Utf8)
    }

    fn return_field_from_args(&self, _args: ReturnFieldArgs) -> DfResult<FieldRef> {
        Ok(Arc::new(Field::new(self.name(), DataType::Utf8, false)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let Some(field) = args.arg_fields.first() else {
            return Err(DataFusionError::Plan("pg_typeof takes one argument".into()));
        };
        Ok(ColumnarValue::Scalar(
            datafusion::scalar::ScalarValue::Utf8(Some(type_name(
                field.data_type(),
                PgKind::of_field(field),
            ))),
        ))
    }
}

/// A function whose result PostgreSQL types `name` (`current_schema()`,
/// `current_database()`, `session_user`, `pg_encoding_to_char`): the same
/// function, its result field tagged [`PgKind::Name`], so RowDescription
/// says `name` (19) as clients that check the type expect. The text is the
/// same in both types, in text and in binary.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct NameResult {
    inner: Arc<ScalarUDF>,
}

impl NameResult {
    pub fn new(inner: Arc<ScalarUDF>) -> Self {
        NameResult { inner }
    }
}

impl ScalarUDFImpl for NameResult {
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
        let field = self.inner.return_field_from_args(args)?;
        if field.data_type() != &DataType::Utf8 {
            return Ok(field);
        }
        let mut metadata = field.metadata().clone();
        metadata.insert(KIND_KEY.to_string(), PgKind::Name.tag().to_string());
        Ok(Arc::new(field.as_ref().clone().with_metadata(metadata)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        self.inner.invoke_with_args(args)
    }
}

/// `laketap_oid_array(list)`: its argument, a list of oids, described as
/// `oid[]` (1028) rather than `int4[]`. asyncpg has built-in codecs for
/// `oid[]` and `text[]` only, and its type introspection query aggregates
/// `atttypid` (compat.rs wraps such an `array_agg`).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct OidArray {
    signature: Signature,
}

impl Default for OidArray {
    fn default() -> Self {
        OidArray {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for OidArray {
    fn name(&self) -> &str {
        "laketap_oid_array"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(arg_types.first().cloned().unwrap_or(DataType::Null))
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> DfResult<FieldRef> {
        let Some(arg) = args.arg_fields.first() else {
            return Err(DataFusionError::Plan(
                "laketap_oid_array takes one argument".into(),
            ));
        };
        Ok(Arc::new(
            Field::new(self.name(), arg.data_type().clone(), true).with_metadata(HashMap::from([
                (KIND_KEY.to_string(), PgKind::OidArray.tag().to_string()),
            ])),
        ))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        args.args
            .into_iter()
            .next()
            .ok_or_else(|| DataFusionError::Plan("laketap_oid_array takes one argument".into()))
    }
}

/// The PostgreSQL types of parameters `statement` casts to `oid` or
/// `oid[]` (`$1::oid[]`, asyncpg's introspection): index n-1 for `$n`.
/// DataFusion plans them as int4 and int4[].
pub fn oid_parameters(
    statement: &datafusion::sql::sqlparser::ast::Statement,
) -> HashMap<usize, Type> {
    use datafusion::sql::sqlparser::ast::{
        ArrayElemTypeDef, Expr as SqlExpr, Value, ValueWithSpan, visit_expressions,
    };
    let is_oid = |t: &SqlType| match t {
        SqlType::Custom(name, modifiers) if modifiers.is_empty() => name
            .0
            .last()
            .and_then(|part| part.as_ident())
            .is_some_and(|ident| ident.value.eq_ignore_ascii_case("oid")),
        _ => false,
    };
    let mut types = HashMap::new();
    let _ = visit_expressions(statement, |expr| {
        if let SqlExpr::Cast {
            expr: inner,
            data_type,
            ..
        } = expr
            && let SqlExpr::Value(ValueWithSpan {
                value: Value::Placeholder(id),
                ..
            }) = inner.as_ref()
            && let Some(i) = crate::params::parameter_index(id)
        {
            let ty = match data_type {
                SqlType::Array(
                    ArrayElemTypeDef::SquareBracket(item, _)
                    | ArrayElemTypeDef::AngleBracket(item)
                    | ArrayElemTypeDef::Parenthesis(item),
                ) if is_oid(item) => Some(Type::OID_ARRAY),
                t if is_oid(t) => Some(Type::OID),
                _ => None,
            };
            if let Some(ty) = ty {
                types.entry(i).or_insert(ty);
            }
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    types
}

/// datafusion-pg-catalog's `format_type(oid, typmod)`, with numeric's
/// typmod printed as PostgreSQL does: `numeric(12,0)`, not `numeric(12)`.
/// The types datafusion-pg-catalog's table does not name (`oid(869)` for
/// inet) are named as `regtype` names them ([`crate::regtype::TypeNames`]).
#[derive(Debug)]
pub struct FormatType {
    inner: Arc<ScalarUDF>,
    names: Arc<crate::regtype::TypeNames>,
}

impl PartialEq for FormatType {
    fn eq(&self, other: &Self) -> bool {
        self.inner == other.inner && Arc::ptr_eq(&self.names, &other.names)
    }
}

impl Eq for FormatType {}

impl std::hash::Hash for FormatType {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.inner.hash(state);
    }
}

impl FormatType {
    /// Wraps `inner`, the installed `format_type`; `names` name the rest.
    pub fn new(inner: Arc<ScalarUDF>, names: Arc<crate::regtype::TypeNames>) -> Self {
        FormatType { inner, names }
    }
}

impl ScalarUDFImpl for FormatType {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> DfResult<DataType> {
        self.inner.return_type(arg_types)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let n = args.number_rows;
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let formatted = self.inner.invoke_with_args(args)?.to_array(n)?;
        let formatted = datafusion::arrow::compute::cast(&formatted, &DataType::Utf8)?;
        let oids = datafusion::arrow::compute::cast(&arrays[0], &DataType::Int64)?;
        let oids = oids.as_primitive::<datafusion::arrow::datatypes::Int64Type>();
        let names = formatted.as_string::<i32>();
        let fixed: StringArray = (0..n)
            .map(|row| {
                if names.is_null(row) {
                    return None;
                }
                let name = names.value(row);
                // PostgreSQL's format_type(0, …) is '-'.
                if !oids.is_null(row) && oids.value(row) == 0 {
                    return Some("-".to_string());
                }
                // A type the inner table does not know.
                if name.starts_with("oid(")
                    && !oids.is_null(row)
                    && let Ok(oid) = i32::try_from(oids.value(row))
                {
                    return Some(self.names.name(oid));
                }
                // numeric (1700) and numeric[] (1231) with a precision only.
                let numeric = !oids.is_null(row) && matches!(oids.value(row), 1700 | 1231);
                match name.strip_prefix("numeric(") {
                    Some(rest) if numeric && !rest.contains(',') => {
                        Some(name.replacen(')', ",0)", 1))
                    }
                    _ => Some(name.to_string()),
                }
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(fixed)))
    }
}

/// `json_in`, `jsonb_in`, `uuid_in`: text to a value of the kind.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PgInput {
    kind: PgKind,
    signature: Signature,
    /// varchar(n): at most n characters.
    length: Option<usize>,
}

impl PgInput {
    fn new(kind: PgKind) -> Self {
        PgInput {
            kind,
            signature: Signature::any(1, Volatility::Immutable),
            length: None,
        }
    }
}

impl ScalarUDFImpl for PgInput {
    fn name(&self) -> &str {
        match self.kind {
            PgKind::Json => "json_in",
            PgKind::Jsonb => "jsonb_in",
            PgKind::Uuid => "uuid_in",
            PgKind::Name => "namein",
            PgKind::OidArray => "array_in",
            PgKind::Varchar => "varcharin",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Utf8)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> DfResult<FieldRef> {
        let nullable = args.arg_fields.first().is_none_or(|f| f.is_nullable());
        let field = self.kind.field(self.name());
        Ok(Arc::new(field.as_ref().clone().with_nullable(nullable)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let n = args.number_rows;
        let Some(arg) = args.args.first() else {
            return Err(DataFusionError::Plan(format!(
                "{} takes one argument",
                self.name()
            )));
        };
        let source = arg.to_array(n)?;
        if !matches!(
            source.data_type(),
            DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 | DataType::Null
        ) {
            let from = type_name(source.data_type(), None);
            return Err(DataFusionError::Plan(format!(
                "cannot cast type {from} to {}",
                self.kind.name()
            )));
        }
        let text = datafusion::arrow::compute::cast(&source, &DataType::Utf8)?;
        // varchar without a length is its text as it is: no copy.
        if self.kind == PgKind::Varchar && self.length.is_none() {
            return Ok(ColumnarValue::Array(text));
        }
        let text = text.as_string::<i32>();
        let mut out = Vec::with_capacity(n);
        for row in 0..text.len() {
            if text.is_null(row) {
                out.push(None);
            } else {
                let value = self
                    .kind
                    .input(text.value(row))
                    .map_err(DataFusionError::Execution)?;
                out.push(Some(match self.length {
                    Some(n) => value.chars().take(n).collect(),
                    None => value,
                }));
            }
        }
        Ok(ColumnarValue::Array(Arc::new(StringArray::from(out))))
    }
}

/// The kind of each column of `schema` (`None` for other columns).
pub fn kinds(schema: &datafusion::arrow::datatypes::Schema) -> Vec<Option<PgKind>> {
    schema
        .fields()
        .iter()
        .map(|f| PgKind::of_field(f))
        .collect()
}

/// `fields` with the json, jsonb and uuid columns of `schema` described as
/// such; `None` when none is (or the column counts differ).
pub fn retyped(
    schema: &datafusion::arrow::datatypes::Schema,
    fields: &[FieldInfo],
) -> Option<Vec<FieldInfo>> {
    let kinds = kinds(schema);
    if kinds.len() != fields.len() || kinds.iter().all(Option::is_none) {
        return None;
    }
    let fields = fields
        .iter()
        .cloned()
        .zip(kinds)
        .map(|(field, kind)| match kind {
            Some(kind) => {
                let size = if kind == PgKind::Uuid { 16 } else { -1 };
                with_type(&field, kind.pg_type(), size, field.type_modifier())
            }
            None => field,
        })
        .collect();
    Some(fields)
}

/// `field` described as of type `ty` (its size and modifier as given), its
/// name, table, column and format kept.
pub fn with_type(field: &FieldInfo, ty: Type, size: i16, typmod: i32) -> FieldInfo {
    FieldInfo::new(
        field.name().to_string(),
        field.table_id(),
        field.column_id(),
        ty,
        field.format(),
    )
    .with_format_options(Arc::clone(field.format_options()))
    .with_type_size(size)
    .with_type_modifier(typmod)
}

/// The kind of each parameter `$n` (index n-1) that `plan` casts to one,
/// or whose placeholder was given one (a declared parameter).
pub fn parameter_kinds(plan: &LogicalPlan) -> HashMap<usize, PgKind> {
    let mut kinds = HashMap::new();
    let mut note = |id: &str, kind: PgKind| {
        if let Some(i) = crate::params::parameter_index(id) {
            kinds.entry(i).or_insert(kind);
        }
    };
    let _ = plan.apply_with_subqueries(|node| {
        node.apply_expressions(|expr| {
            expr.apply(|e| {
                match e {
                    Expr::Cast(Cast { expr, field }) => {
                        if let (Expr::Placeholder(Placeholder { id, .. }), Some(kind)) =
                            (expr.as_ref(), PgKind::of_field(field))
                        {
                            note(id, kind);
                        }
                    }
                    Expr::Placeholder(Placeholder {
                        id,
                        field: Some(field),
                    }) => {
                        if let Some(kind) = PgKind::of_field(field) {
                            note(id, kind);
                        }
                    }
                    _ => {}
                }
                Ok(TreeNodeRecursion::Continue)
            })
        })
    });
    kinds
}

/// The Bind values that pgwire's decoder cannot read, in forms it can:
/// - json, jsonb and uuid parameters as text in binary format (which the
///   decoder takes verbatim): binary jsonb loses its version byte, a binary
///   uuid becomes its text;
/// - interval parameters in text (pgjdbc's `1 days 2 hours 3 mins …`,
///   psql's `1 day 02:03:04`) read as PostgreSQL reads them
///   ([`crate::interval`]) and passed in binary.
///
/// `None` when no parameter needs it. `types` and `formats` are the
/// statement's declared types and the Bind's formats; the result is
/// (types, format codes, values).
#[allow(clippy::type_complexity)]
pub fn bind_as_text(
    plan: &LogicalPlan,
    types: &[Option<Type>],
    formats: &pgwire::api::portal::Format,
    values: &[Option<Bytes>],
) -> Result<Option<(Vec<Option<Type>>, Vec<i16>, Vec<Option<Bytes>>)>, String> {
    // The plan is walked only for a parameter the client left untyped.
    let kinds = std::cell::OnceCell::new();
    let kinds = || kinds.get_or_init(|| parameter_kinds(plan));
    let kind_of = |i: usize| {
        types
            .get(i)
            .and_then(|t| t.as_ref())
            .and_then(PgKind::of_pg_type)
            .or_else(|| {
                let undeclared = types
                    .get(i)
                    .is_none_or(|t| t.as_ref().is_none_or(|t| *t == Type::UNKNOWN));
                undeclared.then(|| kinds().get(&i).copied()).flatten()
            })
    };
    let planned = std::cell::OnceCell::new();
    let planned = || planned.get_or_init(|| plan.get_parameter_types().unwrap_or_default());
    let interval_text = |i: usize| {
        !formats.is_binary(i)
            && match types.get(i).and_then(|t| t.as_ref()) {
                Some(t) if *t == Type::INTERVAL => true,
                Some(t) if *t != Type::UNKNOWN => false,
                _ => matches!(
                    planned().get(&format!("${}", i + 1)),
                    Some(Some(DataType::Interval(_)))
                ),
            }
    };
    if !(0..values.len()).any(|i| kind_of(i).is_some() || interval_text(i)) {
        return Ok(None);
    }
    let mut new_types = Vec::with_capacity(values.len());
    let mut codes = Vec::with_capacity(values.len());
    let mut new_values = Vec::with_capacity(values.len());
    for (i, value) in values.iter().enumerate() {
        let binary = formats.is_binary(i);
        if interval_text(i) {
            let value = match value {
                None => None,
                Some(bytes) => {
                    let text = std::str::from_utf8(bytes)
                        .map_err(|_| format!("parameter ${} is not valid UTF-8", i + 1))?;
                    let interval = crate::interval::parse(text)?;
                    Some(Bytes::from(crate::interval::binary(interval)))
                }
            };
            new_types.push(Some(Type::INTERVAL));
            codes.push(1);
            new_values.push(value);
            continue;
        }
        let Some(kind) = kind_of(i) else {
            new_types.push(types.get(i).cloned().flatten());
            codes.push(i16::from(binary));
            new_values.push(value.clone());
            continue;
        };
        let text = match value {
            None => None,
            Some(bytes) => {
                let raw: &[u8] = match (kind, binary) {
                    (PgKind::Jsonb, true) => match bytes.split_first() {
                        Some((1, rest)) => rest,
                        _ => {
                            return Err(format!(
                                "unsupported jsonb version number in parameter ${}",
                                i + 1
                            ));
                        }
                    },
                    _ => bytes,
                };
                let text = if kind == PgKind::Uuid && binary {
                    let b: [u8; 16] = raw.try_into().map_err(|_| {
                        format!(
                            "a binary uuid is 16 bytes; parameter ${} has {}",
                            i + 1,
                            raw.len()
                        )
                    })?;
                    uuid_from_bytes(&b)
                } else {
                    std::str::from_utf8(raw)
                        .map_err(|_| format!("parameter ${} is not valid UTF-8", i + 1))?
                        .to_string()
                };
                Some(Bytes::from(kind.input(&text)?))
            }
        };
        new_types.push(Some(Type::TEXT));
        codes.push(1);
        new_values.push(text);
    }
    Ok(Some((new_types, codes, new_values)))
}

fn uuid_from_bytes(b: &[u8; 16]) -> String {
    let hex: String = b.iter().map(|byte| format!("{byte:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonb_prints_as_postgresql() {
        // Each expected text is PostgreSQL 15's `SELECT '…'::jsonb`.
        let jsonb = |s: &str| PgKind::Jsonb.input(s);
        assert_eq!(
            jsonb(r#"{"b": [true,false], "a":1}"#).as_deref(),
            Ok(r#"{"a": 1, "b": [true, false]}"#)
        );
        assert_eq!(
            jsonb(r#"{"bb":1,"a":2,"a":3}"#).as_deref(),
            Ok(r#"{"a": 3, "bb": 1}"#)
        );
        assert_eq!(
            jsonb(r#"[1.50e1, 1e2, -0, 0.001E1, 12E-3, "\u00fc\n"]"#).as_deref(),
            Ok(r#"[15.0, 100, 0, 0.01, 0.012, "ü\n"]"#)
        );
        assert_eq!(jsonb("{}").as_deref(), Ok("{}"));
        assert!(jsonb(r#"{"a":}"#).is_err());
        assert!(jsonb("01").is_err());
        assert!(jsonb(r#""\u0000""#).is_err());
        // numeric's range, not memory, bounds an exponent (PostgreSQL 15:
        // 22003 for each of these).
        assert_eq!(
            jsonb("1e2147483648"),
            Err("value overflows numeric format: 1e2147483648".to_string())
        );
        assert!(jsonb("0e2147483648").is_err());
        assert!(jsonb("1e-20000").is_err());
        // json keeps the text as written.
        assert_eq!(
            PgKind::Json.input(r#"{"b":1, "a" :2}"#).as_deref(),
            Ok(r#"{"b":1, "a" :2}"#)
        );
        assert!(PgKind::Json.input("[1,").is_err());
    }

    #[test]
    fn uuid_reads_postgresql_inputs() {
        let uuid = |s: &str| PgKind::Uuid.input(s);
        let canonical = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11";
        for input in [
            "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
            "{a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11}",
            "a0eebc999c0b4ef8bb6d6bb9bd380a11",
            "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11",
        ] {
            assert_eq!(uuid(input).as_deref(), Ok(canonical), "{input}");
        }
        for bad in [
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1",
            "a0eeb-c99",
            "-a0eebc999c0b4ef8bb6d6bb9bd380a11",
            "g0eebc999c0b4ef8bb6d6bb9bd380a11",
        ] {
            assert!(uuid(bad).is_err(), "{bad}");
        }
        assert_eq!(
            uuid_bytes(canonical)
                .map(|b| uuid_from_bytes(&b))
                .as_deref(),
            Some(canonical)
        );
    }

    #[tokio::test]
    async fn casts_plan_run_and_say_their_type() {
        let ctx = datafusion::prelude::SessionContext::new();
        PgTypePlanner::install(&ctx);
        // A NOT NULL source grouped on: the logical and physical schemas of
        // the aggregate must agree (datafusion#22079).
        let sql = "SELECT x::jsonb AS j, count(*) AS n, 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'::uuid AS u \
                   FROM (VALUES ('{\"b\":1,\"a\":2}'), ('{\"a\": 2, \"b\": 1}')) t(x) GROUP BY 1";
        assert_eq!(
            crate::rules::table_text(&ctx, sql).await,
            "+------------------+---+--------------------------------------+\n\
             | j                | n | u                                    |\n\
             +------------------+---+--------------------------------------+\n\
             | {\"a\": 2, \"b\": 1} | 2 | a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11 |\n\
             +------------------+---+--------------------------------------+"
        );
        let plan = ctx.state().create_logical_plan(sql).await.expect("plan");
        assert_eq!(
            kinds(plan.schema().as_arrow()),
            vec![Some(PgKind::Jsonb), None, Some(PgKind::Uuid)]
        );
        // Untyped literals compared with them are read as them.
        assert_eq!(
            crate::rules::table_text(
                &ctx,
                "SELECT count(*) AS n FROM (SELECT x::uuid AS u, '{\"b\":1,\"a\":2}'::jsonb AS j \
                 FROM (VALUES ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')) t(x)) s \
                 WHERE u = 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11' AND '{\"a\": 2, \"b\":1}' = j \
                 AND u IN ('{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}')"
            )
            .await,
            "+---+\n| n |\n+---+\n| 1 |\n+---+"
        );
        // A plain cast back is text.
        let plan = ctx
            .state()
            .create_logical_plan("SELECT CAST('{}'::jsonb AS TEXT)")
            .await
            .expect("plan");
        assert_eq!(kinds(plan.schema().as_arrow()), vec![None]);
        let error = ctx
            .sql("SELECT CAST(1 AS uuid)")
            .await
            .expect("plan")
            .collect()
            .await
            .expect_err("an integer is no uuid");
        assert!(
            error
                .to_string()
                .contains("cannot cast type bigint to uuid"),
            "{error}"
        );
    }

    #[test]
    fn binary_parameters_become_text() {
        let plan = datafusion::logical_expr::LogicalPlanBuilder::empty(true)
            .project(vec![Expr::Cast(Cast::new_from_field(
                Box::new(Expr::Placeholder(Placeholder::new_with_field(
                    "$2".to_string(),
                    None,
                ))),
                PgKind::Uuid.field(""),
            ))])
            .expect("project")
            .build()
            .expect("plan");
        let uuid = uuid_bytes("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11").expect("uuid");
        let values = vec![
            Some(Bytes::from_static(b"\x01{\"b\":1,\"a\":2}")),
            Some(Bytes::copy_from_slice(&uuid)),
            Some(Bytes::from_static(b"7")),
        ];
        let (types, codes, values) = bind_as_text(
            &plan,
            &[Some(Type::JSONB), None, Some(Type::INT4)],
            &pgwire::api::portal::Format::Individual(vec![1, 1, 0]),
            &values,
        )
        .expect("converted")
        .expect("needed");
        assert_eq!(
            types,
            vec![Some(Type::TEXT), Some(Type::TEXT), Some(Type::INT4)]
        );
        assert_eq!(codes, vec![1, 1, 0]);
        assert_eq!(
            values,
            vec![
                Some(Bytes::from_static(b"{\"a\": 2, \"b\": 1}")),
                Some(Bytes::from_static(b"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")),
                Some(Bytes::from_static(b"7")),
            ]
        );
        assert!(
            bind_as_text(
                &plan,
                &[Some(Type::JSONB)],
                &pgwire::api::portal::Format::UnifiedBinary,
                &[Some(Bytes::from_static(b"\x02{}"))]
            )
            .is_err()
        );
    }
}
