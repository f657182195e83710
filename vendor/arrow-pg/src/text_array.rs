//! laketap patch: a one-dimensional array in PostgreSQL's text form
//! (`array_in`), for text[] parameters sent as text.
//!
//! pgwire's reader took an empty quoted element (`""`) and a quoted
//! `"NULL"` for NULL, so `['a', '']` bound as text came back `{a,NULL}`.
//! PostgreSQL reads only an unquoted, unescaped `NULL` (any case) as NULL.

/// The elements of `text` (`{a,"b c",NULL,""}`); an error says what is
/// wrong.
pub fn parse(text: &str) -> Result<Vec<Option<String>>, String> {
    let malformed = |why: &str| format!("malformed array literal: \"{text}\": {why}");
    let inner = text
        .trim()
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .ok_or_else(|| malformed("array value must start with \"{\" and end with \"}\""))?;
    let mut out = Vec::new();
    if inner.trim().is_empty() {
        return Ok(out);
    }
    let mut chars = inner.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        // Quoted or escaped: a value, never NULL.
        let mut literal = false;
        let mut quoted = false;
        // The length of `value` without its unquoted trailing whitespace.
        let mut kept = 0;
        loop {
            match chars.peek().copied() {
                None | Some(',') if !quoted => break,
                None => return Err(malformed("unexpected end of input")),
                Some('"') => {
                    chars.next();
                    quoted = !quoted;
                    literal = true;
                    kept = value.len();
                }
                Some('\\') => {
                    chars.next();
                    let c = chars
                        .next()
                        .ok_or_else(|| malformed("unexpected end of input"))?;
                    value.push(c);
                    literal = true;
                    kept = value.len();
                }
                Some('{' | '}') if !quoted => {
                    return Err(malformed("multidimensional arrays are not supported"));
                }
                Some(c) => {
                    chars.next();
                    value.push(c);
                    if quoted || !c.is_whitespace() {
                        kept = value.len();
                    }
                }
            }
        }
        value.truncate(kept);
        if !literal && value.is_empty() {
            return Err(malformed("unexpected \",\" character"));
        }
        let null = !literal && value.eq_ignore_ascii_case("NULL");
        out.push((!null).then_some(value));
        if chars.next().is_none() {
            return Ok(out);
        }
    }
}
