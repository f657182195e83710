//! The HTTP endpoint: `GET /health` (more routes — metrics, ingest — join
//! this router).

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use laketap_engine::Engine;
use serde_json::{Value, json};

/// The router of the HTTP endpoint.
pub fn router(engine: Arc<Engine>) -> Router {
    Router::new()
        .route("/health", get(health))
        .with_state(engine)
}

async fn health(State(engine): State<Arc<Engine>>) -> Json<Value> {
    let lake = engine.lake();
    Json(json!({
        "status": "ok",
        "tables": lake.tables().len(),
        "catalog_errors": lake.problems().len(),
    }))
}
