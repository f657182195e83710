//! `COPY table [(columns)] FROM STDIN` in PostgreSQL's text and CSV formats
//! (what `psql \copy` sends), into a Delta table through laketap-ingest; and
//! `COPY table|(query) TO STDOUT` in the same formats and in binary.
//!
//! The statement is answered with CopyInResponse; the data is gathered (up
//! to the ingest request limit), parsed against the table's schema when the
//! client sends CopyDone, appended durably as one write, and answered
//! `COPY n`. A bad row rejects the whole COPY with its line and column.
//! `SET laketap.idempotency_key` before the COPY keys it.
//!
//! COPY to or from a server-side file or program is refused (42501): the
//! server does not open files for clients. COPY FROM STDIN is served in both
//! the simple query protocol (psql, psycopg) and the extended one
//! (tokio-postgres, pgjdbc's CopyManager).

use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use datafusion::common::ParamValues;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::{
    CopyLegacyCsvOption, CopyLegacyOption, CopyOption, CopySource, CopyTarget, Statement,
};
use datafusion_postgres::QueryHook;
use datafusion_postgres::hooks::HookClient;
use futures::{Sink, SinkExt};
use laketap_ingest::convert::{self, CopyFormat};
use laketap_ingest::{Error as IngestError, Ingest};
use pgwire::api::ClientInfo;
use pgwire::api::copy::CopyHandler;
use pgwire::api::results::{CopyResponse, Response, Tag};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::copy::{CopyData, CopyDone, CopyFail};

use crate::sqlstate::{self, error};

/// A COPY FROM STDIN under way on a connection.
struct PendingCopy {
    schema: String,
    table: String,
    target: laketap_ingest::Target,
    columns: Vec<usize>,
    format: CopyFormat,
    key: Option<String>,
    /// The open transaction block's write buffer, if any.
    transaction: Option<Arc<laketap_engine::asof::TxWrites>>,
    data: Vec<u8>,
}

#[derive(Default)]
struct CopySlot(Mutex<Option<PendingCopy>>);

fn slot(client: &(impl ClientInfo + ?Sized)) -> Arc<CopySlot> {
    client
        .session_extensions()
        .get_or_insert_with(CopySlot::default)
}

fn take(client: &(impl ClientInfo + ?Sized)) -> Option<PendingCopy> {
    slot(client)
        .0
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
}

fn ingest_error(e: &IngestError) -> PgWireError {
    error(e.sqlstate(), e.to_string())
}

/// The query hook that starts `COPY … FROM STDIN` and refuses server-side files.
pub struct CopyHook {
    ingest: Option<Arc<Ingest>>,
}

impl CopyHook {
    /// COPY into the tables `ingest` writes (none: COPY FROM is refused).
    pub fn new(ingest: Option<Arc<Ingest>>) -> Self {
        CopyHook { ingest }
    }

    async fn start(
        &self,
        statement: &Statement,
        ctx: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        let Statement::Copy {
            source,
            to,
            target,
            options,
            legacy_options,
            ..
        } = statement
        else {
            return None;
        };
        match target {
            CopyTarget::File { filename } => {
                return Some(Err(error(
                    sqlstate::INSUFFICIENT_PRIVILEGE,
                    format!(
                        "COPY {} a file ('{filename}') is not allowed: the server does not open files for clients; use COPY … {} (psql \\copy)",
                        if *to { "to" } else { "from" },
                        if *to { "TO STDOUT" } else { "FROM STDIN" }
                    ),
                )));
            }
            CopyTarget::Program { .. } => {
                return Some(Err(error(
                    sqlstate::INSUFFICIENT_PRIVILEGE,
                    "COPY to or from a program is not allowed",
                )));
            }
            CopyTarget::Stdout => {
                let text = crate::pgtext::TextSettings::of(client.metadata());
                return Some(copy_out(source, options, legacy_options, ctx, &text).await);
            }
            CopyTarget::Stdin => {}
        }
        Some(
            self.start_copy_in(source, options, legacy_options, ctx, client)
                .await,
        )
    }

