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
//!   `issuer_dn` are NULL. PostgreSQL also lists its background processes
//!   (ssl false); laketap has none.
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

/// The live connections: process id → its TLS (None in clear text).
#[derive(Debug, Default)]
pub struct Backends {
    live: Mutex<BTreeMap<i32, Option<TlsInfo>>>,
}

/// Unregisters its connection when the connection ends.
#[derive(Debug)]
pub struct BackendGuard {
    pid: i32,
    backends: Arc<Backends>,
}

impl Drop for BackendGuard {
    fn drop(&mut self) {
        self.backends
            .live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.pid);
    }
}

/// A connection's TLS, kept in its session from TLS negotiation until it is
/// registered.
#[derive(Debug, Clone)]
pub struct ConnectionTls(pub Option<TlsInfo>);

impl Backends {
    /// Registers the connection `pid`, until the guard is dropped.
    pub fn register(self: &Arc<Self>, pid: i32, tls: Option<TlsInfo>) -> BackendGuard {
        self.live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(pid, tls);
        BackendGuard {
            pid,
            backends: self.clone(),
        }
    }

    /// The live connections by process id.
    fn snapshot(&self) -> Vec<(i32, Option<TlsInfo>)> {
        self.live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(pid, tls)| (*pid, tls.clone()))
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
        let rows = backends.snapshot();
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

    #[test]
    fn a_connection_is_listed_until_its_guard_drops() {
        let backends = Arc::new(Backends::default());
        let tls = TlsInfo {
            version: "TLSv1.3".into(),
            cipher: "TLS_AES_256_GCM_SHA384".into(),
            bits: 256,
        };
        let first = backends.register(7, Some(tls.clone()));
        let second = backends.register(8, None);
        assert_eq!(backends.snapshot(), vec![(7, Some(tls)), (8, None)]);
        drop(first);
        assert_eq!(backends.snapshot(), vec![(8, None)]);
        drop(second);
        assert!(backends.snapshot().is_empty());
    }
}
