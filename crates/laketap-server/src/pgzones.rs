//! `pg_timezone_names` and `pg_timezone_abbrevs`, the zone lists DataGrip and pgAdmin read
//! to offer the session's TimeZone (42P01 before).
//!
//! From the IANA database laketap's TimeZone setting reads (chrono-tz): a row per zone
//! name with its abbreviation, UTC offset and whether daylight saving time is in effect
//! now, as PostgreSQL computes them at the time of the scan; and a row per abbreviation
//! in use now. (PostgreSQL's abbreviation list comes from its own `Default` file, which
//! also holds historical abbreviations; this one has those the zones use today.)

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use chrono_tz::{OffsetComponents, OffsetName, TZ_VARIANTS};
use datafusion::arrow::array::{
    ArrayRef, BooleanArray, IntervalMonthDayNanoArray, RecordBatch, StringArray,
};
use datafusion::arrow::datatypes::{
    DataType, Field, IntervalMonthDayNano, IntervalUnit, Schema, SchemaRef,
};
use datafusion::common::Result;

/// Which of the two lists.
#[derive(Debug, Clone, Copy)]
pub enum ZoneList {
    Names,
    Abbrevs,
}

/// One of the lists, as a table computed at each scan (offsets and DST change with
/// the date).
pub fn table(list: ZoneList) -> laketap_engine::system::SystemTable {
    let schema = schema(list);
    let rows = schema.clone();
    laketap_engine::system::SystemTable::new(schema, move || batch(list, &rows))
}

fn schema(list: ZoneList) -> SchemaRef {
    let interval = DataType::Interval(IntervalUnit::MonthDayNano);
    let mut fields = vec![];
    if let ZoneList::Names = list {
        fields.push(Field::new("name", DataType::Utf8, false));
    }
    fields.extend([
        Field::new("abbrev", DataType::Utf8, false),
        Field::new("utc_offset", interval, false),
        Field::new("is_dst", DataType::Boolean, false),
    ]);
    Arc::new(Schema::new(fields))
}

/// The zones now: (name, abbreviation, seconds east of UTC, DST).
fn zones() -> Vec<(&'static str, String, i64, bool)> {
    let now = Utc::now().naive_utc();
    TZ_VARIANTS
        .iter()
        .map(|tz| {
            let offset = tz.offset_from_utc_datetime(&now);
            let seconds = (offset.base_utc_offset() + offset.dst_offset()).num_seconds();
            let abbrev = offset
                .abbreviation()
                .map(str::to_string)
                .unwrap_or_else(|| crate::pgtochar::offset_text(seconds as i32, false));
            (tz.name(), abbrev, seconds, !offset.dst_offset().is_zero())
        })
        .collect()
}

fn batch(list: ZoneList, schema: &SchemaRef) -> Result<RecordBatch> {
    let zones = zones();
    let offset = |s: i64| IntervalMonthDayNano::new(0, 0, s * 1_000_000_000);
    let columns: Vec<ArrayRef> = match list {
        ZoneList::Names => vec![
            Arc::new(StringArray::from_iter_values(zones.iter().map(|z| z.0))),
            Arc::new(StringArray::from_iter_values(
                zones.iter().map(|z| z.1.as_str()),
            )),
            Arc::new(IntervalMonthDayNanoArray::from_iter_values(
                zones.iter().map(|z| offset(z.2)),
            )),
            Arc::new(BooleanArray::from_iter(zones.iter().map(|z| Some(z.3)))),
        ],
        ZoneList::Abbrevs => {
            // One row per abbreviation (its first zone's offset), sorted.
            let mut abbrevs: BTreeMap<&str, (i64, bool)> = BTreeMap::new();
            for (_, abbrev, seconds, dst) in &zones {
                abbrevs.entry(abbrev.as_str()).or_insert((*seconds, *dst));
            }
            vec![
                Arc::new(StringArray::from_iter_values(abbrevs.keys().copied())),
                Arc::new(IntervalMonthDayNanoArray::from_iter_values(
                    abbrevs.values().map(|v| offset(v.0)),
                )),
                Arc::new(BooleanArray::from_iter(abbrevs.values().map(|v| Some(v.1)))),
            ]
        }
    };
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_have_their_offsets() {
        let zones = zones();
        let utc = zones.iter().find(|z| z.0 == "UTC").expect("UTC listed");
        assert_eq!((utc.1.as_str(), utc.2, utc.3), ("UTC", 0, false));
        let kolkata = zones
            .iter()
            .find(|z| z.0 == "Asia/Kolkata")
            .expect("listed");
        assert_eq!(
            (kolkata.1.as_str(), kolkata.2, kolkata.3),
            ("IST", 19_800, false)
        );
        let batch = batch(ZoneList::Abbrevs, &schema(ZoneList::Abbrevs)).expect("abbrevs");
        assert!(batch.num_rows() > 10 && batch.num_rows() < zones.len());
    }
}
