//! The server's client connections, PostgreSQL's "backends":
//! `pg_backend_pid()`, `pg_stat_ssl` and `pg_locks`.
//!
//! - Each connection is registered when it has logged in, under the process
//!   id its BackendKeyData gave the client (the one a CancelRequest names),
//!   and unregistered when it ends.
//! - `pg_backend_pid()` is that id, per session. datafusion-pg-catalog
//!   answered 1 for every connection, so a client comparing it with the id
//!   libpq reports (psycopg's `conn.info.backend_pid`), or looking itself up
//!   in `pg_stat_ssl`, found another session or none.
//! - `pg_stat_ssl` has a row per connection: whether it is encrypted, and the
//!   TLS version, cipher and its key bits that rustls negotiated. Client
//!   certificates are not asked for, so `client_dn`, `client_serial` and
//!   `issuer_dn` are NULL. A user who is not an admin sees its own sessions'
//!   rows only, as PostgreSQL shows those whose `client_port` it may read.
//! - `pg_stat_activity` has a row per connection: who, from where, its
//!   state, the statement as the client sent it and when it started; another
//!   user's session shows only who runs it, unless the reader is an admin
//!   (`crate::access`).
//! - `pg_cancel_backend(pid)` and `pg_terminate_backend(pid)` cancel a
//!   connection's running query, and close the connection.
//! - `pg_locks` has PostgreSQL's columns and no rows. laketap has no lock
//!   manager: a query reads a snapshot of each table and takes no lock that
//!   another could wait on, and no statement gets a transaction id, so there
//!   is no `transactionid` lock either (DataGrip asks for the oldest one at
//!   connect).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Decimal128Array, Int32Array, RecordBatch, StringArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{ColumnarValue, ScalarUDF, Volatility, create_udf};
use laketap_engine::system::SystemTable;
use pgwire::tokio::tokio_rustls::rustls;

/// What TLS a connection negotiated, as `pg_stat_ssl` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsInfo {
    /// `TLSv1.3` or `TLSv1.2`.
    pub version: String,
    /// The cipher suite, by OpenSSL's name (PostgreSQL's and libpq's).
    pub cipher: String,
    /// The bits of the cipher's key.
    pub bits: i32,
}

impl TlsInfo {
    /// The TLS of an established rustls connection (None before the handshake).
    pub fn of(connection: &rustls::ServerConnection) -> Option<TlsInfo> {
        let version = connection.protocol_version()?.as_str()?.replace('_', ".");
        let suite = connection.negotiated_cipher_suite()?.suite();
        let iana = suite.as_str()?;
        Some(TlsInfo {
            version,
            cipher: openssl_name(iana),
            bits: key_bits(iana),
        })
    }
}

/// OpenSSL's name of a cipher suite rustls names as IANA does. TLS 1.3's are
/// IANA's (`TLS_AES_256_GCM_SHA384`); TLS 1.2's are OpenSSL's own spelling.
fn openssl_name(iana: &str) -> String {
    if let Some(rest) = iana.strip_prefix("TLS13_") {
        return format!("TLS_{rest}");
    }
    let known = [
        (
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            "ECDHE-ECDSA-AES256-GCM-SHA384",
        ),
        (
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            "ECDHE-ECDSA-AES128-GCM-SHA256",
        ),
        (
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
            "ECDHE-ECDSA-CHACHA20-POLY1305",
        ),
        (
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "ECDHE-RSA-AES256-GCM-SHA384",
        ),
        (
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            "ECDHE-RSA-AES128-GCM-SHA256",
        ),
        (
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
            "ECDHE-RSA-CHACHA20-POLY1305",
        ),
    ];
    known
        .iter()
        .find(|(name, _)| *name == iana)
        .map_or_else(|| iana.to_string(), |(_, openssl)| openssl.to_string())
}

/// The key bits of a cipher suite (AES-128: 128; AES-256 and ChaCha20: 256).
fn key_bits(iana: &str) -> i32 {
    if iana.contains("AES_128") { 128 } else { 256 }
}

/// What a connection is doing, as `pg_stat_activity.state` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Active,
    Idle,
    IdleInTransaction,
    IdleInFailedTransaction,
}

