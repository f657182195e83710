//! What a connection may read and write, enforced where the engine looks
//! things up rather than by reading SQL text:
//!
//! - Each connection's session sees the catalogs through [`FilteredCatalogList`]:
//!   schemas the user may not read are missing from `information_schema`,
//!   `pg_catalog` and `SHOW TABLES`, and naming a table in one fails with
//!   42501 at planning, wherever the name appears (a join, a subquery, a CTE,
//!   a cursor, COPY (query) TO STDOUT, EXPLAIN).
//! - `pg_catalog`'s relation tables are filtered to the readable schemas.
//! - The time-travel table functions check the schema of the table they name.
//! - [`StatementGate`] lets a non-admin run only queries, writes its roles grant,
//!   and session statements; DDL and everything else is refused with 42501.
//! - [`WriteGate`], an analyzer rule, checks the target of every INSERT plan.
//!
//! The KPI views were planned by the server over the whole lake, so a user
//! who may read `kpi` reads the views without reading the tables beneath
//! them: a view is the grant, as in PostgreSQL.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::catalog::{
    CatalogProvider, CatalogProviderList, SchemaProvider, TableFunctionArgs, TableFunctionImpl,
    TableProvider,
};
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::common::{ParamValues, ScalarValue};
use datafusion::config::ConfigOptions;
use datafusion::datasource::provider_as_source;
use datafusion::datasource::view::ViewTable;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::expr_fn::in_subquery;
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder, WriteOp, col, lit};
use datafusion::optimizer::AnalyzerRule;
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::{
    CopySource, CopyTarget, ObjectName, Query, Reset, Set, SetExpr, Statement,
};
use datafusion_postgres::QueryHook;
use datafusion_postgres::hooks::HookClient;
use pgwire::api::ClientInfo;
use pgwire::api::results::Response;
use pgwire::error::{PgWireError, PgWireResult};

use crate::auth::{Auth, SessionUser};
use crate::sqlstate;

/// A refused read, write or statement (42501).
#[derive(Debug)]
pub struct PermissionDenied(pub String);

impl fmt::Display for PermissionDenied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PermissionDenied {}

/// Is `e` (or what it wraps) a [`PermissionDenied`]?
pub fn is_denied(e: &DataFusionError) -> bool {
    match e {
        DataFusionError::External(inner) => inner.is::<PermissionDenied>(),
        DataFusionError::Context(_, inner) | DataFusionError::Diagnostic(_, inner) => {
            is_denied(inner)
        }
        DataFusionError::Shared(inner) => is_denied(inner),
        _ => false,
    }
}

pub(crate) fn denied(message: String) -> DataFusionError {
    DataFusionError::External(Box::new(PermissionDenied(message)))
}

/// Schemas every user may read: the catalogs clients introspect (filtered
/// to what the user may read) and the empty default schema.
pub const ALWAYS_READABLE: &[&str] = &["pg_catalog", "information_schema", "public"];

/// What one user may do, from the union of its roles.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    /// DDL, every schema, server settings.
    pub admin: bool,
    /// Schemas it may read (`*`: all).
    pub read: BTreeSet<String>,
    /// Schemas it may write into (INSERT, COPY FROM STDIN, HTTP ingest; `*`: all).
    pub write: BTreeSet<String>,
}

impl Access {
    /// Everything (the no-users default user, and roles with `admin = true`).
    pub fn admin() -> Access {
        Access {
            admin: true,
            ..Access::default()
        }
    }

    /// May read tables of `schema`.
    pub fn can_read(&self, schema: &str) -> bool {
        self.admin
            || ALWAYS_READABLE.contains(&schema)
            || self.read.contains(schema)
            || self.read.contains("*")
    }

    /// May write into tables of `schema`.
    pub fn can_write(&self, schema: &str) -> bool {
        self.admin || self.write.contains(schema) || self.write.contains("*")
    }

    /// The readable schemas, for messages.
    fn readable(&self) -> String {
        if self.admin || self.read.contains("*") {
            return "every schema".to_string();
        }
        let list: Vec<&str> = self.read.iter().map(String::as_str).collect();
        if list.is_empty() {
            "no schema".to_string()
        } else {
            list.join(", ")
        }
    }
}

/// The user of one connection, whose access is looked up at each use, so
/// that a reloaded configuration applies to open sessions too.
#[derive(Clone)]
pub struct Who {
    auth: Arc<Auth>,
    user: String,
}

impl fmt::Debug for Who {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Who({})", self.user)
    }
}

impl Who {
    /// The connection of `user`.
    pub fn new(auth: Arc<Auth>, user: String) -> Who {
        Who { auth, user }
    }

