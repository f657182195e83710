//! Arrow schemas of the `amp` tables, exactly as KPI_SPEC.md "The lake" declares them.
//!
//! BIGINT = Int64, TEXT = Utf8, TIMESTAMP = Timestamp(Microsecond, None), DATE = Date32,
//! DOUBLE = Float64, INT = Int32. Only the columns the spec calls nullable are nullable.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// Batch tables, written as Parquet directories.
pub const BATCH_TABLES: [&str; 4] = ["users", "creators", "shows", "promotions"];

/// Streaming tables, written as Delta tables partitioned by `event_date`.
pub const STREAMING_TABLES: [&str; 5] = [
    "listen_events",
    "interactions",
    "promotion_events",
    "rec_impressions",
    "rec_engagements",
];

/// The partition column of every streaming table.
pub const PARTITION_COLUMN: &str = "event_date";

/// `TIMESTAMP` of the spec: microseconds, no time zone.
pub fn timestamp() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, None)
}

fn req(name: &str, t: DataType) -> Field {
    Field::new(name, t, false)
}

fn opt(name: &str, t: DataType) -> Field {
    Field::new(name, t, true)
}

/// The Arrow schema of table `name` of schema `amp`, or `None` for an unknown name.
pub fn schema_of(name: &str) -> Option<SchemaRef> {
    use DataType::{Date32, Float64, Int32, Int64, Utf8};
    let ts = timestamp;
    let fields = match name {
        "users" => vec![
            req("user_id", Int64),
            req("signup_at", ts()),
            opt("country", Utf8),
            req("platform", Utf8),
        ],
        "creators" => vec![
            req("creator_id", Int64),
            req("display_name", Utf8),
            req("creator_type", Utf8),
            req("joined_at", ts()),
        ],
        "shows" => vec![
            req("show_id", Int64),
            req("creator_id", Int64),
            req("title", Utf8),
            opt("genre", Utf8),
            req("scheduled_start", ts()),
            req("scheduled_end", ts()),
        ],
        "promotions" => vec![
            req("promotion_id", Int64),
            req("name", Utf8),
            req("channel", Utf8),
            req("target_show_id", Int64),
            req("start_at", ts()),
            req("end_at", ts()),
        ],
        "listen_events" => vec![
            req("event_id", Utf8),
            req("event_time", ts()),
            req("event_date", Date32),
            req("user_id", Int64),
            req("show_id", Int64),
            req("session_id", Utf8),
            req("event_type", Utf8),
            req("listen_seconds", Float64),
        ],
        "interactions" => vec![
            req("event_id", Utf8),
            req("event_time", ts()),
            req("event_date", Date32),
            req("user_id", Int64),
            opt("show_id", Int64),
            opt("creator_id", Int64),
            req("kind", Utf8),
        ],
        "promotion_events" => vec![
            req("event_id", Utf8),
            req("event_time", ts()),
            req("event_date", Date32),
            req("user_id", Int64),
            req("promotion_id", Int64),
            req("action", Utf8),
        ],
        "rec_impressions" => vec![
            req("impression_id", Utf8),
            req("event_time", ts()),
            req("event_date", Date32),
            req("user_id", Int64),
            req("experiment_id", Utf8),
            req("variant", Utf8),
            req("model_version", Utf8),
            req("slot", Int32),
            req("show_id", Int64),
        ],
        "rec_engagements" => vec![
            req("event_id", Utf8),
            req("event_time", ts()),
            req("event_date", Date32),
            req("impression_id", Utf8),
            req("kind", Utf8),
        ],
        _ => return None,
    };
    Some(Arc::new(Schema::new(fields)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_has_a_schema() {
        for t in BATCH_TABLES.iter().chain(&STREAMING_TABLES) {
            assert!(schema_of(t).is_some(), "{t}");
        }
        assert!(schema_of("nope").is_none());
        for t in STREAMING_TABLES {
            let s = schema_of(t).expect("schema");
            let f = s.field_with_name(PARTITION_COLUMN).expect("event_date");
            assert_eq!(f.data_type(), &DataType::Date32);
            let f = s.field_with_name("event_time").expect("event_time");
            assert_eq!(f.data_type(), &timestamp());
        }
    }

    #[test]
    fn only_the_spec_nullable_columns_are_nullable() {
        let mut nullable = Vec::new();
        for t in BATCH_TABLES.iter().chain(&STREAMING_TABLES) {
            for f in schema_of(t).expect("schema").fields() {
                if f.is_nullable() {
                    nullable.push(format!("{t}.{}", f.name()));
                }
            }
        }
        assert_eq!(
            nullable,
            [
                "users.country",
                "shows.genre",
                "interactions.show_id",
                "interactions.creator_id"
            ]
        );
    }
}