impl State {
    fn text(self) -> &'static str {
        match self {
            State::Active => "active",
            State::Idle => "idle",
            State::IdleInTransaction => "idle in transaction",
            State::IdleInFailedTransaction => "idle in transaction (aborted)",
        }
    }
}

/// A connection as it logs in.
#[derive(Debug, Clone)]
pub struct Login {
    pub user: String,
    pub client: Option<std::net::SocketAddr>,
    pub application_name: String,
    pub tls: Option<TlsInfo>,
    /// Fires a cancel of its running query (`pg_cancel_backend`).
    pub cancel: Option<Arc<pgwire::api::ConnectionHandle>>,
    /// Ends the connection (`pg_terminate_backend`).
    pub terminate: Option<Arc<tokio::sync::Notify>>,
}

/// What `pg_cancel_backend` and `pg_terminate_backend` do to a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Cancel its running query (57014 there).
    Cancel,
    /// Cancel its running query and close the connection (FATAL 57P01).
    Terminate,
}

impl Signal {
    fn function(self) -> &'static str {
        match self {
            Signal::Cancel => "pg_cancel_backend",
            Signal::Terminate => "pg_terminate_backend",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Signal::Cancel => "cancel query",
            Signal::Terminate => "terminate process",
        }
    }
}

/// A connection's terminate signal, kept in its session until it is
/// registered; the connection's loop waits on it.
#[derive(Debug, Clone)]
pub struct Terminate(pub Arc<tokio::sync::Notify>);

/// One live connection.
#[derive(Debug, Clone)]
struct Backend {
    login: Login,
    /// Its session, once it has one: its application_name now.
    session: Option<std::sync::Weak<datafusion::prelude::SessionContext>>,
    /// Microseconds since the epoch.
    started: i64,
    state: State,
    in_transaction: bool,
    query: String,
    query_start: Option<i64>,
    state_change: i64,
    xact_start: Option<i64>,
}

/// The live connections by process id.
#[derive(Debug, Default)]
pub struct Backends {
    live: Mutex<BTreeMap<i32, Backend>>,
}

/// Unregisters its connection when the connection ends.
#[derive(Debug)]
pub struct BackendGuard {
    pid: i32,
    backends: Arc<Backends>,
}

impl Drop for BackendGuard {
    fn drop(&mut self) {
        self.backends.live().remove(&self.pid);
    }
}

/// A connection's TLS, kept in its session from TLS negotiation until it is
/// registered.
#[derive(Debug, Clone)]
pub struct ConnectionTls(pub Option<TlsInfo>);

/// Microseconds since the epoch, now.
fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// The longest query text `pg_stat_activity` keeps, in bytes (PostgreSQL's
/// `track_activity_query_size` default, less its terminating zero).
const QUERY_BYTES: usize = 1023;