    /// The user's access now.
    pub fn access(&self) -> Arc<Access> {
        self.auth.access_of(&self.user)
    }

    /// The user name.
    pub fn user(&self) -> &str {
        &self.user
    }

    fn read_error(&self, schema: &str, table: Option<&str>) -> DataFusionError {
        let access = self.access();
        let object = match table {
            Some(t) => format!("table {schema}.{t}"),
            None => format!("schema {schema}"),
        };
        denied(format!(
            "permission denied for {object}: role \"{}\" may read {}",
            self.user,
            access.readable()
        ))
    }

    /// 42501 unless the user may write into `schema`.
    pub fn check_write(&self, schema: &str, table: &str) -> DfResult<()> {
        if self.access().can_write(schema) {
            Ok(())
        } else {
            Err(denied(format!(
                "permission denied for table {schema}.{table}: role \"{}\" is not granted writes to schema {schema}",
                self.user
            )))
        }
    }
}

/// The server's catalogs as one user sees them.
#[derive(Debug)]
pub struct FilteredCatalogList {
    inner: Arc<dyn CatalogProviderList>,
    who: Who,
}

impl FilteredCatalogList {
    /// `inner` as `who` sees it.
    pub fn new(inner: Arc<dyn CatalogProviderList>, who: Who) -> Self {
        FilteredCatalogList { inner, who }
    }
}

impl CatalogProviderList for FilteredCatalogList {
    fn register_catalog(
        &self,
        name: String,
        catalog: Arc<dyn CatalogProvider>,
    ) -> Option<Arc<dyn CatalogProvider>> {
        self.inner.register_catalog(name, catalog)
    }

    fn catalog_names(&self) -> Vec<String> {
        self.inner.catalog_names()
    }

    fn catalog(&self, name: &str) -> Option<Arc<dyn CatalogProvider>> {
        self.inner.catalog(name).map(|inner| {
            Arc::new(FilteredCatalog {
                inner,
                who: self.who.clone(),
            }) as Arc<dyn CatalogProvider>
        })
    }
}

#[derive(Debug)]
struct FilteredCatalog {
    inner: Arc<dyn CatalogProvider>,
    who: Who,
}

impl CatalogProvider for FilteredCatalog {
    fn schema_names(&self) -> Vec<String> {
        let access = self.who.access();
        self.inner
            .schema_names()
            .into_iter()
            .filter(|s| access.can_read(s))
            .collect()
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        let inner = self.inner.schema(name)?;
        let access = self.who.access();
        if !access.can_read(name) {
            return Some(Arc::new(DeniedSchema {
                name: name.to_string(),
                who: self.who.clone(),
            }));
        }
        if name == "pg_catalog" && !access.admin {
            return Some(Arc::new(FilteredPgCatalog {
                inner,
                readable: self.schema_names(),
                user: self.who.user().to_string(),
            }));
        }
        Some(inner)
    }

    fn register_schema(
        &self,
        name: &str,
        schema: Arc<dyn SchemaProvider>,
    ) -> DfResult<Option<Arc<dyn SchemaProvider>>> {
        self.inner.register_schema(name, schema)
    }

    fn deregister_schema(
        &self,
        name: &str,
        cascade: bool,
    ) -> DfResult<Option<Arc<dyn SchemaProvider>>> {
        self.inner.deregister_schema(name, cascade)
    }
}

/// A schema the user may not read: empty when listed, 42501 when named.
#[derive(Debug)]
struct DeniedSchema {
    name: String,
    who: Who,
}

#[async_trait]
impl SchemaProvider for DeniedSchema {
    fn table_names(&self) -> Vec<String> {
        Vec::new()
    }

    async fn table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        Err(self.who.read_error(&self.name, Some(name)))
    }

    fn table_exist(&self, _name: &str) -> bool {
        false
    }
}

/// `pg_catalog` with its relation tables cut down to the readable schemas,
/// and other users' sessions in `pg_stat_activity` and `pg_stat_ssl` shown as
/// PostgreSQL shows them to a user without `pg_read_all_stats`.
#[derive(Debug)]
struct FilteredPgCatalog {
    inner: Arc<dyn SchemaProvider>,
    readable: Vec<String>,
    /// The user reading.
    user: String,
}

/// The `pg_stat_activity` columns another user's session shows: the rest
/// are NULL, and `query` is `<insufficient privilege>` (PostgreSQL's
/// `pg_stat_get_activity` without the permission).
const ACTIVITY_SHOWN_TO_ALL: &[&str] = &[
    "datid",
    "datname",
    "pid",
    "leader_pid",
    "usesysid",
    "usename",
    "application_name",
];

