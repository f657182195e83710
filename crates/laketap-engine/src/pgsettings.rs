//! PostgreSQL's run-time parameters as clients see them: the ones drivers and
//! BI tools `SET`, `SHOW` and read with `current_setting()` when they connect
//! (application_name, DateStyle, TimeZone, search_path, extra_float_digits, …)
//! and the read-only ones they probe (server_version, server_encoding, …).
//!
//! Values live in a DataFusion [`ConfigExtension`] (`pg`), so each session
//! has its own and `current_setting()` reads the session's. The wire front
//! end applies the ones with an effect (statement_timeout, TimeZone,
//! search_path) and sends ParameterStatus for the reported ones.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::config::{ConfigEntry, ConfigExtension, ExtensionOptions};
use datafusion::common::{ScalarValue, config::ConfigOptions};
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};
use datafusion::prelude::SessionContext;

/// The PostgreSQL version laketap presents (startup parameter, SHOW, version()).
pub const SERVER_VERSION: &str = "16.6";
/// `server_version_num` of [`SERVER_VERSION`].
pub const SERVER_VERSION_NUM: &str = "160006";

/// The TimeZone sessions start in (PostgreSQL's default on a UTC machine).
pub const DEFAULT_TIME_ZONE: &str = "Etc/UTC";

/// One run-time parameter.
#[derive(Debug)]
pub struct Guc {
    /// The name as PostgreSQL spells it (SHOW's column, ParameterStatus).
    pub name: &'static str,
    /// The value a session starts with.
    pub default: &'static str,
    /// Whether a session may change it.
    pub settable: bool,
    /// Whether PostgreSQL reports changes with ParameterStatus.
    pub reported: bool,
    /// SHOW ALL's description.
    pub description: &'static str,
}

const fn guc(
    name: &'static str,
    default: &'static str,
    settable: bool,
    reported: bool,
    description: &'static str,
) -> Guc {
    Guc {
        name,
        default,
        settable,
        reported,
        description,
    }
}