    async fn start_copy_in(
        &self,
        source: &CopySource,
        options: &[CopyOption],
        legacy: &[CopyLegacyOption],
        ctx: &SessionContext,
        client: &mut dyn HookClient,
    ) -> PgWireResult<Response> {
        let CopySource::Table {
            table_name,
            columns,
        } = source
        else {
            return Err(error(
                sqlstate::SYNTAX_ERROR,
                "COPY (query) FROM STDIN is not valid: name a table",
            ));
        };
        // Unquoted names fold to lower case, as in PostgreSQL.
        let parts: Vec<String> = table_name
            .0
            .iter()
            .map(|p| {
                let written = p.to_string();
                match written.strip_prefix('"').and_then(|w| w.strip_suffix('"')) {
                    Some(quoted) => quoted.replace("\"\"", "\""),
                    None => written.to_lowercase(),
                }
            })
            .collect();
        let default_schema = ctx
            .state_ref()
            .read()
            .config()
            .options()
            .catalog
            .default_schema
            .clone();
        let (schema, table) = match parts.as_slice() {
            [t] => (default_schema, t.clone()),
            [s, t] => (s.clone(), t.clone()),
            [c, s, t] if c == laketap_engine::DATABASE => (s.clone(), t.clone()),
            _ => {
                return Err(error(
                    sqlstate::UNDEFINED_TABLE,
                    format!("relation \"{table_name}\" does not exist"),
                ));
            }
        };
        let Some(ingest) = &self.ingest else {
            return Err(ingest_error(&IngestError::NotWritable {
                table: format!("{schema}.{table}"),
                reason: "this server takes no writes".to_string(),
            }));
        };
        let target = ingest
            .target(&schema, &table)
            .await
            .map_err(|e| ingest_error(&e))?;
        let format = copy_format(options, legacy)?;
        let columns = if columns.is_empty() {
            (0..target.schema.fields().len()).collect()
        } else {
            columns
                .iter()
                .map(|c| {
                    let name = match c.quote_style {
                        Some(_) => c.value.clone(),
                        None => c.value.to_lowercase(),
                    };
                    target.schema.index_of(&name).map_err(|_| {
                        error(
                            sqlstate::UNDEFINED_COLUMN,
                            format!(
                                "column \"{}\" of relation \"{}\" does not exist",
                                c.value, target.name
                            ),
                        )
                    })
                })
                .collect::<PgWireResult<Vec<usize>>>()?
        };
        let (key, transaction) = {
            let state = ctx.state_ref();
            let state = state.read();
            let options = state.config().options();
            (
                laketap_engine::asof::idempotency_slot(options).and_then(|slot| slot.take()),
                laketap_engine::asof::transaction(options),
            )
        };
        let n = columns.len();
        *slot(&*client).0.lock().unwrap_or_else(|p| p.into_inner()) = Some(PendingCopy {
            schema,
            table,
            target,
            columns,
            format,
            key,
            transaction,
            data: Vec::new(),
        });
        Ok(Response::CopyIn(CopyResponse::new(
            0,
            n,
            futures::stream::empty(),
        )))
    }
}