impl FilteredPgCatalog {
    fn schemas(&self) -> Vec<Expr> {
        self.readable.iter().map(|s| lit(s.clone())).collect()
    }

    async fn source(&self, name: &str) -> DfResult<LogicalPlanBuilder> {
        let table =
            self.inner.table(name).await?.ok_or_else(|| {
                DataFusionError::Internal(format!("pg_catalog.{name} is missing"))
            })?;
        LogicalPlanBuilder::scan(name, provider_as_source(table), None)
    }

    /// The OIDs of the readable schemas.
    async fn namespaces(&self) -> DfResult<LogicalPlan> {
        self.source("pg_namespace")
            .await?
            .filter(col("nspname").in_list(self.schemas(), false))?
            .project(vec![col("oid")])?
            .build()
    }

    /// The OIDs of the relations in readable schemas.
    async fn relations(&self) -> DfResult<LogicalPlan> {
        self.source("pg_class")
            .await?
            .filter(in_subquery(
                col("relnamespace"),
                Arc::new(self.namespaces().await?),
            ))?
            .project(vec![col("oid")])?
            .build()
    }

    async fn filtered(&self, name: &str) -> DfResult<Option<LogicalPlan>> {
        let plan = match name {
            "pg_namespace" => self
                .source(name)
                .await?
                .filter(col("nspname").in_list(self.schemas(), false))?,
            "pg_class" | "pg_type" => {
                let column = if name == "pg_class" {
                    "relnamespace"
                } else {
                    "typnamespace"
                };
                self.source(name)
                    .await?
                    .filter(in_subquery(col(column), Arc::new(self.namespaces().await?)))?
            }
            "pg_attribute" | "pg_attrdef" | "pg_constraint" | "pg_index" => {
                let column = match name {
                    "pg_attribute" => "attrelid",
                    "pg_attrdef" => "adrelid",
                    "pg_constraint" => "conrelid",
                    _ => "indrelid",
                };
                self.source(name)
                    .await?
                    .filter(in_subquery(col(column), Arc::new(self.relations().await?)))?
            }
            "pg_tables" | "pg_views" => self
                .source(name)
                .await?
                .filter(col("schemaname").in_list(self.schemas(), false))?,
            // A comment on a relation or column (classoid pg_class) or on a
            // schema (pg_namespace) shows when its schema is readable; the
            // built-in comments (functions, types, …) always show. Three
            // branches, as DataFusion decorrelates IN subqueries in
            // conjunctions only.
            "pg_description" => {
                let (pg_class, pg_namespace) = (lit(1259_i32), lit(2615_i32));
                let classoid = || col("classoid");
                self.source(name)
                    .await?
                    .filter(classoid().eq(pg_class.clone()).and(in_subquery(
                        col("objoid"),
                        Arc::new(self.relations().await?),
                    )))?
                    .union(
                        self.source(name)
                            .await?
                            .filter(classoid().eq(pg_namespace.clone()).and(in_subquery(
                                col("objoid"),
                                Arc::new(self.namespaces().await?),
                            )))?
                            .build()?,
                    )?
                    .union(
                        self.source(name)
                            .await?
                            .filter(
                                classoid()
                                    .not_eq(pg_class)
                                    .and(classoid().not_eq(pg_namespace)),
                            )?
                            .build()?,
                    )?
            }
            // PostgreSQL lists the sessions whose client_port the reader may
            // see: its own.
            "pg_stat_ssl" => {
                let own = self
                    .source("pg_stat_activity")
                    .await?
                    .filter(col("usename").eq(lit(self.user.clone())))?
                    .project(vec![col("pid")])?
                    .build()?;
                self.source(name)
                    .await?
                    .filter(in_subquery(col("pid"), Arc::new(own)))?
            }
            "pg_stat_activity" => {
                let source = self.source(name).await?;
                let own = col("usename").eq(lit(self.user.clone()));
                let columns: Vec<Expr> = source
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| {
                        let column = col(f.name().as_str());
                        let shown = if ACTIVITY_SHOWN_TO_ALL.contains(&f.name().as_str()) {
                            return Ok(column);
                        } else if f.name() == "query" {
                            datafusion::logical_expr::when(own.clone(), column)
                                .otherwise(lit("<insufficient privilege>"))?
                        } else {
                            datafusion::logical_expr::when(own.clone(), column).end()?
                        };
                        Ok(shown.alias_with_metadata(f.name(), Some(f.metadata().clone().into())))
                    })
                    .collect::<DfResult<_>>()?;
                source.project(columns)?
            }
            _ => return Ok(None),
        };
        Ok(Some(plan.build()?))
    }
}