/// The parameters laketap knows, sorted by lower-case name.
pub const GUCS: &[Guc] = &[
    guc(
        "application_name",
        "",
        true,
        true,
        "Sets the application name to be reported in statistics and logs.",
    ),
    guc(
        "bytea_output",
        "hex",
        true,
        false,
        "Sets the output format for bytea.",
    ),
    guc(
        "client_encoding",
        "UTF8",
        true,
        true,
        "Sets the client's character set encoding.",
    ),
    guc(
        "client_min_messages",
        "notice",
        true,
        false,
        "Sets the message levels that are sent to the client.",
    ),
    guc(
        "DateStyle",
        "ISO, MDY",
        true,
        true,
        "Sets the display format for date and time values.",
    ),
    guc(
        "default_transaction_isolation",
        "read committed",
        true,
        false,
        "Sets the transaction isolation level of each new transaction.",
    ),
    guc(
        "default_transaction_read_only",
        "off",
        true,
        true,
        "Sets the default read-only status of new transactions.",
    ),
    guc(
        "extra_float_digits",
        "1",
        true,
        false,
        "Sets the number of digits displayed for floating-point values.",
    ),
    guc(
        "idle_in_transaction_session_timeout",
        "0",
        true,
        false,
        "Sets the maximum allowed idle time between queries, when in a transaction.",
    ),
    guc(
        "in_hot_standby",
        "off",
        false,
        true,
        "Shows whether hot standby is currently active.",
    ),
    guc(
        "integer_datetimes",
        "on",
        false,
        true,
        "Shows whether datetimes are integer based.",
    ),
    guc(
        "IntervalStyle",
        "postgres",
        true,
        true,
        "Sets the display format for interval values.",
    ),
    guc(
        "is_superuser",
        "on",
        false,
        true,
        "Shows whether the current user is a superuser.",
    ),
    guc("jit", "off", true, false, "Allow JIT compilation."),
    guc(
        "lc_collate",
        "C",
        false,
        false,
        "Shows the collation order locale.",
    ),
    guc(
        "lc_ctype",
        "C",
        false,
        false,
        "Shows the character classification and case conversion locale.",
    ),
    guc(
        "lc_messages",
        "C",
        true,
        false,
        "Sets the language in which messages are displayed.",
    ),
    guc(
        "lc_monetary",
        "C",
        true,
        false,
        "Sets the locale for formatting monetary amounts.",
    ),
    guc(
        "lc_numeric",
        "C",
        true,
        false,
        "Sets the locale for formatting numbers.",
    ),
    guc(
        "lc_time",
        "C",
        true,
        false,
        "Sets the locale for formatting date and time values.",
    ),
    guc(
        "lock_timeout",
        "0",
        true,
        false,
        "Sets the maximum allowed duration of any wait for a lock.",
    ),
    guc(
        "max_connections",
        "100",
        false,
        false,
        "Sets the maximum number of concurrent connections.",
    ),
    guc(
        "max_identifier_length",
        "63",
        false,
        false,
        "Shows the maximum identifier length.",
    ),
    guc(
        "max_index_keys",
        "32",
        false,
        false,
        "Shows the maximum number of index keys.",
    ),
    guc("row_security", "on", true, false, "Enable row security."),
    guc(
        "search_path",
        "\"$user\", public",
        true,
        true,
        "Sets the schema search order for names that are not schema-qualified.",
    ),
    guc(
        "server_encoding",
        "UTF8",
        false,
        true,
        "Shows the server (database) character set encoding.",
    ),
    guc(
        "server_version",
        SERVER_VERSION,
        false,
        true,
        "Shows the server version.",
    ),
    guc(
        "server_version_num",
        SERVER_VERSION_NUM,
        false,
        false,
        "Shows the server version as an integer.",
    ),
    guc(
        "session_authorization",
        "laketap",
        false,
        true,
        "Sets the session user name.",
    ),
    guc(
        "standard_conforming_strings",
        "on",
        true,
        true,
        "Causes '...' strings to treat backslashes literally.",
    ),
    guc(
        "statement_timeout",
        "0",
        true,
        false,
        "Sets the maximum allowed duration of any statement.",
    ),
    guc(
        "synchronous_commit",
        "on",
        true,
        false,
        "Sets the current transaction's synchronization level.",
    ),
    guc(
        "TimeZone",
        DEFAULT_TIME_ZONE,
        true,
        true,
        "Sets the time zone for displaying and interpreting time stamps.",
    ),
    guc(
        "timezone_abbreviations",
        "Default",
        true,
        false,
        "Selects a file of time zone abbreviations.",
    ),
    guc(
        "transaction_isolation",
        "read committed",
        true,
        false,
        "Sets the current transaction's isolation level.",
    ),
    guc(
        "transaction_read_only",
        "off",
        true,
        false,
        "Sets the current transaction's read-only status.",
    ),
    guc(
        "work_mem",
        "4MB",
        true,
        false,
        "Sets the maximum memory to be used for query workspaces.",
    ),
];

/// The parameter named `name` (any case).
pub fn lookup(name: &str) -> Option<&'static Guc> {
    let name = name.trim().trim_matches('"');
    GUCS.iter().find(|g| g.name.eq_ignore_ascii_case(name))
}

/// A parameter that does not exist, as PostgreSQL words it (SQLSTATE 42704).
pub fn unrecognized(name: &str) -> String {
    format!("unrecognized configuration parameter \"{name}\"")
}

/// Each session's values of the settable parameters (unset: the default).
#[derive(Debug, Clone, Default)]
pub struct PgSettings {
    values: BTreeMap<String, String>,
    /// The server's defaults where they differ from PostgreSQL's (laketap.toml's
    /// `statement_timeout_ms`): what RESET and `SET … TO DEFAULT` return to.
    server_defaults: BTreeMap<String, String>,
}

impl ConfigExtension for PgSettings {
    const PREFIX: &'static str = "pg";
}

/// A duration parameter in PostgreSQL's units: plain numbers are
/// milliseconds; shown in the largest unit that divides it.
fn normalize_duration(name: &str, value: &str) -> DfResult<String> {
    let v = value.trim().trim_matches('\'').trim();
    let split = v
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(v.len());
    let (number, unit) = v.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| invalid(name, value, "a duration such as 5000, '5s' or '2min'"))?;
    let factor = match unit.trim() {
        "" | "ms" => 1.0,
        "us" => 0.001,
        "s" => 1000.0,
        "min" => 60_000.0,
        "h" => 3_600_000.0,
        "d" => 86_400_000.0,
        _ => return Err(invalid(name, value, "units ms, s, min, h or d")),
    };
    let ms = (number * factor).round();
    if !(0.0..=2_147_483_647.0).contains(&ms) {
        return Err(invalid(name, value, "0 to 2147483647 ms"));
    }
    let ms = ms as u64;
    Ok(if ms == 0 {
        "0".to_string()
    } else {
        [
            ("d", 86_400_000),
            ("h", 3_600_000),
            ("min", 60_000),
            ("s", 1000),
        ]
        .iter()
        .find(|(_, f)| ms.is_multiple_of(*f))
        .map_or_else(|| format!("{ms}ms"), |(u, f)| format!("{}{u}", ms / f))
    })
}

