//! Tests of the vendored arrow-pg's text[] parameter reader
//! (`vendor/arrow-pg/src/text_array.rs`), which lives outside the
//! workspace. Expected values are what PostgreSQL 15's `array_in` reads.

use arrow_pg::text_array::parse;

fn some(values: &[Option<&str>]) -> Vec<Option<String>> {
    values.iter().map(|v| v.map(str::to_string)).collect()
}

#[test]
fn quoted_empty_and_null_strings_are_values() {
    assert_eq!(
        parse(r#"{a,"b c",NULL,ü,""}"#),
        Ok(some(&[Some("a"), Some("b c"), None, Some("ü"), Some("")]))
    );
    assert_eq!(
        parse(r#"{"NULL",null,\NULL}"#),
        Ok(some(&[Some("NULL"), None, Some("NULL")]))
    );
}

#[test]
fn spaces_escapes_and_empty_arrays() {
    assert_eq!(
        parse(r#"{  a b  , "x\"y" ,c\,d}"#),
        Ok(some(&[Some("a b"), Some("x\"y"), Some("c,d")]))
    );
    assert_eq!(parse("{}"), Ok(Vec::new()));
    assert_eq!(parse(" { } "), Ok(Vec::new()));
}

#[test]
fn malformed_arrays_are_refused() {
    for text in ["a,b", "{a,,b}", r#"{"a}"#, "{{1},{2}}", "{a"] {
        let err = parse(text).expect_err(text);
        assert!(err.starts_with("malformed array literal"), "{text}: {err}");
    }
}
