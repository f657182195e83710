//! `SAVEPOINT`, `RELEASE [SAVEPOINT]` and `ROLLBACK TO [SAVEPOINT]`, which
//! drivers send on their own (SQLAlchemy's psycopg dialect, nested
//! `transaction()` blocks in psycopg and asyncpg, pgjdbc's `setSavepoint`),
//! and PostgreSQL's answer to a statement in a failed transaction (25P02).
//!
//! laketap's statements read the lake and change nothing, so a savepoint has
//! nothing to undo: this hook keeps the names of the transaction's savepoints
//! (per connection) so that RELEASE and ROLLBACK TO answer as PostgreSQL
//! does — 25P01 outside a transaction block, 3B001 for an unknown name. It
//! runs before datafusion-postgres's transaction hook, which took `ROLLBACK
//! TO` for a full ROLLBACK and refused SAVEPOINT.

use async_trait::async_trait;
use datafusion::common::ParamValues;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::Statement;
use datafusion_postgres::QueryHook;
use datafusion_postgres::hooks::HookClient;
use pgwire::api::ClientInfo;
use pgwire::api::results::{Response, Tag};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::response::TransactionStatus;

use crate::sqlstate::{self, error};

/// Where a connection keeps its savepoint names (newest last).
const SAVEPOINTS_KEY: &str = "laketap.savepoints";

/// active_sql_transaction-less use: no_active_sql_transaction.
const NO_ACTIVE_TRANSACTION: &str = "25P01";
/// in_failed_sql_transaction.
const IN_FAILED_TRANSACTION: &str = "25P02";
/// invalid_savepoint_specification.
const INVALID_SAVEPOINT: &str = "3B001";

fn failed() -> PgWireError {
    error(
        IN_FAILED_TRANSACTION,
        "current transaction is aborted, commands ignored until end of transaction block"
            .to_string(),
    )
}

fn names(client: &(dyn ClientInfo + Send + Sync)) -> Vec<String> {
    client
        .metadata()
        .get(SAVEPOINTS_KEY)
        .map(|list| {
            list.split('\u{1f}')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn store(client: &mut dyn HookClient, names: &[String]) {
    if names.is_empty() {
        client.metadata_mut().remove(SAVEPOINTS_KEY);
    } else {
        client
            .metadata_mut()
            .insert(SAVEPOINTS_KEY.to_string(), names.join("\u{1f}"));
    }
}

/// Whether this hook answers `statement` (or must see it).
fn concerns(statement: &Statement) -> bool {
    matches!(
        statement,
        Statement::Savepoint { .. }
            | Statement::ReleaseSavepoint { .. }
            | Statement::Rollback {
                savepoint: Some(_),
                ..
            }
    )
}

fn answer(statement: &Statement, client: &mut dyn HookClient) -> Option<PgWireResult<Response>> {
    let status = client.transaction_status();
    match statement {
        Statement::Savepoint { name } => Some(match status {
            TransactionStatus::Idle => Err(error(
                NO_ACTIVE_TRANSACTION,
                "SAVEPOINT can only be used in transaction blocks".to_string(),
            )),
            TransactionStatus::Error => Err(failed()),
            TransactionStatus::Transaction => {
                let mut list = names(client);
                list.push(name.value.clone());
                store(client, &list);
                Ok(Response::Execution(Tag::new("SAVEPOINT")))
            }
        }),
        Statement::ReleaseSavepoint { name } => Some(match status {
            TransactionStatus::Idle => Err(error(
                NO_ACTIVE_TRANSACTION,
                "RELEASE SAVEPOINT can only be used in transaction blocks".to_string(),
            )),
            TransactionStatus::Error => Err(failed()),
            TransactionStatus::Transaction => {
                let mut list = names(client);
                match list.iter().rposition(|n| n == &name.value) {
                    Some(at) => {
                        list.truncate(at);
                        store(client, &list);
                        Ok(Response::Execution(Tag::new("RELEASE")))
                    }
                    None => Err(error(
                        INVALID_SAVEPOINT,
                        format!("savepoint \"{}\" does not exist", name.value),
                    )),
                }
            }
        }),
        Statement::Rollback {
            savepoint: Some(name),
            ..
        } => Some(match status {
            TransactionStatus::Idle => Err(error(
                NO_ACTIVE_TRANSACTION,
                "ROLLBACK TO SAVEPOINT can only be used in transaction blocks".to_string(),
            )),
            // PostgreSQL resumes the failed block at the savepoint. pgwire
            // would keep it failed: the connection loop and its output
            // filter resume it (laketap_wire::Resume).
            TransactionStatus::Error => {
                let resume = client
                    .session_extensions()
                    .get::<std::sync::Arc<laketap_wire::Resume>>();
                let mut list = names(client);
                match (resume, list.iter().rposition(|n| n == &name.value)) {
                    (Some(resume), Some(at)) => {
                        list.truncate(at + 1);
                        store(client, &list);
                        resume.request();
                        Ok(Response::Execution(Tag::new("ROLLBACK")))
                    }
                    (None, _) => Err(error(
                        sqlstate::NOT_SUPPORTED,
                        "ROLLBACK TO SAVEPOINT after an error is not supported here: ROLLBACK the transaction"
                            .to_string(),
                    )),
                    (Some(_), None) => Err(error(
                        INVALID_SAVEPOINT,
                        format!("savepoint \"{}\" does not exist", name.value),
                    )),
                }
            }
            TransactionStatus::Transaction => {
                let mut list = names(client);
                match list.iter().rposition(|n| n == &name.value) {
                    Some(at) => {
                        // The savepoint stays; the ones after it go.
                        list.truncate(at + 1);
                        store(client, &list);
                        Ok(Response::Execution(Tag::new("ROLLBACK")))
                    }
                    None => Err(error(
                        INVALID_SAVEPOINT,
                        format!("savepoint \"{}\" does not exist", name.value),
                    )),
                }
            }
        }),
        // A transaction's start or end forgets its savepoints; the next hook answers.
        Statement::StartTransaction { .. }
        | Statement::Commit { .. }
        | Statement::Rollback { .. } => {
            store(client, &[]);
            None
        }
        // In a failed transaction everything else is refused, as PostgreSQL does.
        _ if status == TransactionStatus::Error => Some(Err(failed())),
        _ => None,
    }
}

/// The savepoint hook; it runs before datafusion-postgres's transaction hook.
#[derive(Debug)]
pub struct SavepointHook;

#[async_trait]
impl QueryHook for SavepointHook {
    async fn handle_simple_query(
        &self,
        statement: &Statement,
        _session_context: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        answer(statement, client)
    }

    async fn handle_extended_parse_query(
        &self,
        statement: &Statement,
        _session_context: &SessionContext,
        _client: &(dyn ClientInfo + Send + Sync),
    ) -> Option<PgWireResult<LogicalPlan>> {
        concerns(statement).then(|| Ok(sqlstate::no_rows_plan()))
    }

    async fn handle_extended_query(
        &self,
        statement: &Statement,
        _logical_plan: &LogicalPlan,
        _params: &ParamValues,
        _session_context: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        answer(statement, client)
    }
}