/// Milliseconds of a duration parameter's shown value (0: none).
pub fn duration_ms(shown: &str) -> u64 {
    let split = shown
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(shown.len());
    let (number, unit) = shown.split_at(split);
    let n: u64 = number.parse().unwrap_or(0);
    n * match unit {
        "s" => 1000,
        "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => 1,
    }
}

/// A TimeZone value as PostgreSQL reads it: the text SHOW answers and the
/// zone Arrow computes in (a zone name, or a fixed offset east of UTC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionZone {
    pub shown: String,
    pub arrow: String,
}

/// `±hh:mm` for an offset east of UTC in seconds (Arrow's fixed offsets;
/// `None` for seconds, which Arrow cannot hold).
fn offset_text(east: i32, always_minutes: bool) -> Option<String> {
    let sign = if east < 0 { '-' } else { '+' };
    let magnitude = east.unsigned_abs();
    if !magnitude.is_multiple_of(60) {
        return None;
    }
    let (hours, minutes) = (magnitude / 3600, magnitude % 3600 / 60);
    Some(if minutes != 0 || always_minutes {
        format!("{sign}{hours:02}:{minutes:02}")
    } else {
        format!("{sign}{hours:02}")
    })
}

/// The longest offset from UTC a TimeZone may have, as PostgreSQL's
/// `pg_tzset_offset` bounds it (15 hours), in seconds.
const MAX_ZONE_OFFSET: i64 = 15 * 3600;

/// A TimeZone value as PostgreSQL's `check_timezone` reads it (`None`: not
/// a zone):
/// - a zone name, any case (`europe/paris` is shown as `Europe/Paris`);
/// - a number of hours east of UTC (`-7`, `5.5`), shown as the POSIX zone
///   PostgreSQL makes of it (`<-07>+07`);
/// - a POSIX zone of a fixed offset (`+05:30`, `GMT+5`, `<+03>-3`), whose
///   offset is hours WEST of UTC: `+05:30` is five and a half hours
///   behind UTC, as in PostgreSQL (and in the TZ environment variable).
///
/// POSIX zones with daylight-saving rules (`CET-1CEST,M3.5.0,M10.5.0/3`)
/// are not read: the named zones hold those rules.
pub fn parse_time_zone(raw: &str) -> Option<SessionZone> {
    let raw = raw.trim();
    if raw.eq_ignore_ascii_case("local") || raw.eq_ignore_ascii_case("default") {
        return parse_time_zone(DEFAULT_TIME_ZONE);
    }
    let named = raw.parse::<chrono_tz::Tz>().ok().or_else(|| {
        chrono_tz::TZ_VARIANTS
            .iter()
            .find(|zone| zone.name().eq_ignore_ascii_case(raw))
            .copied()
    });
    if let Some(zone) = named {
        let name = zone.name().to_string();
        return Some(SessionZone {
            shown: name.clone(),
            arrow: name,
        });
    }
    let numeric = !raw.is_empty()
        && raw
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | '.'));
    if numeric {
        let hours: f64 = raw.parse().ok()?;
        let east = (hours * 3600.0).round();
        if !east.is_finite() || east.abs() > MAX_ZONE_OFFSET as f64 {
            return None;
        }
        let east = east as i32;
        let arrow = offset_text(east, true)?;
        let abbreviation = offset_text(east, false)?;
        let posix = offset_text(-east, false)?;
        return Some(SessionZone {
            shown: format!("<{abbreviation}>{posix}"),
            arrow,
        });
    }
    // POSIX `std offset`: a name (letters, or anything in angle brackets,
    // or none) and hours west of UTC, `[+-]hh[:mm[:ss]]`.
    let offset = if let Some(rest) = raw.strip_prefix('<') {
        let (name, offset) = rest.split_once('>')?;
        if name.is_empty() {
            return None;
        }
        offset
    } else {
        let name_end = raw
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(raw.len());
        if name_end != 0 && name_end < 3 {
            return None;
        }
        &raw[name_end..]
    };
    let (west_sign, digits) = match offset.as_bytes().first() {
        Some(b'-') => (-1, &offset[1..]),
        Some(b'+') => (1, &offset[1..]),
        Some(_) => (1, offset),
        None => return None,
    };
    let mut parts = digits.split(':');
    let mut part = |max: i64| -> Option<Option<i64>> {
        match parts.next() {
            None => Some(None),
            Some(p) if !p.is_empty() && p.len() <= 2 && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<i64>().ok().filter(|v| *v <= max).map(Some)
            }
            Some(_) => None,
        }
    };
    let hours = part(24)??;
    let minutes = part(59)?.unwrap_or(0);
    let seconds = part(59)?.unwrap_or(0);
    if parts.next().is_some() {
        return None;
    }
    let west = west_sign * (hours * 3600 + minutes * 60 + seconds);
    if west.abs() > MAX_ZONE_OFFSET {
        return None;
    }
    Some(SessionZone {
        shown: raw.to_string(),
        arrow: offset_text(i32::try_from(-west).ok()?, true)?,
    })
}