#[async_trait]
impl SchemaProvider for FilteredPgCatalog {
    fn table_names(&self) -> Vec<String> {
        self.inner.table_names()
    }

    async fn table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        let lower = name.to_ascii_lowercase();
        match self.inner.table(&lower).await? {
            None => Ok(None),
            Some(table) => match self.filtered(&lower).await {
                Ok(Some(plan)) => Ok(Some(Arc::new(ViewTable::new(plan, None)))),
                Ok(None) => Ok(Some(table)),
                // A column this filter expects is missing: fail closed.
                Err(e) => Err(DataFusionError::Internal(format!(
                    "pg_catalog.{lower} cannot be filtered to the readable schemas: {e}"
                ))),
            },
        }
    }

    fn table_exist(&self, name: &str) -> bool {
        self.inner.table_exist(name)
    }
}

/// A table function that names a table in its first argument
/// (`table_at`, `table_history`), checked against the user's reads.
#[derive(Debug)]
pub struct GatedTableFunction {
    name: String,
    inner: Arc<dyn TableFunctionImpl>,
    who: Who,
}

impl GatedTableFunction {
    /// `inner` (registered as `name`) for `who`.
    pub fn new(name: &str, inner: Arc<dyn TableFunctionImpl>, who: Who) -> Self {
        GatedTableFunction {
            name: name.to_string(),
            inner,
            who,
        }
    }
}

impl TableFunctionImpl for GatedTableFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> DfResult<Arc<dyn TableProvider>> {
        if let Some(Expr::Literal(
            ScalarValue::Utf8(Some(name))
            | ScalarValue::Utf8View(Some(name))
            | ScalarValue::LargeUtf8(Some(name)),
            _,
        )) = args.exprs().first()
            && let Some((schema, table)) = name.split_once('.')
            && !self.who.access().can_read(schema)
        {
            tracing::debug!(function = %self.name, user = %self.who.user(), "table function refused");
            return Err(self.who.read_error(schema, Some(table)));
        }
        self.inner.call_with_args(args)
    }
}

/// Runs first among the analyzer rules, on every plan the session executes
/// (including under EXPLAIN ANALYZE, cursors and prepared statements):
/// refuses COPY to a file for everyone (the server writes no files for
/// clients), DDL for non-admins, and checks the target of every INSERT,
/// resolved with the session's catalog and schema, against the user's writes.
#[derive(Debug)]
pub struct PlanGate {
    who: Who,
}

impl PlanGate {
    /// The rule for `who`'s session.
    pub fn new(who: Who) -> Self {
        PlanGate { who }
    }

    fn check(&self, node: &LogicalPlan, config: &ConfigOptions) -> DfResult<()> {
        match node {
            LogicalPlan::Copy(copy) => Err(denied(format!(
                "COPY to a file ('{}') is not allowed: the server does not write files for clients; use COPY … TO STDOUT",
                copy.output_url
            ))),
            LogicalPlan::Ddl(ddl) if !self.who.access().admin => Err(denied(format!(
                "permission denied for {}: role \"{}\" is not an admin",
                ddl.name(),
                self.who.user()
            ))),
            LogicalPlan::Dml(dml) => {
                let target = dml.table_name.clone().resolve(
                    &config.catalog.default_catalog,
                    &config.catalog.default_schema,
                );
                let (schema, table) = (target.schema.as_ref(), target.table.as_ref());
                if target.catalog.as_ref() != config.catalog.default_catalog.as_str()
                    && !self.who.access().admin
                {
                    return Err(denied(format!(
                        "permission denied for table {}.{schema}.{table}: writes go to catalog {}",
                        target.catalog, config.catalog.default_catalog
                    )));
                }
                match dml.op {
                    WriteOp::Insert(_) | WriteOp::Ctas => self.who.check_write(schema, table),
                    _ => Err(denied(format!(
                        "permission denied for table {schema}.{table}: only INSERT writes into lake tables"
                    ))),
                }
            }
            _ => Ok(()),
        }
    }
}

impl AnalyzerRule for PlanGate {
    fn analyze(&self, plan: LogicalPlan, config: &ConfigOptions) -> DfResult<LogicalPlan> {
        let mut refused = None;
        plan.apply(|node| match self.check(node, config) {
            Ok(()) => Ok(TreeNodeRecursion::Continue),
            Err(e) => {
                refused = Some(e);
                Ok(TreeNodeRecursion::Stop)
            }
        })?;
        match refused {
            Some(e) => Err(e),
            None => Ok(plan),
        }
    }

