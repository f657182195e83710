//! PostgreSQL's date/time template patterns (`to_timestamp(text, text)`,
//! `to_date(text, text)`) as the chrono formats DataFusion's functions of
//! the same names take.
//!
//! Superset filters every time-bounded chart with
//! `TO_TIMESTAMP('2026-03-01 00:00:00.000000', 'YYYY-MM-DD HH24:MI:SS.US')`
//! and `TO_DATE('2026-03-02', 'YYYY-MM-DD')`; DataFusion read the pattern as
//! chrono's and refused the text. [`chrono_format`] translates the patterns
//! that parse a value (PostgreSQL's table "Template Patterns for Date/Time
//! Formatting"); one with a pattern chrono cannot parse (`TZ`, `Q`, `WW`,
//! `J`, …) is left alone, so DataFusion's error stays.

/// PostgreSQL template patterns and their chrono equivalents, longest first
/// where one is a prefix of another.
const PATTERNS: &[(&str, &str)] = &[
    ("HH24", "%H"),
    ("HH12", "%I"),
    ("HH", "%I"),
    ("MI", "%M"),
    ("SS", "%S"),
    ("MS", "%3f"),
    ("US", "%6f"),
    ("AM", "%p"),
    ("PM", "%p"),
    ("am", "%p"),
    ("pm", "%p"),
    ("YYYY", "%Y"),
    ("YY", "%y"),
    ("MONTH", "%B"),
    ("Month", "%B"),
    ("month", "%B"),
    ("MON", "%b"),
    ("Mon", "%b"),
    ("mon", "%b"),
    ("MM", "%m"),
    ("DAY", "%A"),
    ("Day", "%A"),
    ("day", "%A"),
    ("DY", "%a"),
    ("Dy", "%a"),
    ("dy", "%a"),
    ("DDD", "%j"),
    ("DD", "%d"),
    ("OF", "%:z"),
];

/// Letters that start a PostgreSQL pattern this module does not translate.
const UNTRANSLATED: &[&str] = &[
    "TZ", "tz", "Q", "WW", "IW", "W", "J", "CC", "Y,YYY", "IYYY", "IYY", "IY", "I", "RM", "rm",
    "SSSS", "D", "TH", "th", "A.M.", "P.M.", "B.C.", "A.D.", "BC", "AD", "FX",
];

/// The chrono format for PostgreSQL template `pattern`; `None` when it has
/// no PostgreSQL pattern (it is then chrono's already, or text) or one that
/// has no chrono equivalent.
pub fn chrono_format(pattern: &str) -> Option<String> {
    if pattern.contains('%') {
        return None;
    }
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut rest = pattern;
    let mut translated = false;
    while !rest.is_empty() {
        // "FM" (fill mode) only changes output padding.
        if let Some(after) = rest.strip_prefix("FM") {
            rest = after;
            continue;
        }
        // Double-quoted text is literal.
        if let Some(after) = rest.strip_prefix('"') {
            let end = after.find('"')?;
            out.push_str(&after[..end]);
            rest = &after[end + 1..];
            continue;
        }
        // Seconds past midnight, not two seconds fields.
        if rest.starts_with("SSSS") {
            return None;
        }
        if let Some((pg, chrono)) = PATTERNS.iter().find(|(pg, _)| rest.starts_with(pg)) {
            out.push_str(chrono);
            rest = &rest[pg.len()..];
            translated = true;
            continue;
        }
        if UNTRANSLATED.iter().any(|pg| rest.starts_with(pg)) {
            return None;
        }
        let c = rest.chars().next()?;
        if c.is_ascii_alphabetic() {
            // Any other letter is text to PostgreSQL only when quoted.
            return None;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    translated.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn superset_and_common_patterns() {
        assert_eq!(
            chrono_format("YYYY-MM-DD HH24:MI:SS.US").as_deref(),
            Some("%Y-%m-%d %H:%M:%S.%6f")
        );
        assert_eq!(chrono_format("YYYY-MM-DD").as_deref(), Some("%Y-%m-%d"));
        assert_eq!(
            chrono_format("DD Mon YYYY HH12:MI AM").as_deref(),
            Some("%d %b %Y %I:%M %p")
        );
        assert_eq!(
            chrono_format("YYYY-MM-DD\"T\"HH24:MI:SS.MS").as_deref(),
            Some("%Y-%m-%dT%H:%M:%S.%3f")
        );
        assert_eq!(chrono_format("FMDD/FMMM/YYYY").as_deref(), Some("%d/%m/%Y"));
        // chrono's already, text, and patterns without a chrono equivalent.
        assert_eq!(chrono_format("%Y-%m-%d"), None);
        assert_eq!(chrono_format("-- :"), None);
        assert_eq!(chrono_format("YYYY-MM-DD TZ"), None);
        assert_eq!(chrono_format("Q YYYY"), None);
        assert_eq!(chrono_format("YYYY SSSS"), None);
    }
}