/// The Arrow zone of a TimeZone value SHOW answers (see
/// [`parse_time_zone`]); a value it does not read is returned as it is.
pub fn arrow_time_zone(shown: &str) -> String {
    parse_time_zone(shown).map_or_else(|| shown.to_string(), |z| z.arrow)
}

fn invalid(name: &str, value: &str, expected: &str) -> DataFusionError {
    DataFusionError::Configuration(format!(
        "invalid value for parameter \"{name}\": \"{value}\" (expected {expected})"
    ))
}

fn on_off(name: &str, value: &str) -> DfResult<String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" | "1" => Ok("on".to_string()),
        "off" | "false" | "no" | "0" => Ok("off".to_string()),
        _ => Err(invalid(name, value, "on or off")),
    }
}

/// `DateStyle`: an output style and/or a field order, merged with `current`.
fn normalize_datestyle(value: &str, current: &str) -> DfResult<String> {
    let (mut style, mut order) = current
        .split_once(", ")
        .map_or(("ISO".to_string(), "MDY".to_string()), |(s, o)| {
            (s.to_string(), o.to_string())
        });
    for part in value.split(',').map(|p| p.trim().to_ascii_uppercase()) {
        match part.as_str() {
            "ISO" => style = "ISO".into(),
            "SQL" => style = "SQL".into(),
            "POSTGRES" => style = "Postgres".into(),
            "GERMAN" => style = "German".into(),
            "MDY" | "US" | "NONEURO" | "NONEUROPEAN" => order = "MDY".into(),
            "DMY" | "EURO" | "EUROPEAN" => order = "DMY".into(),
            "YMD" => order = "YMD".into(),
            "DEFAULT" => {
                style = "ISO".into();
                order = "MDY".into();
            }
            _ => {
                return Err(invalid(
                    "DateStyle",
                    value,
                    "ISO, SQL, Postgres or German and MDY, DMY or YMD",
                ));
            }
        }
    }
    Ok(format!("{style}, {order}"))
}

impl PgSettings {
    /// The current value of a known parameter.
    pub fn get(&self, guc: &Guc) -> String {
        let lower = guc.name.to_ascii_lowercase();
        self.values
            .get(&lower)
            .or_else(|| self.server_defaults.get(&lower))
            .cloned()
            .unwrap_or_else(|| guc.default.to_string())
    }

    /// Makes `value` the default of `name` for this session (the server's
    /// configured default): SHOW answers it until a SET, and RESET returns to it.
    pub fn set_server_default(&mut self, name: &str, value: &str) -> DfResult<()> {
        let guc = lookup(name).ok_or_else(|| DataFusionError::Configuration(unrecognized(name)))?;
        let normalized = self.normalize(guc, value)?;
        self.server_defaults
            .insert(guc.name.to_ascii_lowercase(), normalized);
        Ok(())
    }

