//! Helpers shared by the unit tests.

use datafusion::arrow::record_batch::RecordBatch;
use datafusion::prelude::SessionContext;

/// Row `row` of `batch`, each value as Arrow's text.
pub fn row_text(batch: &RecordBatch, row: usize) -> Vec<String> {
    (0..batch.num_columns())
        .map(|i| {
            datafusion::arrow::util::display::array_value_to_string(batch.column(i), row)
                .expect("text")
        })
        .collect()
}

/// The batches of `sql`'s result in `ctx`.
pub async fn batches(ctx: &SessionContext, sql: &str) -> Vec<RecordBatch> {
    ctx.sql(sql)
        .await
        .expect("plans")
        .collect()
        .await
        .expect("runs")
}

/// The first row of `sql`'s result in `ctx`, each value as Arrow's text.
pub async fn first_row(ctx: &SessionContext, sql: &str) -> Vec<String> {
    row_text(&batches(ctx, sql).await[0], 0)
}

/// The column types of `batch`.
pub fn types(batch: &RecordBatch) -> Vec<datafusion::arrow::datatypes::DataType> {
    batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.data_type().clone())
        .collect()
}
