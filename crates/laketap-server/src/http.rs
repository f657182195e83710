//! The HTTP endpoint: `GET /health`, `GET /metrics` (Prometheus text: tables,
//! Delta versions, ingest counters per table) and `POST /v1/ingest/{schema}/{table}`
//! (an NDJSON body, appended durably to a Delta table; see laketap-ingest).
//!
//! Ingest answers 200 with `{"table", "rows", "seq", "duplicate"}` once the
//! rows are on disk in the table's write-ahead log; a request repeated with
//! the same `Idempotency-Key` header answers as the first time did, with
//! `"duplicate": true`, and changes nothing. Errors answer
//! `{"error", "sqlstate", "line", "column"}`: 400 bad input (nothing of the
//! request is applied), 404 no such table, 409 not writable, 413 body over
//! the limit, 503 commits behind or shutting down.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use laketap_engine::Engine;
use laketap_ingest::{Error as IngestError, Ingest, convert};
use serde_json::{Value, json};

#[derive(Clone)]
struct AppState {
    engine: Arc<Engine>,
    ingest: Option<Arc<Ingest>>,
    auth: Arc<crate::auth::Auth>,
}

/// The router of the HTTP endpoint; without `ingest`, the ingest route
/// answers 409 (this server takes no writes). With users configured, ingest
/// takes HTTP Basic credentials of a user whose roles grant writes to the
/// schema (401 without or with wrong ones, 403 without the grant).
pub fn router(
    engine: Arc<Engine>,
    ingest: Option<Arc<Ingest>>,
    auth: Arc<crate::auth::Auth>,
) -> Router {
    let limit = ingest
        .as_ref()
        .map_or(1024 * 1024, |i| i.config().max_request_bytes);
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route(
            "/v1/ingest/{schema}/{table}",
            post(ingest_ndjson).layer(DefaultBodyLimit::max(limit)),
        )
        .with_state(AppState {
            engine,
            ingest,
            auth,
        })
}

async fn health(State(state): State<AppState>) -> Json<Value> {
    let lake = state.engine.lake();
    Json(json!({
        "status": "ok",
        "tables": lake.tables().len(),
        "catalog_errors": lake.problems().len(),
    }))
}

/// A metric: name, type, help, and its value in a writer's status.
type Series = (
    &'static str,
    &'static str,
    &'static str,
    fn(&laketap_ingest::WriterStatus) -> u64,
);

/// Prometheus text exposition: the lake's tables and each table's ingest.
async fn metrics(State(state): State<AppState>) -> Response {
    use std::fmt::Write as _;
    let lake = state.engine.lake();
    let mut out = String::new();
    let tables = lake.tables();
    let _ = writeln!(out, "# HELP laketap_tables Tables served from the catalog.");
    let _ = writeln!(out, "# TYPE laketap_tables gauge");
    let _ = writeln!(out, "laketap_tables {}", tables.len());
    let _ = writeln!(
        out,
        "# HELP laketap_catalog_errors Catalog problems listed in laketap.catalog_errors."
    );
    let _ = writeln!(out, "# TYPE laketap_catalog_errors gauge");
    let _ = writeln!(out, "laketap_catalog_errors {}", lake.problems().len());
    let _ = writeln!(
        out,
        "# HELP laketap_memory_reserved_bytes Memory held by running queries in the server's pool."
    );
    let _ = writeln!(out, "# TYPE laketap_memory_reserved_bytes gauge");
    let _ = writeln!(
        out,
        "laketap_memory_reserved_bytes {}",
        state.engine.context().runtime_env().memory_pool.reserved()
    );
    let _ = writeln!(
        out,
        "# HELP laketap_table_version The Delta version served."
    );
    let _ = writeln!(out, "# TYPE laketap_table_version gauge");
    for t in &tables {
        if let Some(v) = t.status().version {
            let i = t.info();
            let _ = writeln!(
                out,
                "laketap_table_version{{schema=\"{}\",table=\"{}\"}} {v}",
                i.schema, i.name
            );
        }
    }
    if let Some(ingest) = &state.ingest {
        let status = ingest.status().await;
        let series: [Series; 7] = [
            (
                "laketap_ingest_acked_writes_total",
                "counter",
                "Writes acknowledged (durable in the log).",
                |s| s.acked_writes,
            ),
            (
                "laketap_ingest_acked_rows_total",
                "counter",
                "Rows acknowledged.",
                |s| s.acked_rows,
            ),
            (
                "laketap_ingest_duplicate_writes_total",
                "counter",
                "Writes answered from their idempotency key.",
                |s| s.duplicate_writes,
            ),
            (
                "laketap_ingest_pending_rows",
                "gauge",
                "Rows acknowledged and not yet committed.",
                |s| s.pending_rows,
            ),
            (
                "laketap_ingest_commits_total",
                "counter",
                "Delta commits made by ingest.",
                |s| s.commits,
            ),
            (
                "laketap_ingest_compactions_total",
                "counter",
                "Compactions finished.",
                |s| s.compactions,
            ),
            (
                "laketap_ingest_last_commit_milliseconds",
                "gauge",
                "Duration of the last commit.",
                |s| s.last_commit_ms.unwrap_or(0),
            ),
        ];
        for (name, kind, help, value) in series {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            for (schema, table, s) in &status {
                let _ = writeln!(
                    out,
                    "{name}{{schema=\"{schema}\",table=\"{table}\"}} {}",
                    value(s)
                );
            }
        }
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        out,
    )
        .into_response()
}