/// The longest start of `text` of at most `bytes` bytes that ends at a
/// character boundary.
pub fn prefix(text: &str, bytes: usize) -> &str {
    let mut end = text.len().min(bytes);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

impl Backends {
    fn live(&self) -> std::sync::MutexGuard<'_, BTreeMap<i32, Backend>> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers the connection `pid`, until the guard is dropped.
    pub fn register(self: &Arc<Self>, pid: i32, login: Login) -> BackendGuard {
        let now = now_micros();
        self.live().insert(
            pid,
            Backend {
                login,
                session: None,
                started: now,
                state: State::Idle,
                in_transaction: false,
                query: String::new(),
                query_start: None,
                state_change: now,
                xact_start: None,
            },
        );
        BackendGuard {
            pid,
            backends: self.clone(),
        }
    }

    /// The session of connection `pid` (its settings are read at each scan).
    pub fn attach_session(
        &self,
        pid: i32,
        session: std::sync::Weak<datafusion::prelude::SessionContext>,
    ) {
        if let Some(backend) = self.live().get_mut(&pid) {
            backend.session = Some(session);
        }
    }

    /// Connection `pid` started running `sql`.
    pub fn query_started(&self, pid: i32, sql: &str) {
        let now = now_micros();
        if let Some(backend) = self.live().get_mut(&pid) {
            backend.query = prefix(sql, QUERY_BYTES).to_string();
            backend.query_start = Some(now);
            backend.state = State::Active;
            backend.state_change = now;
            if backend.xact_start.is_none() {
                backend.xact_start = Some(now);
            }
        }
    }

    /// Connection `pid` began (`true`) or ended a transaction block.
    pub fn in_transaction(&self, pid: i32, started: bool) {
        if let Some(backend) = self.live().get_mut(&pid) {
            backend.in_transaction = started;
            if !started {
                backend.xact_start = None;
            }
        }
    }

    /// Connection `pid` finished its statement; outside a transaction block,
    /// the statement's own transaction ended with it.
    pub fn query_finished(&self, pid: i32) {
        if let Some(backend) = self.live().get_mut(&pid) {
            backend.state = if backend.in_transaction {
                State::IdleInTransaction
            } else {
                backend.xact_start = None;
                State::Idle
            };
            backend.state_change = now_micros();
        }
    }

    /// Connection `pid`'s transaction status changed to `status` (its loop
    /// reports changes only, not every message).
    pub fn transaction_status(
        &self,
        pid: i32,
        status: pgwire::messages::response::TransactionStatus,
    ) {
        use pgwire::messages::response::TransactionStatus;
        if let Some(backend) = self.live().get_mut(&pid) {
            backend.in_transaction = status != TransactionStatus::Idle;
            if backend.in_transaction && backend.xact_start.is_none() {
                // The block began with the statement that opened it.
                backend.xact_start = backend.query_start;
            }
            if backend.state == State::Active {
                return;
            }
            let state = match status {
                TransactionStatus::Idle => State::Idle,
                TransactionStatus::Transaction => State::IdleInTransaction,
                TransactionStatus::Error => State::IdleInFailedTransaction,
            };
            if state != backend.state {
                backend.state = state;
                backend.state_change = now_micros();
            }
            if status == TransactionStatus::Idle {
                backend.xact_start = None;
            }
        }
    }

    /// Sends `signal` to connection `pid`: its running query is canceled,
    /// and on Terminate the connection is then closed. Whether there is such
    /// a connection.
    pub fn signal(&self, pid: i32, signal: Signal) -> bool {
        let (cancel, terminate) = match self.live().get(&pid) {
            Some(b) => (b.login.cancel.clone(), b.login.terminate.clone()),
            None => return false,
        };
        if signal == Signal::Terminate
            && let Some(terminate) = terminate
        {
            // A permit if the connection is running a statement: it closes
            // when the statement (canceled below) has ended.
            terminate.notify_one();
        }
        if let Some(handle) = cancel {
            tokio::spawn(async move {
                handle.cancel().await;
            });
        }
        true
    }

    /// The user of connection `pid`.
    pub fn user_of(&self, pid: i32) -> Option<String> {
        self.live().get(&pid).map(|b| b.login.user.clone())
    }

    /// The live connections by process id.
    fn snapshot(&self) -> Vec<(i32, Backend)> {
        self.live()
            .iter()
            .map(|(pid, backend)| (*pid, backend.clone()))
            .collect()
    }
}

/// `pg_backend_pid()` of the session on connection `pid`.
pub fn backend_pid(pid: i32) -> Arc<ScalarUDF> {
    Arc::new(create_udf(
        "pg_backend_pid",
        vec![],
        DataType::Int32,
        Volatility::Stable,
        Arc::new(move |_: &[ColumnarValue]| {
            Ok(ColumnarValue::Scalar(ScalarValue::Int32(Some(pid))))
        }),
    ))
}

/// `pg_cancel_backend(pid)` and `pg_terminate_backend(pid)` for `who`:
/// cancels the query connection `pid` runs, as a CancelRequest does, and on
/// Terminate closes the connection (FATAL 57P01, as PostgreSQL's backend
/// says). An admin may signal any connection, a user its own (42501
/// otherwise, as PostgreSQL answers without `pg_signal_backend`); false for a
/// pid that is no connection's.
pub fn signal_backend(
    backends: Arc<Backends>,
    who: crate::access::Who,
    signal: Signal,
) -> Arc<ScalarUDF> {
    Arc::new(create_udf(
        signal.function(),
        vec![DataType::Int64],
        DataType::Boolean,
        Volatility::Volatile,
        Arc::new(move |args: &[ColumnarValue]| {
            use datafusion::arrow::array::AsArray;
            use datafusion::arrow::datatypes::Int64Type;
            let rows = match args.first() {
                Some(ColumnarValue::Array(a)) => a.len(),
                _ => 1,
            };
            let pids = match args.first() {
                Some(value) => value.to_array(rows)?,
                None => {
                    return datafusion::common::exec_err!("{} takes a pid", signal.function());
                }
            };
            let pids = pids.as_primitive::<Int64Type>();
            let mut out = Vec::with_capacity(pids.len());
            for pid in pids.iter() {
                let Some(pid) = pid else {
                    out.push(None);
                    continue;
                };
                // PostgreSQL's pid is int4; a larger number is no connection's.
                let Ok(pid) = i32::try_from(pid) else {
                    out.push(Some(false));
                    continue;
                };
                match backends.user_of(pid) {
                    None => {
                        tracing::debug!(pid, "PID {pid} is not a laketap connection");
                        out.push(Some(false));
                    }
                    Some(user) if user == who.user() || who.access().admin => {
                        out.push(Some(backends.signal(pid, signal)));
                    }
                    Some(_) => {
                        return Err(crate::access::denied(format!(
                            "permission denied to {}: only an admin or the role of connection {pid} may",
                            signal.what()
                        )));
                    }
                }
            }
            let result = BooleanArray::from(out);
            Ok(match args.first() {
                Some(ColumnarValue::Array(_)) => ColumnarValue::Array(Arc::new(result)),
                _ => ColumnarValue::Scalar(ScalarValue::try_from_array(&result, 0)?),
            })
        }),
    ))
}

/// `pg_stat_ssl`, from the live connections at each scan.
pub fn pg_stat_ssl(backends: Arc<Backends>) -> SystemTable {
    let schema: SchemaRef = Arc::new(Schema::new(vec![
        Field::new("pid", DataType::Int32, true),
        Field::new("ssl", DataType::Boolean, true),
        Field::new("version", DataType::Utf8, true),
        Field::new("cipher", DataType::Utf8, true),
        Field::new("bits", DataType::Int32, true),
        Field::new("client_dn", DataType::Utf8, true),
        // numeric: a certificate serial has up to 20 bytes (49 digits); none here.
        Field::new("client_serial", DataType::Decimal128(38, 0), true),
        Field::new("issuer_dn", DataType::Utf8, true),
    ]));
    let rows_schema = schema.clone();
    SystemTable::new(schema, move || {
        let rows: Vec<(i32, Option<TlsInfo>)> = backends
            .snapshot()
            .into_iter()
            .map(|(pid, backend)| (pid, backend.login.tls))
            .collect();
        let text = |f: fn(&TlsInfo) -> &str| {
            Arc::new(StringArray::from_iter(
                rows.iter().map(|(_, tls)| tls.as_ref().map(f)),
            )) as ArrayRef
        };
        let none = || Arc::new(StringArray::from(vec![None::<&str>; rows.len()])) as ArrayRef;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int32Array::from_iter_values(
                rows.iter().map(|(pid, _)| *pid),
            )),
            Arc::new(BooleanArray::from_iter(
                rows.iter().map(|(_, tls)| Some(tls.is_some())),
            )),
            text(|t| &t.version),
            text(|t| &t.cipher),
            Arc::new(Int32Array::from_iter(
                rows.iter().map(|(_, tls)| tls.as_ref().map(|t| t.bits)),
            )),
            none(),
            Arc::new(
                Decimal128Array::from(vec![None; rows.len()]).with_precision_and_scale(38, 0)?,
            ),
            none(),
        ];
        Ok(RecordBatch::try_new(rows_schema.clone(), columns)?)
    })
}