    fn name(&self) -> &str {
        "laketap_plan_gate"
    }
}

/// Does `query` create a table (`SELECT … INTO`) or modify one (a data-modifying
/// CTE), anywhere in it?
fn query_writes(query: &Query) -> bool {
    fn body_writes(body: &SetExpr) -> bool {
        match body {
            SetExpr::Select(select) => select.into.is_some(),
            SetExpr::Query(query) => query_writes(query),
            SetExpr::SetOperation { left, right, .. } => body_writes(left) || body_writes(right),
            SetExpr::Insert(_) | SetExpr::Update(_) | SetExpr::Delete(_) | SetExpr::Merge(_) => {
                true
            }
            _ => false,
        }
    }
    body_writes(&query.body)
        || query
            .with
            .as_ref()
            .is_some_and(|with| with.cte_tables.iter().any(|cte| query_writes(&cte.query)))
}

/// `SELECT … INTO TEMPORARY`: DataFusion would create a table every session
/// sees, where `CREATE TEMPORARY TABLE` is refused (0A000); it is refused too.
fn selects_into_temporary(statement: &Statement) -> bool {
    fn into_temporary(body: &SetExpr) -> bool {
        match body {
            SetExpr::Select(select) => select.into.as_ref().is_some_and(|into| into.temporary),
            SetExpr::Query(query) => into_temporary(&query.body),
            SetExpr::SetOperation { left, right, .. } => {
                into_temporary(left) || into_temporary(right)
            }
            _ => false,
        }
    }
    match statement {
        Statement::Query(query) => into_temporary(&query.body),
        Statement::Explain { statement, .. } | Statement::Prepare { statement, .. } => {
            selects_into_temporary(statement)
        }
        _ => false,
    }
}

/// The engine settings (`datafusion.*`) a non-admin may change; the others
/// can replace the session's memory pool or disk manager, point the catalog
/// at a location, or raise batch sizes past the memory accounting.
const USER_ENGINE_SETTINGS: &[&str] = &[
    "datafusion.execution.time_zone",
    "datafusion.format.",
    "datafusion.explain.",
];

/// A setting only an admin may change (quotes and case do not matter):
/// every `datafusion.*` setting but [`USER_ENGINE_SETTINGS`].
fn admin_setting(name: &str) -> bool {
    let name = name.replace('"', "").to_lowercase();
    name.starts_with("datafusion.") && !USER_ENGINE_SETTINGS.iter().any(|p| name.starts_with(p))
}

fn statement_name(statement: &Statement) -> String {
    let text = statement.to_string();
    let words: Vec<&str> = text.split_whitespace().take(2).collect();
    let name = words.join(" ").to_uppercase();
    name.trim_end_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string()
}

fn object_schema(name: &ObjectName, default_schema: &str) -> (String, String) {
    let parts: Vec<String> = name
        .0
        .iter()
        .map(|p| match p.as_ident() {
            Some(ident) if ident.quote_style.is_some() => ident.value.clone(),
            Some(ident) => ident.value.to_lowercase(),
            None => p.to_string(),
        })
        .collect();
    match parts.as_slice() {
        [table] => (default_schema.to_string(), table.clone()),
        [.., schema, table] => (schema.clone(), table.clone()),
        [] => (default_schema.to_string(), String::new()),
    }
}