    /// Checks and normalizes `value` for `guc`, as SHOW will print it.
    pub fn normalize(&self, guc: &Guc, value: &str) -> DfResult<String> {
        let name = guc.name;
        let raw = value.trim();
        match name.to_ascii_lowercase().as_str() {
            "statement_timeout" | "lock_timeout" | "idle_in_transaction_session_timeout" => {
                normalize_duration(name, raw)
            }
            "datestyle" => normalize_datestyle(raw, &self.get(guc)),
            "timezone" => parse_time_zone(raw).map(|zone| zone.shown).ok_or_else(|| {
                invalid(
                    name,
                    raw,
                    "a zone name such as Europe/Paris, hours east of UTC such as -7, \
                     or a POSIX offset west of UTC such as GMT+5",
                )
            }),
            "extra_float_digits" => match raw.parse::<i32>() {
                Ok(n) if (-15..=3).contains(&n) => Ok(n.to_string()),
                _ => Err(invalid(name, raw, "an integer from -15 to 3")),
            },
            "client_encoding" => match raw.to_ascii_uppercase().replace('-', "").as_str() {
                "UTF8" | "UNICODE" => Ok("UTF8".to_string()),
                _ => Err(DataFusionError::NotImplemented(format!(
                    "client_encoding \"{raw}\" is not supported: laketap sends UTF8 only"
                ))),
            },
            "standard_conforming_strings" => match on_off(name, raw)?.as_str() {
                "on" => Ok("on".to_string()),
                _ => Err(DataFusionError::NotImplemented(
                    "standard_conforming_strings = off is not supported".to_string(),
                )),
            },
            "default_transaction_read_only" | "transaction_read_only" | "jit" | "row_security" => {
                on_off(name, raw)
            }
            "default_transaction_isolation" | "transaction_isolation" => {
                let level = raw.to_ascii_lowercase().replace('_', " ");
                match level.as_str() {
                    "read uncommitted" | "read committed" | "repeatable read" | "serializable" => {
                        Ok(level)
                    }
                    _ => Err(invalid(
                        name,
                        raw,
                        "read uncommitted, read committed, repeatable read or serializable",
                    )),
                }
            }
            "bytea_output" => match raw.to_ascii_lowercase().as_str() {
                "hex" => Ok("hex".to_string()),
                "escape" => Err(DataFusionError::NotImplemented(
                    "bytea_output = escape is not supported: laketap sends hex".to_string(),
                )),
                _ => Err(invalid(name, raw, "hex")),
            },
            "intervalstyle" => match raw.to_ascii_lowercase().as_str() {
                style @ ("postgres" | "iso_8601" | "sql_standard" | "postgres_verbose") => {
                    Ok(style.to_string())
                }
                _ => Err(invalid(
                    name,
                    raw,
                    "postgres, postgres_verbose, sql_standard or iso_8601",
                )),
            },
            _ => Ok(raw.to_string()),
        }
    }
}

impl ExtensionOptions for PgSettings {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }

    fn cloned(&self) -> Box<dyn ExtensionOptions> {
        Box::new(self.clone())
    }

    fn set(&mut self, key: &str, value: &str) -> DfResult<()> {
        let guc = lookup(key).ok_or_else(|| DataFusionError::Configuration(unrecognized(key)))?;
        if !guc.settable {
            return Err(DataFusionError::Configuration(format!(
                "parameter \"{}\" cannot be changed",
                guc.name
            )));
        }
        let lower = guc.name.to_ascii_lowercase();
        if value.trim().eq_ignore_ascii_case("default") {
            self.values.remove(&lower);
            return Ok(());
        }
        let normalized = self.normalize(guc, value)?;
        self.values.insert(lower, normalized);
        Ok(())
    }

    fn entries(&self) -> Vec<ConfigEntry> {
        GUCS.iter()
            .map(|g| ConfigEntry {
                key: format!("pg.{}", g.name.to_ascii_lowercase()),
                value: Some(self.get(g)),
                description: g.description,
            })
            .collect()
    }
}

/// `version()` as PostgreSQL words it (clients parse `PostgreSQL N.M`).
pub fn version_string() -> String {
    format!(
        "PostgreSQL {SERVER_VERSION} on {}-{}, compiled by laketap {} (Apache DataFusion {}), 64-bit",
        std::env::consts::ARCH,
        std::env::consts::OS,
        env!("CARGO_PKG_VERSION"),
        datafusion::DATAFUSION_VERSION
    )
}

