//! Column builders for the five streaming tables: the generator appends rows, and
//! [`StreamRows::finish`] turns them into one Arrow batch per table.

use std::fmt::{Arguments, Write as _};
use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayBuilder, ArrayRef, Date32Builder, Float64Builder, Int32Builder, Int64Builder, RecordBatch,
    StringBuilder, TimestampMicrosecondBuilder,
};

use crate::error::{Error, Result};
use crate::rng::date_of;
use crate::schema::schema_of;

/// Appends a formatted string as one value, without an intermediate `String`.
fn push_fmt(b: &mut StringBuilder, args: Arguments<'_>) {
    // Writing into an Arrow string builder cannot fail.
    let _ = b.write_fmt(args);
    b.append_value("");
}

/// The columns every event table starts with: an id, `event_time` and `event_date`.
#[derive(Debug, Default)]
struct EventCols {
    id: StringBuilder,
    time: TimestampMicrosecondBuilder,
    date: Date32Builder,
}

impl EventCols {
    fn push(&mut self, id: Arguments<'_>, time: i64) {
        push_fmt(&mut self.id, id);
        self.time.append_value(time);
        self.date.append_value(date_of(time));
    }

    fn len(&self) -> usize {
        self.time.len()
    }

    fn finish(&mut self) -> Vec<ArrayRef> {
        vec![
            Arc::new(self.id.finish()),
            Arc::new(self.time.finish()),
            Arc::new(self.date.finish()),
        ]
    }
}

fn batch(table: &'static str, columns: Vec<ArrayRef>) -> Result<Option<RecordBatch>> {
    if columns.first().is_none_or(|c| c.is_empty()) {
        return Ok(None);
    }
    let schema = schema_of(table).ok_or_else(|| {
        Error::arrow(
            table,
            datafusion::arrow::error::ArrowError::SchemaError(format!("no schema for {table}")),
        )
    })?;
    RecordBatch::try_new(schema, columns)
        .map(Some)
        .map_err(|e| Error::arrow(table, e))
}

#[derive(Debug, Default)]
pub(crate) struct ListenRows {
    ev: EventCols,
    user_id: Int64Builder,
    show_id: Int64Builder,
    session_id: StringBuilder,
    event_type: StringBuilder,
    listen_seconds: Float64Builder,
}

impl ListenRows {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn push(
        &mut self,
        id: Arguments<'_>,
        time: i64,
        user_id: i64,
        show_id: i64,
        session_id: &str,
        event_type: &str,
        listen_seconds: f64,
    ) {
        self.ev.push(id, time);
        self.user_id.append_value(user_id);
        self.show_id.append_value(show_id);
        self.session_id.append_value(session_id);
        self.event_type.append_value(event_type);
        self.listen_seconds.append_value(listen_seconds);
    }

    fn finish(&mut self) -> Result<Option<RecordBatch>> {
        let mut cols = self.ev.finish();
        cols.push(Arc::new(self.user_id.finish()));
        cols.push(Arc::new(self.show_id.finish()));
        cols.push(Arc::new(self.session_id.finish()));
        cols.push(Arc::new(self.event_type.finish()));
        cols.push(Arc::new(self.listen_seconds.finish()));
        batch("listen_events", cols)
    }
}

#[derive(Debug, Default)]
pub(crate) struct InteractionRows {
    ev: EventCols,
    user_id: Int64Builder,
    show_id: Int64Builder,
    creator_id: Int64Builder,
    kind: StringBuilder,
}

impl InteractionRows {
    pub(crate) fn push(
        &mut self,
        id: Arguments<'_>,
        time: i64,
        user_id: i64,
        show_id: Option<i64>,
        creator_id: Option<i64>,
        kind: &str,
    ) {
        self.ev.push(id, time);
        self.user_id.append_value(user_id);
        self.show_id.append_option(show_id);
        self.creator_id.append_option(creator_id);
        self.kind.append_value(kind);
    }

    fn finish(&mut self) -> Result<Option<RecordBatch>> {
        let mut cols = self.ev.finish();
        cols.push(Arc::new(self.user_id.finish()));
        cols.push(Arc::new(self.show_id.finish()));
        cols.push(Arc::new(self.creator_id.finish()));
        cols.push(Arc::new(self.kind.finish()));
        batch("interactions", cols)
    }
}

#[derive(Debug, Default)]
pub(crate) struct PromoRows {
    ev: EventCols,
    user_id: Int64Builder,
    promotion_id: Int64Builder,
    action: StringBuilder,
}

impl PromoRows {
    pub(crate) fn push(
        &mut self,
        id: Arguments<'_>,
        time: i64,
        user_id: i64,
        promotion_id: i64,
        action: &str,
    ) {
        self.ev.push(id, time);
        self.user_id.append_value(user_id);
        self.promotion_id.append_value(promotion_id);
        self.action.append_value(action);
    }