/// Why `who` may not run `statement` (None: it may; reads are checked
/// where tables are looked up, INSERT targets by [`WriteGate`]).
pub fn refusal(statement: &Statement, who: &Who, default_schema: &str) -> Option<String> {
    let access = who.access();
    if access.admin {
        return None;
    }
    let user = who.user();
    match statement {
        Statement::Query(query) if query_writes(query) => Some(format!(
            "permission denied for SELECT … INTO and data-modifying WITH: role \"{user}\" is not an admin"
        )),
        Statement::Declare { stmts }
            if stmts
                .iter()
                .any(|d| d.for_query.as_deref().is_some_and(query_writes)) =>
        {
            Some(format!(
                "permission denied for a cursor over SELECT … INTO: role \"{user}\" is not an admin"
            ))
        }
        Statement::Query(_)
        | Statement::Insert(_)
        | Statement::StartTransaction { .. }
        | Statement::Commit { .. }
        | Statement::Rollback { .. }
        | Statement::Savepoint { .. }
        | Statement::ReleaseSavepoint { .. }
        | Statement::Declare { .. }
        | Statement::Fetch { .. }
        | Statement::Close { .. }
        | Statement::Execute { .. }
        | Statement::Deallocate { .. }
        | Statement::Discard { .. }
        | Statement::ShowVariable { .. }
        | Statement::ShowVariables { .. }
        | Statement::ShowStatus { .. }
        | Statement::ShowTables { .. }
        | Statement::ShowColumns { .. }
        | Statement::ShowSchemas { .. }
        | Statement::ShowViews { .. }
        | Statement::ShowFunctions { .. } => None,
        Statement::Reset(reset) => match &reset.reset {
            Reset::ConfigurationParameter(name) if admin_setting(&name.to_string()) => {
                Some(format!(
                    "permission denied to reset parameter \"{name}\": only an admin may change it"
                ))
            }
            _ => None,
        },
        Statement::Explain { statement, .. } | Statement::Prepare { statement, .. } => {
            refusal(statement, who, default_schema)
        }
        Statement::Set(set) => {
            let names: Vec<String> = match set {
                Set::SingleAssignment { variable, .. } => vec![variable.to_string()],
                Set::MultipleAssignments { assignments } => {
                    assignments.iter().map(|a| a.name.to_string()).collect()
                }
                Set::SetRole { .. } | Set::SetSessionAuthorization(_) => {
                    return Some(format!(
                        "permission denied to set role: \"{user}\" connects as itself"
                    ));
                }
                _ => Vec::new(),
            };
            names.iter().find(|n| admin_setting(n)).map(|n| {
                format!("permission denied to set parameter \"{n}\": only an admin may change it")
            })
        }
        Statement::Copy {
            source, to, target, ..
        } => match (source, to, target) {
            (CopySource::Table { table_name, .. }, false, CopyTarget::Stdin) => {
                let (schema, table) = object_schema(table_name, default_schema);
                who.check_write(&schema, &table).err().map(|e| match e {
                    DataFusionError::External(inner) => inner.to_string(),
                    other => other.to_string(),
                })
            }
            // COPY … TO STDOUT reads through the catalog; files and programs
            // are refused for everyone by the COPY hook.
            _ => None,
        },
        other => Some(format!(
            "permission denied for {}: role \"{user}\" is not an admin (only admins run DDL and server commands)",
            statement_name(other)
        )),
    }
}

/// The first hook: refuses, with 42501, what the connection's user may not run.
#[derive(Debug)]
pub struct StatementGate {
    auth: Arc<Auth>,
}

impl StatementGate {
    /// The gate over the server's users.
    pub fn new(auth: Arc<Auth>) -> Self {
        StatementGate { auth }
    }

    fn check(
        &self,
        statement: &Statement,
        ctx: &SessionContext,
        client: &(dyn ClientInfo + Send + Sync),
    ) -> Option<PgWireResult<()>> {
        let user = client
            .session_extensions()
            .get::<SessionUser>()
            .map(|u| u.0.clone())?;
        if selects_into_temporary(statement) {
            return Some(Err(sqlstate::error(
                sqlstate::NOT_SUPPORTED,
                "Temporary tables not supported (SELECT … INTO TEMPORARY)",
            )));
        }
        let who = Who::new(self.auth.clone(), user);
        if who.access().admin {
            return None;
        }
        // Read in place: `state()` would clone the whole session state.
        let default_schema = ctx
            .state_ref()
            .read()
            .config()
            .options()
            .catalog
            .default_schema
            .clone();
        refusal(statement, &who, &default_schema).map(|message| {
            tracing::info!(user = %who.user(), %message, "statement refused");
            Err(sqlstate::error(sqlstate::INSUFFICIENT_PRIVILEGE, message))
        })
    }
}

#[async_trait]
impl QueryHook for StatementGate {
    async fn handle_simple_query(
        &self,
        statement: &Statement,
        session_context: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        let client: &(dyn ClientInfo + Send + Sync) = &*client;
        match self.check(statement, session_context, client)? {
            Ok(()) => None,
            Err(e) => Some(Err(e)),
        }
    }

    async fn handle_extended_parse_query(
        &self,
        statement: &Statement,
        session_context: &SessionContext,
        client: &(dyn ClientInfo + Send + Sync),
    ) -> Option<PgWireResult<LogicalPlan>> {
        match self.check(statement, session_context, client)? {
            Ok(()) => None,
            Err(e) => Some(Err(e)),
        }
    }

