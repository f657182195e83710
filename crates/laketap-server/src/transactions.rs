//! Writes inside a transaction block: `BEGIN` opens a write buffer in the
//! session; INSERT and COPY FROM STDIN check their rows and hold them there;
//! `COMMIT` applies them (durably, before answering COMMIT) and `ROLLBACK`
//! (or a failed transaction, or a closed connection) drops them. Outside a
//! transaction block every write applies at once, as in PostgreSQL's
//! autocommit. This hook runs before the savepoint and transaction hooks,
//! which answer the statements themselves.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::common::ParamValues;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::Statement;
use datafusion_postgres::QueryHook;
use datafusion_postgres::hooks::HookClient;
use laketap_engine::asof::{self, TxWrites};
use laketap_ingest::Ingest;
use pgwire::api::ClientInfo;
use pgwire::api::results::Response;
use pgwire::error::PgWireResult;
use pgwire::messages::response::TransactionStatus;

use crate::sqlstate::{self, error};

/// The hook that opens, applies and drops a transaction's writes.
pub struct TransactionWrites {
    ingest: Option<Arc<Ingest>>,
}

impl TransactionWrites {
    /// Applies COMMITted writes through `ingest`.
    pub fn new(ingest: Option<Arc<Ingest>>) -> Self {
        TransactionWrites { ingest }
    }

    async fn on(
        &self,
        statement: &Statement,
        ctx: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        match statement {
            Statement::StartTransaction { .. } => {
                if client.transaction_status() == TransactionStatus::Idle {
                    asof::set_transaction(ctx, Some(Arc::new(TxWrites::default())));
                }
                None
            }
            Statement::Commit { chain, .. } => {
                // COMMIT AND CHAIN opens the next block at once.
                let next = chain.then(|| Arc::new(TxWrites::default()));
                let held = asof::set_transaction(ctx, next);
                let writes = held.map(|t| t.take()).unwrap_or_default();
                if writes.is_empty()
                    || client.transaction_status() != TransactionStatus::Transaction
                {
                    return None;
                }
                let Some(ingest) = &self.ingest else {
                    return Some(Err(error(
                        sqlstate::NOT_SUPPORTED,
                        "this server takes no writes".to_string(),
                    )));
                };
                match ingest.apply_transaction(writes).await {
                    Ok(_) => None,
                    Err(e) => Some(Err(error(e.sqlstate(), e.to_string()))),
                }
            }
            Statement::Rollback {
                savepoint: Some(name),
                ..
            } => {
                let pending = asof::transaction(ctx.state_ref().read().config().options())
                    .is_some_and(|t| !t.is_empty());
                pending.then(|| {
                    Err(error(
                        sqlstate::NOT_SUPPORTED,
                        format!(
                            "ROLLBACK TO SAVEPOINT {name} after INSERT or COPY is not supported: ROLLBACK the whole transaction"
                        ),
                    ))
                })
            }
            Statement::Rollback { chain, .. } => {
                asof::set_transaction(ctx, chain.then(|| Arc::new(TxWrites::default())));
                None
            }
            _ => None,
        }
    }
}

#[async_trait]
impl QueryHook for TransactionWrites {
    async fn handle_simple_query(
        &self,
        statement: &Statement,
        session_context: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        self.on(statement, session_context, client).await
    }

    async fn handle_extended_parse_query(
        &self,
        _statement: &Statement,
        _session_context: &SessionContext,
        _client: &(dyn ClientInfo + Send + Sync),
    ) -> Option<PgWireResult<LogicalPlan>> {
        None
    }

    async fn handle_extended_query(
        &self,
        statement: &Statement,
        _logical_plan: &LogicalPlan,
        _params: &ParamValues,
        session_context: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        self.on(statement, session_context, client).await
    }
}