/// A parameter's value for `current_setting()`, from the session's options.
pub fn current_value(options: &ConfigOptions, name: &str) -> Option<String> {
    let lower = name.trim().to_ascii_lowercase();
    if let Some(guc) = lookup(&lower) {
        let settings = options.extensions.get::<PgSettings>();
        return Some(settings.map_or_else(|| guc.default.to_string(), |s| s.get(guc)));
    }
    if lower.starts_with("laketap.") || lower.starts_with("datafusion.") {
        let entries = if lower.starts_with("laketap.") {
            options
                .extensions
                .get::<crate::asof::LaketapOptions>()
                .map(ExtensionOptions::entries)
                .unwrap_or_default()
        } else {
            options.entries()
        };
        return entries
            .into_iter()
            .find(|e| e.key == lower)
            .map(|e| e.value.unwrap_or_default());
    }
    None
}

/// `current_setting(name [, missing_ok])`.
#[derive(Debug, PartialEq, Eq, Hash)]
struct CurrentSetting {
    signature: Signature,
}

impl ScalarUDFImpl for CurrentSetting {
    fn name(&self) -> &str {
        "current_setting"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let missing_ok = match args.args.get(1) {
            Some(ColumnarValue::Scalar(ScalarValue::Boolean(b))) => b.unwrap_or(false),
            _ => false,
        };
        let one = |name: Option<&str>| -> DfResult<Option<String>> {
            let Some(name) = name else { return Ok(None) };
            match current_value(&args.config_options, name) {
                Some(v) => Ok(Some(v)),
                None if missing_ok => Ok(None),
                None => Err(DataFusionError::Plan(unrecognized(name))),
            }
        };
        match &args.args[0] {
            ColumnarValue::Scalar(s) => {
                let name = match s {
                    ScalarValue::Utf8(v) | ScalarValue::Utf8View(v) | ScalarValue::LargeUtf8(v) => {
                        v.clone()
                    }
                    other => Some(other.to_string()),
                };
                Ok(ColumnarValue::Scalar(ScalarValue::Utf8(one(
                    name.as_deref()
                )?)))
            }
            ColumnarValue::Array(array) => {
                let names = datafusion::arrow::compute::cast(array, &DataType::Utf8)?;
                let names = names.as_string::<i32>();
                let mut out = StringBuilder::with_capacity(names.len(), names.len() * 8);
                for i in 0..names.len() {
                    let name = (!names.is_null(i)).then(|| names.value(i));
                    out.append_option(one(name)?);
                }
                Ok(ColumnarValue::Array(Arc::new(out.finish())))
            }
        }
    }
}

/// `version()`: PostgreSQL's format, with laketap and DataFusion named.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Version {
    signature: Signature,
}

impl ScalarUDFImpl for Version {
    fn name(&self) -> &str {
        "version"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        Ok(ColumnarValue::Scalar(ScalarValue::Utf8(Some(
            version_string(),
        ))))
    }
}

/// `pg_get_serial_sequence(table, column)`: lake tables have no sequences.
#[derive(Debug, PartialEq, Eq, Hash)]
struct SerialSequence {
    signature: Signature,
}

impl ScalarUDFImpl for SerialSequence {
    fn name(&self) -> &str {
        "pg_get_serial_sequence"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        Ok(ColumnarValue::Scalar(ScalarValue::Utf8(None)))
    }
}

/// Registers `current_setting`, `version` and `pg_get_serial_sequence`
/// (replacing DataFusion's `version()`, which clients cannot parse).
pub fn register(ctx: &SessionContext) {
    ctx.register_udf(ScalarUDF::new_from_impl(CurrentSetting {
        signature: Signature::one_of(
            vec![
                TypeSignature::String(1),
                TypeSignature::Exact(vec![DataType::Utf8, DataType::Boolean]),
            ],
            Volatility::Stable,
        ),
    }));
    ctx.register_udf(ScalarUDF::new_from_impl(Version {
        signature: Signature::nullary(Volatility::Immutable),
    }));
    ctx.register_udf(ScalarUDF::new_from_impl(SerialSequence {
        signature: Signature::any(2, Volatility::Stable),
    }));
    register_set_config(ctx);
}

#[cfg(test)]
mod tests {

