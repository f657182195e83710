//! `laketap.toml`: server settings. Precedence: defaults < file < environment
//! < flags. Every key is optional and documented in `laketap.example.toml`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The server configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// The catalog folder (relative to the config file).
    pub catalog: Option<PathBuf>,
    /// Postgres listen address.
    pub listen: Option<SocketAddr>,
    /// HTTP listen address.
    pub http: Option<SocketAddr>,
    /// Connections served at once.
    pub max_connections: Option<usize>,
    /// How often Delta tables are checked for new commits, in milliseconds.
    pub refresh_interval_ms: Option<u64>,
    /// Memory for query execution across the server, in MiB.
    pub memory_limit_mb: Option<usize>,
    /// A folder of `*.sql` views adding to or overriding the built-in KPI views.
    pub views: Option<PathBuf>,
    /// The default as-of instant of every session (UTC), e.g. "2026-03-01 12:00:00".
    pub as_of: Option<String>,
    /// How often the catalog folder is checked for edits, in milliseconds
    /// (rounded up to a multiple of the refresh interval).
    pub catalog_poll_ms: Option<u64>,
    /// Keep file listings, Parquet footers and statistics between queries (default true).
    pub metadata_cache: Option<bool>,
    /// How to reach S3 buckets: one `[[storage]]` entry per bucket.
    #[serde(default)]
    pub storage: Vec<laketap_catalog::StorageConfig>,
    /// Writes into Delta tables (`[ingest]`).
    #[serde(default)]
    pub ingest: IngestSection,
    /// Users (`[[users]]`); none: the no-users default (user `laketap`, loopback only).
    #[serde(default)]
    pub users: Vec<laketap_server::UserConfig>,
    /// Roles (`[roles.NAME]`): read, write, admin.
    #[serde(default)]
    pub roles: std::collections::BTreeMap<String, laketap_server::RoleConfig>,
    /// `[auth]`: how passwords are checked.
    #[serde(default)]
    pub auth: AuthSection,
    /// `[tls]`: certificate and key.
    pub tls: Option<TlsSection>,
    /// The default statement_timeout of every session, in ms (default 0: none).
    pub statement_timeout_ms: Option<u64>,
    /// Memory of one connection's running statement, in MiB (default: a
    /// quarter of memory_limit_mb).
    pub query_memory_limit_mb: Option<usize>,
    /// Largest protocol message, in MiB (default 64).
    pub max_message_mb: Option<usize>,
    /// Largest SQL text of one Query or Parse message, in MiB (default 16).
    pub max_query_mb: Option<usize>,
    /// Most parameters of one statement (default 65535).
    pub max_parameters: Option<usize>,
}

/// `[auth]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSection {
    /// "scram-sha-256" (default), "md5" or "password".
    pub method: Option<laketap_server::AuthMethod>,
    /// How long a connection may take to authenticate, in ms (default 60000).
    pub timeout_ms: Option<u64>,
}

/// `[tls]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    /// PEM certificate chain (relative to the config file).
    pub cert: PathBuf,
    /// PEM private key (relative to the config file).
    pub key: PathBuf,
    /// Refuse connections that do not use TLS (default false).
    #[serde(default)]
    pub require_tls: bool,
}

/// `[ingest]`: durable writes into the lake's Delta tables.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestSection {
    /// Take writes at all (default true).
    pub enabled: Option<bool>,
    /// Commit the write-ahead log to the table at least this often, in ms (default 250).
    pub commit_interval_ms: Option<u64>,
    /// ... or as soon as this many rows wait (default 100000).
    pub commit_rows: Option<usize>,
    /// Largest HTTP ingest body, INSERT or COPY, in MiB (default 64).
    pub max_request_mb: Option<usize>,
    /// Refuse writes while this many MiB wait for a failing commit (default 512).
    pub max_pending_mb: Option<usize>,
    /// Compact small files every this many commits of a table (default 100; 0 never).
    pub compact_every: Option<u64>,
    /// Target size of compacted files, in MiB (default 128).
    pub compact_target_mb: Option<u64>,
    /// Write a Delta checkpoint every this many commits (default 20; 0 never).
    pub checkpoint_every: Option<u64>,
    /// Idempotency keys remembered per table (default 100000).
    pub idempotency_keys: Option<usize>,
}

impl IngestSection {
    /// The ingest settings, defaults filled in.
    pub fn settings(&self) -> laketap_ingest::IngestConfig {
        let mut c = laketap_ingest::IngestConfig::default();
        if let Some(ms) = self.commit_interval_ms {
            c.commit_interval = std::time::Duration::from_millis(ms.max(1));
        }
        if let Some(n) = self.commit_rows {
            c.commit_rows = n.max(1);
        }
        if let Some(mb) = self.max_request_mb {
            c.max_request_bytes = mb.max(1) * 1024 * 1024;
        }
        if let Some(mb) = self.max_pending_mb {
            c.max_pending_bytes = mb.max(1) * 1024 * 1024;
        }
        if let Some(n) = self.compact_every {
            c.compact_every = n;
        }
        if let Some(mb) = self.compact_target_mb {
            c.compact_target_bytes = mb.max(1) * 1024 * 1024;
        }
        if let Some(n) = self.checkpoint_every {
            c.checkpoint_every = n;
        }
        if let Some(n) = self.idempotency_keys {
            c.idempotency_keys = n.max(1);
        }
        c
    }
}