    fn finish(&mut self) -> Result<Option<RecordBatch>> {
        let mut cols = self.ev.finish();
        cols.push(Arc::new(self.user_id.finish()));
        cols.push(Arc::new(self.promotion_id.finish()));
        cols.push(Arc::new(self.action.finish()));
        batch("promotion_events", cols)
    }
}

#[derive(Debug, Default)]
pub(crate) struct ImpressionRows {
    ev: EventCols,
    user_id: Int64Builder,
    experiment_id: StringBuilder,
    variant: StringBuilder,
    model_version: StringBuilder,
    slot: Int32Builder,
    show_id: Int64Builder,
}

/// What a recommendation impression shows, besides its id and time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Impression<'a> {
    pub user_id: i64,
    pub experiment_id: &'a str,
    pub variant: &'a str,
    pub model_version: &'a str,
    pub slot: i32,
    pub show_id: i64,
}

impl ImpressionRows {
    pub(crate) fn push(&mut self, id: Arguments<'_>, time: i64, imp: &Impression<'_>) {
        self.ev.push(id, time);
        self.user_id.append_value(imp.user_id);
        self.experiment_id.append_value(imp.experiment_id);
        self.variant.append_value(imp.variant);
        self.model_version.append_value(imp.model_version);
        self.slot.append_value(imp.slot);
        self.show_id.append_value(imp.show_id);
    }

    fn finish(&mut self) -> Result<Option<RecordBatch>> {
        let mut cols = self.ev.finish();
        cols.push(Arc::new(self.user_id.finish()));
        cols.push(Arc::new(self.experiment_id.finish()));
        cols.push(Arc::new(self.variant.finish()));
        cols.push(Arc::new(self.model_version.finish()));
        cols.push(Arc::new(self.slot.finish()));
        cols.push(Arc::new(self.show_id.finish()));
        batch("rec_impressions", cols)
    }
}

#[derive(Debug, Default)]
pub(crate) struct EngagementRows {
    ev: EventCols,
    impression_id: StringBuilder,
    kind: StringBuilder,
}

impl EngagementRows {
    pub(crate) fn push(&mut self, id: Arguments<'_>, time: i64, impression_id: &str, kind: &str) {
        self.ev.push(id, time);
        self.impression_id.append_value(impression_id);
        self.kind.append_value(kind);
    }

    fn finish(&mut self) -> Result<Option<RecordBatch>> {
        let mut cols = self.ev.finish();
        cols.push(Arc::new(self.impression_id.finish()));
        cols.push(Arc::new(self.kind.finish()));
        batch("rec_engagements", cols)
    }
}

/// Rows of all five streaming tables, in the order of [`crate::schema::STREAMING_TABLES`].
#[derive(Debug, Default)]
pub(crate) struct StreamRows {
    pub listen: ListenRows,
    pub interactions: InteractionRows,
    pub promo: PromoRows,
    pub impressions: ImpressionRows,
    pub engagements: EngagementRows,
}

/// One batch (or nothing) per streaming table.
pub(crate) type StreamBatches = [Option<RecordBatch>; 5];

impl StreamRows {
    /// Rows buffered so far, all tables together.
    pub(crate) fn len(&self) -> usize {
        self.listen.ev.len()
            + self.interactions.ev.len()
            + self.promo.ev.len()
            + self.impressions.ev.len()
            + self.engagements.ev.len()
    }

    /// Takes the buffered rows as batches and leaves the builders empty.
    pub(crate) fn finish(&mut self) -> Result<StreamBatches> {
        Ok([
            self.listen.finish()?,
            self.interactions.finish()?,
            self.promo.finish()?,
            self.impressions.finish()?,
            self.engagements.finish()?,
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::DAY;
    use datafusion::arrow::array::{Array, Date32Array, StringArray};

    #[test]
    fn rows_become_batches_with_the_spec_schema() {
        let mut rows = StreamRows::default();
        assert_eq!(rows.len(), 0);
        rows.listen
            .push(format_args!("le-{}", 1), DAY + 5, 7, 9, "s-1", "start", 0.0);
        rows.interactions.push(
            format_args!("ix-1"),
            2 * DAY - 1,
            7,
            None,
            Some(3),
            "follow",
        );
        assert_eq!(rows.len(), 2);
        let [listen, inter, promo, imp, eng] = rows.finish().expect("batches");
        let listen = listen.expect("listen rows");
        assert!(promo.is_none() && imp.is_none() && eng.is_none());
        assert_eq!(listen.schema(), schema_of("listen_events").expect("schema"));
        let ids = listen
            .column(0)
            .as_any()
            .downcast_ref::<StringArray>()
            .expect("utf8");
        assert_eq!(ids.value(0), "le-1");
        let dates = listen
            .column(2)
            .as_any()
            .downcast_ref::<Date32Array>()
            .expect("date");
        assert_eq!(dates.value(0), 1);
        let inter = inter.expect("interaction rows");
        assert!(inter.column(4).is_null(0));
        assert_eq!(rows.len(), 0);
        assert!(rows.finish().expect("empty").iter().all(Option::is_none));
    }
}