/// `COPY table [(columns)] TO STDOUT` and `COPY (query) TO STDOUT`, in text
/// or CSV, one CopyData message per row, streamed batch by batch.
async fn copy_out(
    source: &CopySource,
    options: &[CopyOption],
    legacy: &[CopyLegacyOption],
    ctx: &SessionContext,
    text: &crate::pgtext::TextSettings,
) -> PgWireResult<Response> {
    use futures::StreamExt;
    use pgwire::api::results::{CopyCsvOptions, CopyEncoder, CopyTextOptions};

    let sql = match source {
        CopySource::Table {
            table_name,
            columns,
        } => {
            let columns = if columns.is_empty() {
                "*".to_string()
            } else {
                columns
                    .iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            format!("SELECT {columns} FROM {table_name}")
        }
        CopySource::Query(query) => query.to_string(),
    };
    if binary_format(options, legacy)? {
        let (schema, stream) = copy_query(&sql, ctx).await?;
        return copy_out_binary(schema, stream, text);
    }
    let format = copy_format(options, legacy)?;
    let (schema, stream) = copy_query(&sql, ctx).await?;
    let fields = Arc::new(arrow_pg::datatypes::arrow_schema_to_pg_fields(
        &schema,
        &pgwire::api::portal::Format::UnifiedText,
        None,
    )?);
    let columns = fields.len();
    // Floats and date/time values in PostgreSQL's text format (crate::pgtext):
    // each is encoded alone, fixed, and written as the text it became.
    // Each such column has its own one-field encoder, reused row after row.
    let mut fixes: Vec<
        Option<(
            pgwire::api::results::DataRowEncoder,
            crate::pgtext::TextFixes,
        )>,
    > = fields
        .iter()
        .map(|field| {
            let one = Arc::new(vec![field.clone()]);
            crate::pgtext::TextFixes::for_fields(&one, text)
                .map(|f| (pgwire::api::results::DataRowEncoder::new(one), f))
        })
        .collect();
    let mut encoder = if format.csv {
        CopyEncoder::new_csv(
            fields.clone(),
            CopyCsvOptions {
                delimiter: format.delimiter.to_string().into(),
                quote: format.quote.to_string().into(),
                escape: format.escape.to_string().into(),
                null_string: format.null.clone().into(),
                force_quote: Vec::new(),
            },
        )
    } else {
        CopyEncoder::new_text(
            fields.clone(),
            CopyTextOptions {
                delimiter: format.delimiter.to_string().into(),
                null_string: format.null.clone().into(),
            },
        )
    };
    // A CSV header travels with the first row (pgwire counts messages as rows).
    let mut header = (format.csv && format.header).then(|| {
        let names: Vec<String> = schema
            .fields()
            .iter()
            .map(|f| csv_quote(f.name(), &format))
            .collect();
        format!("{}\n", names.join(&format.delimiter.to_string()))
    });
    let rows = stream.map(move |batch| -> Vec<PgWireResult<CopyData>> {
        let batch = match batch {
            Ok(b) => b,
            Err(e) => return vec![Err(PgWireError::ApiError(Box::new(e)))],
        };
        let mut out = Vec::with_capacity(batch.num_rows() + 1);
        for row in 0..batch.num_rows() {
            for (i, field) in schema.fields().iter().enumerate() {
                let encoded = match &mut fixes[i] {
                    Some((alone, fix)) => arrow_pg::encoder::encode_value(
                        alone,
                        batch.column(i),
                        row,
                        field,
                        &fields[i],
                    )
                    .and_then(|()| {
                        let text = crate::pgtext::only_value(&fix.apply(alone.take_row()));
                        encoder.encode_field(&text)
                    }),
                    None => arrow_pg::encoder::encode_value(
                        &mut encoder,
                        batch.column(i),
                        row,
                        field,
                        &fields[i],
                    ),
                };
                if let Err(e) = encoded {
                    out.push(Err(e));
                    return out;
                }
            }
            let mut data = encoder.take_copy();
            if let Some(h) = header.take() {
                let mut joined = h.into_bytes();
                joined.extend_from_slice(&data.data);
                data = CopyData::new(joined.into());
            }
            out.push(Ok(data));
        }
        out
    });
    let rows = rows.flat_map(futures::stream::iter);
    Ok(Response::CopyOut(CopyResponse::new(0, columns, rows)))
}

/// Plans and starts the query a COPY … TO STDOUT reads (no DDL, DML or
/// other statements).
async fn copy_query(
    sql: &str,
    ctx: &SessionContext,
) -> PgWireResult<(
    datafusion::arrow::datatypes::SchemaRef,
    datafusion::physical_plan::SendableRecordBatchStream,
)> {
    use datafusion::execution::context::SQLOptions;
    let only_reads = SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false);
    let frame = ctx
        .sql_with_options(sql, only_reads)
        .await
        .map_err(|e| PgWireError::ApiError(Box::new(e)))?;
    let schema = Arc::new(frame.schema().as_arrow().clone());
    let stream = frame
        .execute_stream()
        .await
        .map_err(|e| PgWireError::ApiError(Box::new(e)))?;
    Ok((schema, stream))
}

