//! A client that reads a whole query result as a stream and throws the rows
//! away, printing rows, bytes and time: the reader side of
//! `bench/stream_memory.sh`, which watches the server's memory meanwhile.
//!
//! `cargo run --release -p laketap --example stream_all -- PORT "SQL"`

use std::time::Instant;

use futures::TryStreamExt;
use tokio_postgres::{NoTls, SimpleQueryMessage};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let port = args.next().ok_or("usage: stream_all PORT SQL")?;
    let sql = args.next().ok_or("usage: stream_all PORT SQL")?;
    let (client, connection) = tokio_postgres::connect(
        &format!("host=127.0.0.1 port={port} user=laketap dbname=laketap"),
        NoTls,
    )
    .await?;
    tokio::spawn(connection);
    let start = Instant::now();
    let stream = client.simple_query_raw(&sql).await?;
    futures::pin_mut!(stream);
    let (mut rows, mut bytes) = (0u64, 0u64);
    while let Some(message) = stream.try_next().await? {
        if let SimpleQueryMessage::Row(row) = message {
            rows += 1;
            bytes += (0..row.len())
                .map(|i| row.get(i).map_or(0, str::len) as u64)
                .sum::<u64>();
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "rows={rows} text_bytes={bytes} seconds={secs:.1} rows_per_second={:.0}",
        rows as f64 / secs
    );
    Ok(())
}