    #[test]
    fn time_zones_are_read_as_postgresql_reads_them() {
        // (value, SHOW, Arrow zone): PostgreSQL 15's SHOW and offsets of
        // `SET TIME ZONE <value>` (`TIMESTAMPTZ '2026-03-01 12:00+00'`).
        let cases = [
            ("europe/paris", "Europe/Paris", "Europe/Paris"),
            ("utc", "UTC", "UTC"),
            ("Etc/GMT+5", "Etc/GMT+5", "Etc/GMT+5"),
            ("+05:30", "+05:30", "-05:30"),
            ("GMT+5", "GMT+5", "-05:00"),
            ("UTC-3", "UTC-3", "+03:00"),
            ("<+03>-3", "<+03>-3", "+03:00"),
            ("-7", "<-07>+07", "-07:00"),
            ("5.5", "<+05:30>-05:30", "+05:30"),
            ("+05", "<+05>-05", "+05:00"),
            ("LOCAL", "Etc/UTC", "Etc/UTC"),
        ];
        for (value, shown, arrow) in cases {
            assert_eq!(
                parse_time_zone(value),
                Some(SessionZone {
                    shown: shown.to_string(),
                    arrow: arrow.to_string()
                }),
                "{value}"
            );
            assert_eq!(arrow_time_zone(shown), arrow, "{value} shown as {shown}");
        }
        for bad in [
            "Nowhere/Bogus",
            "Z",
            "",
            "+25",
            "GM+5",
            "EST5EDT,M3.2.0,M11.1.0",
            "1e3",
        ] {
            assert_eq!(parse_time_zone(bad), None, "{bad}");
        }
        let mut s = PgSettings::default();
        let err = s.set("TimeZone", "Nowhere/Bogus").expect_err("refused");
        assert!(
            err.to_string()
                .contains("invalid value for parameter \"TimeZone\": \"Nowhere/Bogus\""),
            "{err}"
        );
    }
    use super::*;

    #[test]
    fn durations_show_in_postgres_units() {
        assert_eq!(
            normalize_duration("statement_timeout", "5000").ok(),
            Some("5s".into())
        );
        assert_eq!(
            normalize_duration("statement_timeout", "'5000ms'").ok(),
            Some("5s".into())
        );
        assert_eq!(
            normalize_duration("statement_timeout", "1500").ok(),
            Some("1500ms".into())
        );
        assert_eq!(
            normalize_duration("statement_timeout", "2min").ok(),
            Some("2min".into())
        );
        assert_eq!(
            normalize_duration("statement_timeout", "0").ok(),
            Some("0".into())
        );
        assert!(normalize_duration("statement_timeout", "soon").is_err());
        assert_eq!(duration_ms("5s"), 5000);
        assert_eq!(duration_ms("1500ms"), 1500);
    }

    #[test]
    fn settings_are_checked_and_normalized() {
        let mut s = PgSettings::default();
        s.set("DateStyle", "iso, dmy").expect("datestyle");
        assert_eq!(s.get(lookup("datestyle").expect("known")), "ISO, DMY");
        s.set("datestyle", "German").expect("style only");
        assert_eq!(s.get(lookup("DateStyle").expect("known")), "German, DMY");
        assert!(s.set("extra_float_digits", "7").is_err());
        s.set("extra_float_digits", "3").expect("efd");
        assert!(s.set("server_version", "17").is_err());
        let err = s.set("no_such_thing", "1").expect_err("unknown");
        assert!(
            err.to_string()
                .contains("unrecognized configuration parameter \"no_such_thing\"")
        );
        s.set("application_name", "default").expect("reset");
        assert_eq!(s.get(lookup("application_name").expect("known")), "");
        assert!(version_string().starts_with("PostgreSQL 16.6 on "));
    }
}

/// `pg_catalog.pg_settings`: the parameters with the scanning session's values.
#[derive(Debug)]
pub struct PgSettingsTable {
    schema: datafusion::arrow::datatypes::SchemaRef,
}

impl Default for PgSettingsTable {
    fn default() -> Self {
        use datafusion::arrow::datatypes::{Field, Schema};
        let text = |name: &str| Field::new(name, DataType::Utf8, true);
        PgSettingsTable {
            schema: Arc::new(Schema::new(vec![
                Field::new("name", DataType::Utf8, false),
                text("setting"),
                text("unit"),
                text("category"),
                text("short_desc"),
                text("extra_desc"),
                text("context"),
                text("vartype"),
                text("source"),
                text("min_val"),
                text("max_val"),
                text("enumvals"),
                text("boot_val"),
                text("reset_val"),
                text("sourcefile"),
                Field::new("sourceline", DataType::Int32, true),
                Field::new("pending_restart", DataType::Boolean, true),
            ])),
        }
    }
}