/// `FORMAT binary` (or the legacy `BINARY`) for COPY … TO STDOUT; the
/// options that only the text formats take are refused with it, as
/// PostgreSQL refuses them (42601).
fn binary_format(options: &[CopyOption], legacy: &[CopyLegacyOption]) -> PgWireResult<bool> {
    let binary = options
        .iter()
        .any(|o| matches!(o, CopyOption::Format(f) if f.value.eq_ignore_ascii_case("binary")))
        || legacy.iter().any(|o| matches!(o, CopyLegacyOption::Binary));
    if !binary {
        return Ok(false);
    }
    let text_only = options
        .iter()
        .find_map(|o| match o {
            CopyOption::Delimiter(_) => Some("DELIMITER"),
            CopyOption::Null(_) => Some("NULL"),
            CopyOption::Header(_) => Some("HEADER"),
            CopyOption::Quote(_) => Some("QUOTE"),
            CopyOption::Escape(_) => Some("ESCAPE"),
            _ => None,
        })
        .or_else(|| {
            legacy.iter().find_map(|o| match o {
                CopyLegacyOption::Delimiter(_) => Some("DELIMITER"),
                CopyLegacyOption::Null(_) => Some("NULL"),
                CopyLegacyOption::Header => Some("HEADER"),
                CopyLegacyOption::Csv(_) => Some("CSV"),
                _ => None,
            })
        });
    match text_only {
        Some(option) => Err(error(
            sqlstate::SYNTAX_ERROR,
            format!("cannot specify {option} in BINARY mode"),
        )),
        None => Ok(true),
    }
}

/// PostgreSQL's binary COPY signature, flags and header extension length.
const BINARY_HEADER: &[u8] = b"PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00";
/// The binary COPY trailer: a field count of -1.
const BINARY_TRAILER: &[u8] = &[0xff, 0xff];

/// `COPY … TO STDOUT (FORMAT binary)`: each row as PostgreSQL's binary
/// tuple (a field count, then each field's length and binary value, as a
/// DataRow carries them), the header with the first row and the trailer
/// after the last, one CopyData message per row as PostgreSQL sends them.
/// Values get PostgreSQL's binary forms where pgwire's differ
/// ([`crate::pgtext::TextFixes`]: jsonb, uuid, empty arrays).
fn copy_out_binary(
    schema: datafusion::arrow::datatypes::SchemaRef,
    stream: datafusion::physical_plan::SendableRecordBatchStream,
    text: &crate::pgtext::TextSettings,
) -> PgWireResult<Response> {
    use bytes::{BufMut, BytesMut};
    use futures::StreamExt;
    let fields = Arc::new(arrow_pg::datatypes::arrow_schema_to_pg_fields(
        &schema,
        &pgwire::api::portal::Format::UnifiedBinary,
        None,
    )?);
    let columns = fields.len();
    let count = i16::try_from(columns).map_err(|_| {
        error(
            sqlstate::NOT_SUPPORTED,
            format!("COPY of {columns} columns in binary is not supported"),
        )
    })?;
    let fixes = crate::pgtext::TextFixes::for_fields(&fields, text);
    let mut encoder = pgwire::api::results::DataRowEncoder::new(fields.clone());
    let mut first = true;
    let rows = stream.map(move |batch| -> Vec<PgWireResult<BytesMut>> {
        let batch = match batch {
            Ok(b) => b,
            Err(e) => return vec![Err(PgWireError::ApiError(Box::new(e)))],
        };
        let mut out = Vec::with_capacity(batch.num_rows());
        for row in 0..batch.num_rows() {
            for (i, field) in schema.fields().iter().enumerate() {
                if let Err(e) = arrow_pg::encoder::encode_value(
                    &mut encoder,
                    batch.column(i),
                    row,
                    field,
                    &fields[i],
                ) {
                    out.push(Err(e));
                    return out;
                }
            }
            let mut encoded = encoder.take_row();
            if let Some(fixes) = &fixes {
                encoded = fixes.apply(encoded);
            }
            let mut data = BytesMut::with_capacity(encoded.data.len() + 2 + BINARY_HEADER.len());
            if std::mem::take(&mut first) {
                data.put_slice(BINARY_HEADER);
            }
            data.put_i16(count);
            data.put_slice(&encoded.data);
            out.push(Ok(data));
        }
        out
    });
    // The trailer goes with the last row (pgwire counts the messages it
    // sends as rows, all but a bare trailer); with no rows, the header
    // goes with it.
    let rows = Box::pin(rows.flat_map(futures::stream::iter));
    let data = futures::stream::unfold(
        (rows, None::<BytesMut>, false),
        |(mut rows, mut held, done)| async move {
            if done {
                return None;
            }
            loop {
                match rows.next().await {
                    Some(Ok(data)) => {
                        if let Some(previous) = held.replace(data) {
                            return Some((
                                Ok(CopyData::new(previous.freeze())),
                                (rows, held, false),
                            ));
                        }
                    }
                    Some(Err(e)) => return Some((Err(e), (rows, held, true))),
                    None => {
                        let mut last = held.take().unwrap_or_else(|| BytesMut::from(BINARY_HEADER));
                        last.put_slice(BINARY_TRAILER);
                        return Some((Ok(CopyData::new(last.freeze())), (rows, held, true)));
                    }
                }
            }
        },
    );
    let mut response = CopyResponse::new(1, columns, futures::stream::empty());
    *response.data_stream() = Box::pin(data);
    Ok(Response::CopyOut(response))
}