    /// A statement parsed before a grant was revoked still holds its tables:
    /// for non-admins, its names are looked up again at each execution.
    async fn handle_extended_query(
        &self,
        statement: &Statement,
        _logical_plan: &LogicalPlan,
        _params: &ParamValues,
        session_context: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        if !matches!(statement, Statement::Query(_) | Statement::Insert(_)) {
            return None;
        }
        let user = client.session_extensions().get::<SessionUser>()?;
        if self.auth.access_of(&user.0).admin {
            return None;
        }
        let replanned = session_context
            .state()
            .statement_to_plan(datafusion::sql::parser::Statement::Statement(Box::new(
                statement.clone(),
            )))
            .await;
        match replanned {
            Err(e) if is_denied(&e) => Some(Err(PgWireError::ApiError(Box::new(e)))),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{AuthMethod, Directory, RoleConfig, UserConfig};
    use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
    use datafusion::sql::sqlparser::parser::Parser;

    fn who(roles: &[(&str, RoleConfig)], user_roles: &[&str]) -> Who {
        let roles = roles
            .iter()
            .map(|(n, r)| (n.to_string(), r.clone()))
            .collect();
        let users = vec![UserConfig {
            name: "u".to_string(),
            password_env: Some("X".to_string()),
            roles: user_roles.iter().map(|r| r.to_string()).collect(),
            ..UserConfig::default()
        }];
        let directory = Directory::from_config(AuthMethod::ScramSha256, &users, &roles, |_| {
            Some("pw".to_string())
        })
        .expect("directory");
        Who::new(
            Arc::new(Auth::new(directory, "laketap", false)),
            "u".to_string(),
        )
    }

    fn refused(who: &Who, sql: &str) -> Option<String> {
        let statements = Parser::parse_sql(&PostgreSqlDialect {}, sql).expect(sql);
        refusal(&statements[0], who, "public")
    }

    #[test]
    fn non_admins_run_queries_writes_they_are_granted_and_session_statements() {
        let engineer = RoleConfig {
            read: vec!["kpi".to_string()],
            write: vec!["amp".to_string()],
            admin: false,
        };
        let who = who(&[("engineer", engineer)], &["engineer"]);
        for allowed in [
            "SELECT * FROM amp.users",
            "INSERT INTO amp.listen_events VALUES (1)",
            "COPY amp.listen_events FROM STDIN",
            "COPY amp.users TO STDOUT",
            "BEGIN",
            "COMMIT",
            "SAVEPOINT a",
            "SET search_path = amp",
            "SET statement_timeout = 0",
            "RESET statement_timeout",
            "SHOW ALL",
            "EXPLAIN SELECT 1",
            "PREPARE p AS SELECT 1",
            "DECLARE c CURSOR FOR SELECT 1",
            "DISCARD ALL",
        ] {
            assert_eq!(refused(&who, allowed), None, "{allowed}");
        }
        for (sql, says) in [
            (
                "CREATE VIEW v AS SELECT 1",
                "permission denied for CREATE VIEW",
            ),
            ("DROP TABLE amp.users", "permission denied for DROP TABLE"),
            (
                "CREATE TABLE t AS SELECT 1",
                "permission denied for CREATE TABLE",
            ),
            ("DELETE FROM amp.users", "permission denied for DELETE FROM"),
            (
                "EXPLAIN CREATE VIEW v AS SELECT 1",
                "permission denied for CREATE VIEW",
            ),
            (
                "PREPARE p AS DELETE FROM amp.users",
                "permission denied for DELETE FROM",
            ),
            (
                "COPY kpi.user_profile FROM STDIN",
                "permission denied for table kpi.user_profile",
            ),
            (
                "COPY listen_events FROM STDIN",
                "permission denied for table public.listen_events",
            ),
            (
                "SET datafusion.runtime.memory_limit = '1G'",
                "permission denied to set parameter",
            ),
            (
                "SET \"datafusion.Runtime.memory_limit\" = '1G'",
                "permission denied to set parameter",
            ),
            (
                "RESET datafusion.runtime.memory_limit",
                "permission denied to reset parameter",
            ),
            ("SET ROLE admin", "permission denied to set role"),
        ] {
            let message = refused(&who, sql).unwrap_or_else(|| panic!("{sql} is refused"));
            assert!(message.contains(says), "{sql}: {message}");
        }
    }

    #[test]
    fn admins_run_everything() {
        let admin = RoleConfig {
            admin: true,
            ..RoleConfig::default()
        };
        let who = who(&[("admin", admin)], &["admin"]);
        for sql in [
            "CREATE VIEW v AS SELECT 1",
            "DROP TABLE amp.users",
            "SET datafusion.runtime.memory_limit = '1G'",
        ] {
            assert_eq!(refused(&who, sql), None, "{sql}");
        }
    }

    #[test]
    fn an_unknown_or_removed_user_reads_only_the_catalogs() {
        let who = who(&[], &[]);
        let access = who.access();
        assert!(access.can_read("pg_catalog") && access.can_read("information_schema"));
        assert!(!access.can_read("kpi") && !access.can_write("amp") && !access.admin);
    }
}

/// `has_table_privilege` and `has_schema_privilege` for a non-admin session,
/// answered from its grants (datafusion-pg-catalog's answer true for all):
/// SELECT/REFERENCES/TRIGGER and USAGE need a read grant, INSERT a write grant;
/// UPDATE, DELETE, TRUNCATE and CREATE are not granted to non-admins.
#[derive(Debug)]
pub struct PrivilegeUdf {
    name: &'static str,
    who: Who,
    signature: datafusion::logical_expr::Signature,
}

impl PartialEq for PrivilegeUdf {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.who.user() == other.who.user()
    }
}

impl Eq for PrivilegeUdf {}

impl std::hash::Hash for PrivilegeUdf {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        self.who.user().hash(state);
    }
}