fn failure(e: &IngestError) -> Response {
    let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let (line, column) = match e {
        IngestError::BadInput { line, column, .. } => (*line, column.clone()),
        IngestError::NotNull { line, column, .. } => (*line, Some(column.clone())),
        _ => (None, None),
    };
    (
        status,
        Json(json!({
            "error": e.to_string(),
            "sqlstate": e.sqlstate(),
            "line": line,
            "column": column,
        })),
    )
        .into_response()
}

async fn ingest_ndjson(
    State(state): State<AppState>,
    Path((schema, table)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    // Credentials and grants first: the body of a request that will be
    // refused is never read.
    let authorization = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match state.auth.http_user(authorization) {
        Err(message) => {
            return (
                StatusCode::UNAUTHORIZED,
                [(
                    axum::http::header::WWW_AUTHENTICATE,
                    "Basic realm=\"laketap\"",
                )],
                Json(json!({"error": message, "sqlstate": "28P01"})),
            )
                .into_response();
        }
        Ok((user, access)) if !access.can_write(&schema) => {
            tracing::info!(user, schema, table, "HTTP ingest refused: no write grant");
            return (
                StatusCode::FORBIDDEN,
                Json(json!({
                    "error": format!("permission denied for table {schema}.{table}: role \"{user}\" is not granted writes to schema {schema}"),
                    "sqlstate": "42501",
                })),
            )
                .into_response();
        }
        Ok(_) => {}
    }
    let limit = state
        .ingest
        .as_ref()
        .map_or(1024 * 1024, |i| i.config().max_request_bytes);
    let body: Bytes = match axum::body::to_bytes(body, limit).await {
        Ok(body) => body,
        Err(e) => {
            // http-body-util's LengthLimitError, through axum's error.
            let too_large = e.to_string().contains("length limit");
            let e = if too_large {
                IngestError::TooLarge(format!(
                    "the body is over the limit of {} MiB (max_request_mb): send smaller requests",
                    limit / (1024 * 1024)
                ))
            } else {
                IngestError::BadInput {
                    line: None,
                    column: None,
                    message: format!("cannot read the body: {e}"),
                }
            };
            return failure(&e);
        }
    };
    let Some(ingest) = state.ingest else {
        return failure(&IngestError::NotWritable {
            table: format!("{schema}.{table}"),
            reason: "this server takes no writes".to_string(),
        });
    };
    let key = match headers.get("idempotency-key").map(|v| v.to_str()) {
        None => None,
        Some(Ok(k)) if !k.is_empty() && k.len() <= 200 => Some(k.to_string()),
        Some(_) => {
            return failure(&IngestError::BadInput {
                line: None,
                column: None,
                message: "the Idempotency-Key header must be 1 to 200 visible ASCII characters"
                    .to_string(),
            });
        }
    };
    let target = match ingest.target(&schema, &table).await {
        Ok(t) => t,
        Err(e) => return failure(&e),
    };
    let parsed = tokio::task::spawn_blocking(move || convert::ndjson(&target.schema, &body)).await;
    let batch = match parsed {
        Ok(Ok(batch)) => batch,
        Ok(Err(e)) => return failure(&e),
        Err(e) => return failure(&IngestError::Internal(e.to_string())),
    };
    match ingest.append(&schema, &table, batch, key).await {
        Ok((ack, duplicate)) => Json(json!({
            "table": format!("{schema}.{table}"),
            "rows": ack.rows,
            "seq": ack.seq,
            "duplicate": duplicate,
        }))
        .into_response(),
        Err(e) => {
            tracing::warn!(schema, table, error = %e, "ingest refused");
            failure(&e)
        }
    }
}
