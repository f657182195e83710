//! laketap patch: a timestamptz value whose text is PostgreSQL's ISO form.
//!
//! pgwire writes a `DateTime`'s offset with `%:::z`, the hours alone, so a
//! value in a `+05:30` zone (Asia/Kolkata) was sent as `…15:30:00+05`, half
//! an hour wrong for every client that reads text. PostgreSQL writes the
//! minutes (and seconds) when the offset has them. Binary is upstream's.

use std::error::Error;

use bytes::{BufMut, BytesMut};
use chrono::{DateTime, FixedOffset};
use pgwire::types::ToSqlText;
use pgwire::types::format::FormatOptions;
use postgres_types::{IsNull, ToSql, Type};

/// A timestamptz in its zone's offset.
#[derive(Debug, Clone, Copy)]
pub struct PgTimestampTz(pub DateTime<FixedOffset>);

impl ToSql for PgTimestampTz {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        self.0.to_sql(ty, out)
    }

    fn accepts(ty: &Type) -> bool {
        <DateTime<FixedOffset> as ToSql>::accepts(ty)
    }

    postgres_types::to_sql_checked!();
}

impl ToSqlText for PgTimestampTz {
    fn to_sql_text(
        &self,
        ty: &Type,
        out: &mut BytesMut,
        format_options: &FormatOptions,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        if *ty != Type::TIMESTAMPTZ {
            return self.0.to_sql_text(ty, out, format_options);
        }
        out.put_slice(text(&self.0).as_bytes());
        Ok(IsNull::No)
    }
}

/// `2026-03-01 15:30:00.000000+05:30` (the fraction as pgwire writes it).
pub fn text(value: &DateTime<FixedOffset>) -> String {
    let mut text = value.format("%Y-%m-%d %H:%M:%S%.6f").to_string();
    let east = value.offset().local_minus_utc();
    let sign = if east < 0 { '-' } else { '+' };
    let s = east.unsigned_abs();
    let (h, m, sec) = (s / 3600, s / 60 % 60, s % 60);
    text.push_str(&format!("{sign}{h:02}"));
    if m != 0 || sec != 0 {
        text.push_str(&format!(":{m:02}"));
    }
    if sec != 0 {
        text.push_str(&format!(":{sec:02}"));
    }
    text
}