impl PrivilegeUdf {
    /// Both functions for `who`'s session.
    pub fn functions_for(who: &Who) -> Vec<Arc<datafusion::logical_expr::ScalarUDF>> {
        use datafusion::arrow::datatypes::DataType;
        use datafusion::logical_expr::{Signature, TypeSignature, Volatility};
        ["has_table_privilege", "has_schema_privilege"]
            .into_iter()
            .map(|name| {
                Arc::new(datafusion::logical_expr::ScalarUDF::new_from_impl(
                    PrivilegeUdf {
                        name,
                        who: who.clone(),
                        signature: Signature::one_of(
                            vec![
                                TypeSignature::Exact(vec![
                                    DataType::Utf8,
                                    DataType::Utf8,
                                    DataType::Utf8,
                                ]),
                                TypeSignature::Exact(vec![DataType::Utf8, DataType::Utf8]),
                            ],
                            Volatility::Stable,
                        ),
                    },
                ))
            })
            .collect()
    }

    fn granted(&self, access: &Access, object: &str, privilege: &str) -> bool {
        let schema = if self.name == "has_schema_privilege" {
            object.trim().trim_matches('"').to_lowercase()
        } else {
            match object.rsplit_once('.') {
                Some((schema, _)) => schema
                    .rsplit('.')
                    .next()
                    .unwrap_or(schema)
                    .trim()
                    .trim_matches('"')
                    .to_lowercase(),
                None => "public".to_string(),
            }
        };
        // A list like 'SELECT, INSERT' asks whether any is held (PostgreSQL).
        privilege.split(',').any(|p| {
            let p = p.trim().to_uppercase();
            let p = p.trim_end_matches(" WITH GRANT OPTION");
            match p {
                "SELECT" | "REFERENCES" | "TRIGGER" | "USAGE" => access.can_read(&schema),
                "INSERT" => access.can_write(&schema),
                _ => access.admin,
            }
        })
    }
}

impl datafusion::logical_expr::ScalarUDFImpl for PrivilegeUdf {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &datafusion::logical_expr::Signature {
        &self.signature
    }

    fn return_type(
        &self,
        _args: &[datafusion::arrow::datatypes::DataType],
    ) -> DfResult<datafusion::arrow::datatypes::DataType> {
        Ok(datafusion::arrow::datatypes::DataType::Boolean)
    }

    fn invoke_with_args(
        &self,
        args: datafusion::logical_expr::ScalarFunctionArgs,
    ) -> DfResult<datafusion::logical_expr::ColumnarValue> {
        use datafusion::arrow::array::{Array, AsArray, BooleanBuilder};
        let n = args.number_rows;
        let arrays = datafusion::logical_expr::ColumnarValue::values_to_arrays(&args.args)?;
        // (user,) object, privilege: the user argument is the session's own here.
        let (object, privilege) = match arrays.as_slice() {
            [_, object, privilege] | [object, privilege] => (object, privilege),
            _ => {
                return Err(DataFusionError::Plan(format!(
                    "{} takes 2 or 3 arguments",
                    self.name
                )));
            }
        };
        let (object, privilege) = (object.as_string::<i32>(), privilege.as_string::<i32>());
        let access = self.who.access();
        let mut out = BooleanBuilder::with_capacity(n);
        for row in 0..n {
            if object.is_null(row) || privilege.is_null(row) {
                out.append_null();
            } else {
                out.append_value(self.granted(&access, object.value(row), privilege.value(row)));
            }
        }
        Ok(datafusion::logical_expr::ColumnarValue::Array(Arc::new(
            out.finish(),
        )))
    }
}