/// `pg_stat_activity`, from the live connections at each scan: the database
/// `database` (its OID and name), users' OIDs from `auth`.
pub fn pg_stat_activity(
    backends: Arc<Backends>,
    auth: Arc<crate::auth::Auth>,
    database: (Option<i32>, String),
) -> SystemTable {
    let oid = |name: &str| crate::roles::oid_field(name);
    let text = |name: &str| Field::new(name, DataType::Utf8, true);
    let int4 = |name: &str| Field::new(name, DataType::Int32, true);
    let time = |name: &str| {
        Field::new(
            name,
            DataType::Timestamp(TimeUnit::Microsecond, Some(Arc::from("UTC"))),
            true,
        )
    };
    let schema: SchemaRef = Arc::new(Schema::new(vec![
        oid("datid"),
        text("datname"),
        int4("pid"),
        int4("leader_pid"),
        oid("usesysid"),
        text("usename"),
        text("application_name"),
        // inet in PostgreSQL; its text here.
        text("client_addr"),
        text("client_hostname"),
        int4("client_port"),
        time("backend_start"),
        time("xact_start"),
        time("query_start"),
        time("state_change"),
        text("wait_event_type"),
        text("wait_event"),
        text("state"),
        crate::roles::xid_field("backend_xid"),
        crate::roles::xid_field("backend_xmin"),
        Field::new("query_id", DataType::Int64, true),
        text("query"),
        text("backend_type"),
    ]));
    let rows_schema = schema.clone();
    SystemTable::new(schema, move || {
        use datafusion::arrow::array::{Int64Array, TimestampMicrosecondArray, UInt32Array};
        let rows = backends.snapshot();
        let n = rows.len();
        let roles: BTreeMap<String, i32> = crate::roles::catalog_roles(&auth.current())
            .into_iter()
            .map(|r| (r.name, r.oid))
            .collect();
        let application_name = |b: &Backend| {
            b.session
                .as_ref()
                .and_then(std::sync::Weak::upgrade)
                .and_then(|ctx| {
                    // Read in place: state() would copy the whole session state.
                    let state = ctx.state_ref();
                    let state = state.read();
                    laketap_engine::pgsettings::current_value(
                        state.config().options(),
                        "application_name",
                    )
                })
                .unwrap_or_else(|| b.login.application_name.clone())
        };
        let texts = |f: &dyn Fn(&Backend) -> Option<String>| {
            Arc::new(StringArray::from_iter(rows.iter().map(|(_, b)| f(b)))) as ArrayRef
        };
        let times = |f: &dyn Fn(&Backend) -> Option<i64>| {
            Arc::new(
                TimestampMicrosecondArray::from_iter(rows.iter().map(|(_, b)| f(b)))
                    .with_timezone("UTC"),
            ) as ArrayRef
        };
        let nulls = || Arc::new(StringArray::from(vec![None::<&str>; n])) as ArrayRef;
        let no_xids = || Arc::new(UInt32Array::from(vec![None; n])) as ArrayRef;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int32Array::from(vec![database.0; n])),
            texts(&|_| Some(database.1.clone())),
            Arc::new(Int32Array::from_iter_values(
                rows.iter().map(|(pid, _)| *pid),
            )),
            Arc::new(Int32Array::from(vec![None; n])),
            Arc::new(Int32Array::from_iter(
                rows.iter().map(|(_, b)| roles.get(&b.login.user).copied()),
            )),
            texts(&|b| Some(b.login.user.clone())),
            texts(&|b| Some(application_name(b))),
            texts(&|b| b.login.client.map(|a| a.ip().to_string())),
            nulls(),
            Arc::new(Int32Array::from_iter(
                rows.iter()
                    .map(|(_, b)| b.login.client.map(|a| i32::from(a.port()))),
            )),
            times(&|b| Some(b.started)),
            times(&|b| b.xact_start),
            times(&|b| b.query_start),
            times(&|b| Some(b.state_change)),
            // An idle connection waits for its client's next message.
            texts(&|b| (b.state != State::Active).then(|| "Client".to_string())),
            texts(&|b| (b.state != State::Active).then(|| "ClientRead".to_string())),
            texts(&|b| Some(b.state.text().to_string())),
            no_xids(),
            no_xids(),
            Arc::new(Int64Array::from(vec![None; n])),
            texts(&|b| Some(b.query.clone())),
            texts(&|_| Some("client backend".to_string())),
        ];
        Ok(RecordBatch::try_new(rows_schema.clone(), columns)?)
    })
}