#[async_trait::async_trait]
impl datafusion::catalog::TableProvider for PgSettingsTable {
    fn schema(&self) -> datafusion::arrow::datatypes::SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> datafusion::logical_expr::TableType {
        datafusion::logical_expr::TableType::View
    }

    async fn scan(
        &self,
        state: &dyn datafusion::catalog::Session,
        projection: Option<&Vec<usize>>,
        _filters: &[datafusion::logical_expr::Expr],
        _limit: Option<usize>,
    ) -> DfResult<Arc<dyn datafusion::physical_plan::ExecutionPlan>> {
        use datafusion::arrow::array::{ArrayRef, BooleanArray, Int32Array, RecordBatch};
        let options = state.config().options();
        let n = GUCS.len();
        let mut columns: Vec<StringBuilder> = (0..15).map(|_| StringBuilder::new()).collect();
        for g in GUCS {
            let setting = current_value(options, g.name).unwrap_or_default();
            let is_duration = matches!(
                g.name,
                "statement_timeout" | "lock_timeout" | "idle_in_transaction_session_timeout"
            );
            let (shown, unit) = if is_duration {
                (duration_ms(&setting).to_string(), Some("ms"))
            } else {
                (setting, None)
            };
            let values: [Option<&str>; 15] = [
                Some(g.name),
                Some(&shown),
                unit,
                Some(if g.settable {
                    "Client Connection Defaults"
                } else {
                    "Preset Options"
                }),
                Some(g.description),
                None,
                Some(if g.settable { "user" } else { "internal" }),
                Some(if is_duration { "integer" } else { "string" }),
                Some(if g.settable { "session" } else { "default" }),
                None,
                None,
                None,
                Some(g.default),
                Some(g.default),
                None,
            ];
            for (builder, value) in columns.iter_mut().zip(values) {
                builder.append_option(value);
            }
        }
        let mut arrays: Vec<ArrayRef> = columns
            .into_iter()
            .map(|mut b| Arc::new(b.finish()) as ArrayRef)
            .collect();
        arrays.push(Arc::new(Int32Array::from(vec![None; n])));
        arrays.push(Arc::new(BooleanArray::from(vec![Some(false); n])));
        let batch = RecordBatch::try_new(self.schema.clone(), arrays)?;
        Ok(
            datafusion::datasource::memory::MemorySourceConfig::try_new_exec(
                &[vec![batch]],
                self.schema.clone(),
                projection.cloned(),
            )?,
        )
    }
}

/// `set_config(name, value, is_local)`: PostgreSQL's function form of SET.
/// A function cannot change the session here, so it answers only when the
/// value is already in force (asyncpg's `set_config('jit', 'off', …)`), and
/// otherwise says to use SET (0A000).
#[derive(Debug, PartialEq, Eq, Hash)]
struct SetConfig {
    signature: Signature,
}

impl ScalarUDFImpl for SetConfig {
    fn name(&self) -> &str {
        "set_config"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let text = |v: &ColumnarValue| match v {
            ColumnarValue::Scalar(
                ScalarValue::Utf8(s) | ScalarValue::Utf8View(s) | ScalarValue::LargeUtf8(s),
            ) => s.clone(),
            _ => None,
        };
        let (Some(name), Some(value)) = (text(&args.args[0]), text(&args.args[1])) else {
            return Err(DataFusionError::NotImplemented(
                "set_config() takes constant text arguments here".to_string(),
            ));
        };
        let current = current_value(&args.config_options, &name)
            .ok_or_else(|| DataFusionError::Plan(unrecognized(&name)))?;
        let same = current.eq_ignore_ascii_case(&value)
            || lookup(&name)
                .and_then(|g| PgSettings::default().normalize(g, &value).ok())
                .is_some_and(|n| n.eq_ignore_ascii_case(&current));
        if same {
            Ok(ColumnarValue::Scalar(ScalarValue::Utf8(Some(current))))
        } else {
            Err(DataFusionError::NotImplemented(format!(
                "set_config('{name}', '{value}') cannot change a setting here: use SET {name} = '{value}'"
            )))
        }
    }
}

/// Registers `set_config`.
pub fn register_set_config(ctx: &SessionContext) {
    ctx.register_udf(ScalarUDF::new_from_impl(SetConfig {
        signature: Signature::any(3, Volatility::Volatile),
    }));
}
