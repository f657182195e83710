//! Tests of vendor/arrow-pg's exact numeric ([`arrow_pg::numeric`]), which
//! `cargo test --workspace` does not reach in the vendored crate itself.

use arrow_pg::numeric::PgNumeric;
use bytes::BytesMut;

fn binary(n: &PgNumeric) -> Vec<u8> {
    let mut out = BytesMut::new();
    n.write_binary(&mut out).expect("encodes");
    out.to_vec()
}

#[test]
fn text_keeps_every_digit_and_the_scale() {
    assert_eq!(PgNumeric::from_i128(110, 2).to_string(), "1.10");
    assert_eq!(PgNumeric::from_i128(0, 3).to_string(), "0.000");
    assert_eq!(PgNumeric::from_i128(-5, 3).to_string(), "-0.005");
    assert_eq!(PgNumeric::from_i128(12, -2).to_string(), "1200");
    let big = PgNumeric::from_i128(123456789012345678901234567890123, 3);
    assert_eq!(big.to_string(), "123456789012345678901234567890.123");
    let max = PgNumeric::from_i128(-99999999999999999999999999999999999999, 18);
    assert_eq!(max.to_string(), "-99999999999999999999.999999999999999999");
}

#[test]
fn parse_and_rescale_round_half_away_from_zero() {
    let n = PgNumeric::parse("12345678901234567890.123456789").expect("parses");
    assert_eq!(n.natural_precision_scale(), Some((29, 9)));
    assert_eq!(
        n.to_i128(38, 10).expect("fits"),
        123456789012345678901234567890
    );
    assert_eq!(
        PgNumeric::parse("1.005")
            .expect("p")
            .to_i128(10, 2)
            .expect("f"),
        101
    );
    assert_eq!(
        PgNumeric::parse("-1.005")
            .expect("p")
            .to_i128(10, 2)
            .expect("f"),
        -101
    );
    assert_eq!(PgNumeric::parse("1e3").expect("p").to_string(), "1000");
    assert_eq!(PgNumeric::parse(" +.5 ").expect("p").to_string(), "0.5");
    assert_eq!(
        PgNumeric::parse("9.99")
            .expect("p")
            .to_i128(3, 1)
            .expect("f"),
        100
    );
    assert!(PgNumeric::parse("9.99").expect("p").to_i128(2, 1).is_err());
    assert!(PgNumeric::parse("1e40").expect("p").to_i128(38, 0).is_err());
    for bad in ["", ".", "1.2.3", "abc", "1e", "NaN", "-Infinity"] {
        assert!(PgNumeric::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn binary_is_postgresqls() {
    // SELECT numeric_send('1.10'::numeric) = 0002 0000 0000 0002 0001 03e8
    assert_eq!(
        binary(&PgNumeric::from_i128(110, 2)),
        [0, 2, 0, 0, 0, 0, 0, 2, 0, 1, 0x03, 0xe8]
    );
    // numeric_send('0.000'::numeric) = 0000 0000 0000 0003
    assert_eq!(
        binary(&PgNumeric::from_i128(0, 3)),
        [0, 0, 0, 0, 0, 0, 0, 3]
    );
    // numeric_send('-12345.6'::numeric) = 0003 0001 4000 0001 0001 0929 1770
    assert_eq!(
        binary(&PgNumeric::from_i128(-123456, 1)),
        [0, 3, 0, 1, 0x40, 0, 0, 1, 0, 1, 0x09, 0x29, 0x17, 0x70]
    );
    // numeric_send('0.0001'::numeric) = 0001 ffff 0000 0004 0001
    assert_eq!(
        binary(&PgNumeric::from_i128(1, 4)),
        [0, 1, 0xff, 0xff, 0, 0, 0, 4, 0, 1]
    );
    for n in [
        PgNumeric::from_i128(110, 2),
        PgNumeric::from_i128(0, 3),
        PgNumeric::from_i128(-123456, 1),
        PgNumeric::from_i128(1, 4),
        PgNumeric::from_i128(123456789012345678901234567890123, 3),
        PgNumeric::from_i128(10000, 0),
    ] {
        assert_eq!(PgNumeric::read_binary(&binary(&n)).expect("reads"), n);
    }
}

#[test]
fn an_exponent_past_postgresqls_bound_is_refused_not_spelled_out() {
    // PostgreSQL's numeric_in refuses exponents beyond ±1000; spelled out,
    // 1e2000000000 would take gigabytes.
    assert!(PgNumeric::parse("1e2000000000").is_err());
    assert!(PgNumeric::parse("1e-1001").is_err());
    assert_eq!(
        PgNumeric::parse("1e1000")
            .expect("parses")
            .to_string()
            .len(),
        1001
    );
    assert_eq!(
        PgNumeric::parse("2.5e-3").expect("parses").to_string(),
        "0.0025"
    );
}

#[test]
fn quotients_are_written_with_postgresqls_scale_for_their_size() {
    // Each expected text is PostgreSQL 15.18's for the same quotient; the values
    // come in at the column's scale (20 digits after the point here).
    let text =
        |unscaled: i128, min: i8| PgNumeric::quotient_from_i128(unscaled, 20, min).to_string();
    let e20 = 10i128.pow(20);
    // 10::numeric / 4: weight 0, 16 digits.
    assert_eq!(text(25 * 10i128.pow(19), 0), "2.5000000000000000");
    // 1.0 / 3: weight -1, 20 digits.
    assert_eq!(
        text(33_333_333_333_333_333_333, 0),
        "0.33333333333333333333"
    );
    // 123456789::numeric / 7 = 17636684.142857142857: weight 1, 12 digits.
    assert_eq!(
        text(17_636_684_142_857_142_857 * 10i128.pow(8), 0),
        "17636684.142857142857"
    );
    // avg of numeric(10,2) values 0.01: never fewer digits than the operands'.
    assert_eq!(text(e20 / 100, 2), "0.01000000000000000000");
    // A zero keeps the column's scale; a value with more digits keeps them all.
    assert_eq!(text(0, 0), "0.00000000000000000000");
    assert_eq!(text(12_345 * e20 + 1, 0), "12345.00000000000000000001");
    assert_eq!(text(-(25 * 10i128.pow(19)), 0), "-2.5000000000000000");
}