impl FileConfig {
    /// The users and roles of this file, checked; `password_env` variables
    /// are read now.
    pub fn directory(&self) -> Result<laketap_server::Directory, String> {
        if self.users.is_empty() {
            return Ok(laketap_server::Directory::trust("laketap"));
        }
        laketap_server::Directory::from_config(
            self.auth.method.unwrap_or_default(),
            &self.users,
            &self.roles,
            |var| std::env::var(var).ok(),
        )
    }

    /// Reads and checks a config file; relative paths in it are taken from its folder.
    pub fn load(path: &Path) -> Result<FileConfig, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot be read: {e}", path.display()))?;
        let mut config: FileConfig = toml::from_str(&text).map_err(|e| {
            let (line, column) = e
                .span()
                .map(|s| {
                    let before = &text[..s.start.min(text.len())];
                    (
                        before.matches('\n').count() + 1,
                        before
                            .rfind('\n')
                            .map_or(before.len(), |nl| before.len() - nl - 1)
                            + 1,
                    )
                })
                .unwrap_or((1, 1));
            format!("{}:{line}:{column}: {}", path.display(), e.message())
        })?;
        for storage in &config.storage {
            storage
                .bucket()
                .map_err(|e| format!("{}: [[storage]]: {e}", path.display()))?;
        }
        let base = path.parent().unwrap_or_else(|| Path::new("."));
        let (catalog, views) = (config.catalog.as_mut(), config.views.as_mut());
        let (cert, key) = match config.tls.as_mut() {
            Some(t) => (Some(&mut t.cert), Some(&mut t.key)),
            None => (None, None),
        };
        for dir in [catalog, views, cert, key].into_iter().flatten() {
            if dir.is_relative() {
                *dir = base.join(&*dir);
            }
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typo_names_the_key_and_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("laketap.toml");
        std::fs::write(&path, "listen = \"127.0.0.1:5433\"\nmax_conections = 5\n").expect("write");
        let err = FileConfig::load(&path).expect_err("typo");
        assert!(err.contains("laketap.toml:2:"), "{err}");
        assert!(err.contains("max_conections"), "{err}");
    }

    #[test]
    fn storage_entries_name_a_bucket_and_credential_variables() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("laketap.toml");
        std::fs::write(
            &path,
            "[[storage]]\nurl = \"s3://lake\"\nendpoint = \"http://127.0.0.1:9000\"\nallow_http = true\naccess_key_id_env = \"LAKE_KEY\"\nsecret_access_key_env = \"LAKE_SECRET\"\n",
        )
        .expect("write");
        let config = FileConfig::load(&path).expect("valid");
        assert_eq!(config.storage.len(), 1);
        assert_eq!(config.storage[0].bucket(), Ok("lake"));
        assert_eq!(
            config.storage[0].access_key_id_env.as_deref(),
            Some("LAKE_KEY")
        );
        std::fs::write(
            &path,
            "[[storage]]\nurl = \"s3://lake\"\naccess_key_id = \"AKIA...\"\n",
        )
        .expect("write");
        let err = FileConfig::load(&path).expect_err("secrets are not written in files");
        assert!(err.contains("access_key_id"), "{err}");
    }

    #[test]
    fn users_roles_and_tls_are_read_and_checked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("laketap.toml");
        let verifier = laketap_server::scram::Verifier::generate("pw").to_string();
        std::fs::write(
            &path,
            format!(
                "[[users]]\nname = \"ana\"\nscram = \"{verifier}\"\nroles = [\"analyst\"]\n\
                 [roles.analyst]\nread = [\"kpi\"]\n[auth]\nmethod = \"scram-sha-256\"\n\
                 [tls]\ncert = \"c.pem\"\nkey = \"k.pem\"\nrequire_tls = true\n"
            ),
        )
        .expect("write");
        let config = FileConfig::load(&path).expect("valid");
        let tls = config.tls.as_ref().expect("tls");
        assert_eq!(tls.cert, dir.path().join("c.pem"));
        assert!(tls.require_tls);
        let directory = config.directory().expect("directory");
        assert!(!directory.is_trust());
        assert_eq!(directory.len(), 1);
        std::fs::write(&path, "[auth]\nmethod = \"trust\"\n").expect("write");
        let err = FileConfig::load(&path).expect_err("no such method");
        assert!(err.contains("laketap.toml:2:"), "{err}");
    }

    #[test]
    fn relative_catalog_is_taken_from_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("laketap.toml");
        std::fs::write(&path, "catalog = \"cat\"\nmax_connections = 7\n").expect("write");
        let config = FileConfig::load(&path).expect("valid");
        assert_eq!(config.catalog, Some(dir.path().join("cat")));
        assert_eq!(config.max_connections, Some(7));
    }
}