fn csv_quote(value: &str, format: &CopyFormat) -> String {
    if value.contains(format.delimiter)
        || value.contains(format.quote)
        || value.contains('\n')
        || value.contains('\r')
    {
        let q = format.quote.to_string();
        format!(
            "{q}{}{q}",
            value.replace(&q, &format!("{}{q}", format.escape))
        )
    } else {
        value.to_string()
    }
}

fn copy_format(options: &[CopyOption], legacy: &[CopyLegacyOption]) -> PgWireResult<CopyFormat> {
    let mut csv = false;
    for o in options {
        if let CopyOption::Format(f) = o {
            match f.value.to_ascii_lowercase().as_str() {
                "csv" => csv = true,
                "text" => csv = false,
                "binary" => {
                    return Err(error(
                        sqlstate::NOT_SUPPORTED,
                        "COPY in binary format is not supported: use text or csv",
                    ));
                }
                other => {
                    return Err(error(
                        sqlstate::INVALID_PARAMETER,
                        format!("COPY format \"{other}\" not recognized"),
                    ));
                }
            }
        }
    }
    for o in legacy {
        match o {
            CopyLegacyOption::Csv(_) => csv = true,
            CopyLegacyOption::Binary => {
                return Err(error(
                    sqlstate::NOT_SUPPORTED,
                    "COPY in binary format is not supported: use text or csv",
                ));
            }
            _ => {}
        }
    }
    let mut format = CopyFormat::new(csv);
    for o in options {
        match o {
            CopyOption::Delimiter(c) => format.delimiter = *c,
            CopyOption::Null(s) => format.null = s.clone(),
            CopyOption::Header(h) => format.header = *h,
            CopyOption::Quote(c) => format.quote = *c,
            CopyOption::Escape(c) => format.escape = *c,
            CopyOption::Format(_) => {}
            other => {
                return Err(error(
                    sqlstate::NOT_SUPPORTED,
                    format!("COPY option {other} is not supported"),
                ));
            }
        }
    }
    for o in legacy {
        match o {
            CopyLegacyOption::Delimiter(c) => format.delimiter = *c,
            CopyLegacyOption::Null(s) => format.null = s.clone(),
            CopyLegacyOption::Header => format.header = true,
            CopyLegacyOption::Csv(more) => {
                for m in more {
                    match m {
                        CopyLegacyCsvOption::Header => format.header = true,
                        CopyLegacyCsvOption::Quote(c) => format.quote = *c,
                        CopyLegacyCsvOption::Escape(c) => format.escape = *c,
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    if format.header && !format.csv {
        return Err(error(
            sqlstate::NOT_SUPPORTED,
            "COPY HEADER is available only in CSV mode",
        ));
    }
    Ok(format)
}

#[async_trait]
impl QueryHook for CopyHook {
    async fn handle_simple_query(
        &self,
        statement: &Statement,
        session_context: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        self.start(statement, session_context, client).await
    }

    async fn handle_extended_parse_query(
        &self,
        statement: &Statement,
        _session_context: &SessionContext,
        _client: &(dyn ClientInfo + Send + Sync),
    ) -> Option<PgWireResult<LogicalPlan>> {
        match statement {
            Statement::Copy {
                target: CopyTarget::File { .. } | CopyTarget::Program { .. },
                ..
            } => Some(Err(error(
                sqlstate::INSUFFICIENT_PRIVILEGE,
                "COPY to or from a server-side file or program is not allowed",
            ))),
            // Described as returning no rows; started at Execute.
            Statement::Copy {
                target: CopyTarget::Stdin | CopyTarget::Stdout,
                ..
            } => Some(Ok(sqlstate::no_rows_plan())),
            _ => None,
        }
    }

    async fn handle_extended_query(
        &self,
        statement: &Statement,
        _logical_plan: &LogicalPlan,
        _params: &ParamValues,
        session_context: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        self.start(statement, session_context, client).await
    }
}

/// pgwire's COPY data callbacks: gathers the data of the connection's
/// pending COPY and writes it on CopyDone.
pub struct CopyIn {
    ingest: Option<Arc<Ingest>>,
}

impl CopyIn {
    /// Writes through `ingest`.
    pub fn new(ingest: Option<Arc<Ingest>>) -> Self {
        CopyIn { ingest }
    }
}

#[async_trait]
impl CopyHandler for CopyIn {
    async fn on_copy_data<C>(&self, client: &mut C, copy_data: CopyData) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let limit = self
            .ingest
            .as_ref()
            .map_or(0, |i| i.config().max_request_bytes);
        let slot = slot(client);
        let mut pending = slot.0.lock().unwrap_or_else(|p| p.into_inner());
        let Some(copy) = pending.as_mut() else {
            return Err(error("08P01", "CopyData without a COPY FROM STDIN"));
        };
        if copy.data.len() + copy_data.data.len() > limit {
            let name = copy.target.name.clone();
            *pending = None;
            return Err(ingest_error(&IngestError::TooLarge(format!(
                "COPY into {name} of more than {} MiB: split the data into several COPY statements",
                limit / (1024 * 1024)
            ))));
        }
        copy.data.extend_from_slice(&copy_data.data);
        Ok(())
    }

    async fn on_copy_done<C>(&self, client: &mut C, _done: CopyDone) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let copy =
            take(client).ok_or_else(|| error("08P01", "CopyDone without a COPY FROM STDIN"))?;
        let ingest = self
            .ingest
            .clone()
            .ok_or_else(|| error(sqlstate::NOT_SUPPORTED, "this server takes no writes"))?;
        let PendingCopy {
            schema,
            table,
            target,
            columns,
            format,
            key,
            transaction,
            data,
        } = copy;
        let parsed = tokio::task::spawn_blocking(move || {
            convert::copy(&target.schema, &columns, &format, &data)
        })
        .await
        .map_err(|e| error(sqlstate::INTERNAL, e.to_string()))?;
        let batch = parsed.map_err(|e| ingest_error(&e))?;
        let rows = if batch.num_rows() == 0 {
            0
        } else if let Some(transaction) = transaction {
            let rows = batch.num_rows() as u64;
            let limit = ingest.config().max_request_bytes;
            transaction
                .push(
                    laketap_engine::asof::BufferedWrite {
                        schema,
                        table,
                        batch,
                        key,
                    },
                    limit,
                )
                .map_err(|bytes| {
                    ingest_error(&IngestError::TooLarge(
                        laketap_ingest::sink::transaction_too_large(bytes, limit),
                    ))
                })?;
            rows
        } else {
            let (ack, _) = ingest
                .append(&schema, &table, batch, key)
                .await
                .map_err(|e| ingest_error(&e))?;
            ack.rows
        };
        client
            .send(PgWireBackendMessage::CommandComplete(
                Tag::new("COPY").with_rows(rows as usize).into(),
            ))
            .await?;
        Ok(())
    }

    async fn on_copy_fail<C>(&self, client: &mut C, fail: CopyFail) -> PgWireError
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        take(client);
        error(
            sqlstate::QUERY_CANCELED,
            format!("COPY from stdin failed: {}", fail.message),
        )
    }
}