/// `pg_locks`: PostgreSQL's columns, no rows (see the module documentation).
pub fn pg_locks() -> SystemTable {
    let oid = |name: &str| crate::roles::oid_field(name);
    let schema: SchemaRef = Arc::new(Schema::new(vec![
        Field::new("locktype", DataType::Utf8, true),
        oid("database"),
        oid("relation"),
        Field::new("page", DataType::Int32, true),
        Field::new("tuple", DataType::Int16, true),
        Field::new("virtualxid", DataType::Utf8, true),
        crate::roles::xid_field("transactionid"),
        oid("classid"),
        oid("objid"),
        Field::new("objsubid", DataType::Int16, true),
        Field::new("virtualtransaction", DataType::Utf8, true),
        Field::new("pid", DataType::Int32, true),
        Field::new("mode", DataType::Utf8, true),
        Field::new("granted", DataType::Boolean, true),
        Field::new("fastpath", DataType::Boolean, true),
        Field::new(
            "waitstart",
            DataType::Timestamp(TimeUnit::Microsecond, Some(Arc::from("UTC"))),
            true,
        ),
    ]));
    let rows_schema = schema.clone();
    SystemTable::new(schema, move || {
        Ok(RecordBatch::new_empty(rows_schema.clone()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cipher_names_are_openssls() {
        assert_eq!(
            openssl_name("TLS13_AES_256_GCM_SHA384"),
            "TLS_AES_256_GCM_SHA384"
        );
        assert_eq!(
            openssl_name("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
            "ECDHE-RSA-AES128-GCM-SHA256"
        );
        assert_eq!(key_bits("TLS13_AES_128_GCM_SHA256"), 128);
        assert_eq!(key_bits("TLS13_CHACHA20_POLY1305_SHA256"), 256);
    }

    fn login(user: &str, tls: Option<TlsInfo>) -> Login {
        Login {
            user: user.to_string(),
            client: None,
            application_name: String::new(),
            tls,
            cancel: None,
            terminate: None,
        }
    }

    #[test]
    fn a_connection_is_listed_until_its_guard_drops() {
        let backends = Arc::new(Backends::default());
        let tls = TlsInfo {
            version: "TLSv1.3".into(),
            cipher: "TLS_AES_256_GCM_SHA384".into(),
            bits: 256,
        };
        let first = backends.register(7, login("ann", Some(tls.clone())));
        let second = backends.register(8, login("bob", None));
        let listed = |b: &Backends| -> Vec<(i32, Option<TlsInfo>)> {
            b.snapshot()
                .into_iter()
                .map(|(pid, b)| (pid, b.login.tls))
                .collect()
        };
        assert_eq!(listed(&backends), vec![(7, Some(tls)), (8, None)]);
        drop(first);
        assert_eq!(listed(&backends), vec![(8, None)]);
        drop(second);
        assert!(listed(&backends).is_empty());
    }

    #[test]
    fn states_follow_statements_and_transactions() {
        use pgwire::messages::response::TransactionStatus;
        let backends = Arc::new(Backends::default());
        let _guard = backends.register(7, login("ann", None));
        let state = |b: &Backends| {
            let (_, backend) = b.snapshot().remove(0);
            (
                backend.state.text(),
                backend.query,
                backend.xact_start.is_some(),
            )
        };
        assert_eq!(state(&backends), ("idle", String::new(), false));
        backends.query_started(7, "BEGIN");
        assert_eq!(state(&backends), ("active", "BEGIN".to_string(), true));
        backends.query_finished(7);
        backends.transaction_status(7, TransactionStatus::Transaction);
        assert_eq!(
            state(&backends),
            ("idle in transaction", "BEGIN".to_string(), true)
        );
        backends.query_started(7, "SELECT 1/0");
        backends.query_finished(7);
        backends.transaction_status(7, TransactionStatus::Error);
        assert_eq!(
            state(&backends),
            (
                "idle in transaction (aborted)",
                "SELECT 1/0".to_string(),
                true
            )
        );
        backends.query_started(7, "ROLLBACK");
        backends.query_finished(7);
        backends.transaction_status(7, TransactionStatus::Idle);
        assert_eq!(state(&backends), ("idle", "ROLLBACK".to_string(), false));
        // Long texts are cut at a character boundary: byte 1023 is inside
        // the 512th é, so 511 of them remain.
        backends.query_started(7, &"é".repeat(600));
        assert_eq!(state(&backends).1.len(), 1022);
    }
}
