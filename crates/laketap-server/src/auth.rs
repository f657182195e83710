//! Who may connect: users and roles from laketap.toml, replaced while the
//! server runs (open sessions keep going, under the new grants), and the
//! startup handler that authenticates each connection.
//!
//! - With no users configured, the user `laketap` connects without a password
//!   and is an admin ([`Directory::trust`]); the server then refuses to bind a
//!   non-loopback address (see the `laketap serve` command).
//! - With users, each connection authenticates with SCRAM-SHA-256 by default,
//!   or md5 or a clear-text password when `[auth] method` says so. Verifiers
//!   are kept in PostgreSQL's format; `laketap passwd` makes one.
//! - An unknown user goes through the same exchange as a known one (with a
//!   mock verifier whose salt is stable per name) and gets the same error as
//!   a wrong password: 28P01 "password authentication failed for user …".

use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use async_trait::async_trait;
use futures::{Sink, SinkExt};
use pgwire::api::auth::{
    DefaultServerParameterProvider, StartupHandler, finish_authentication, protocol_negotiation,
    save_startup_parameters_to_metadata,
};
use pgwire::api::{
    ClientInfo, ConnectionManager, METADATA_DATABASE, METADATA_USER, PgWireConnectionState,
    PidSecretKeyGenerator, RandomPidSecretKeyGenerator,
};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::startup::{Authentication, PasswordMessageFamily};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use serde::Deserialize;

use crate::access::Access;
use crate::scram::{self, ScramError, ScramServer, Verifier};

/// `[[users]]` in laketap.toml.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// The login name.
    pub name: String,
    /// A SCRAM-SHA-256 verifier in PostgreSQL's format (from `laketap passwd`).
    pub scram: Option<String>,
    /// Or: the environment variable holding the password (read at each reload).
    pub password_env: Option<String>,
    /// Roles whose grants the user has.
    #[serde(default)]
    pub roles: Vec<String>,
}

/// `[roles.NAME]` in laketap.toml.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleConfig {
    /// Schemas the role reads (`"*"`: all).
    #[serde(default)]
    pub read: Vec<String>,
    /// Schemas the role writes into: INSERT, COPY FROM STDIN, HTTP ingest (`"*"`: all).
    #[serde(default)]
    pub write: Vec<String>,
    /// DDL, every schema, server settings.
    #[serde(default)]
    pub admin: bool,
}

/// How passwords are checked (`[auth] method`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum AuthMethod {
    /// SCRAM-SHA-256 (the default).
    #[default]
    #[serde(rename = "scram-sha-256")]
    ScramSha256,
    /// md5: needs the clear password (`password_env`); weaker, only on request.
    #[serde(rename = "md5")]
    Md5,
    /// The password in clear text: only over TLS, and only on request.
    #[serde(rename = "password")]
    Password,
}

impl AuthMethod {
    fn name(self) -> &'static str {
        match self {
            AuthMethod::ScramSha256 => "scram-sha-256",
            AuthMethod::Md5 => "md5",
            AuthMethod::Password => "password",
        }
    }
}

struct Entry {
    verifier: Verifier,
    /// The clear password, when it came from the environment (md5 needs it).
    password: Option<String>,
    access: Arc<Access>,
    /// The roles it was given (`roles = [...]`).
    roles: Vec<String>,
}

enum Mode {
    /// No users configured: one user, no password, admin.
    Trust { user: String },
    /// Users from the configuration, checked with `method`.
    Password { method: AuthMethod },
}

/// The users and their access, as of one reading of the configuration.
pub struct Directory {
    mode: Mode,
    users: HashMap<String, Entry>,
    /// `[roles.NAME]`: whether each is an admin role.
    roles: BTreeMap<String, bool>,
}

impl Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&String> = self.users.keys().collect();
        names.sort();
        match &self.mode {
            Mode::Trust { user } => write!(f, "Directory(trust {user})"),
            Mode::Password { method } => write!(f, "Directory({}: {names:?})", method.name()),
        }
    }
}

impl Directory {
    /// The no-users default: `user` connects without a password, as an admin.
    pub fn trust(user: &str) -> Directory {
        Directory {
            mode: Mode::Trust {
                user: user.to_string(),
            },
            users: HashMap::new(),
            roles: BTreeMap::new(),
        }
    }

    /// Users and roles from the configuration; `env` reads `password_env`
    /// variables. Every problem is reported, naming the user or role.
    pub fn from_config(
        method: AuthMethod,
        users: &[UserConfig],
        roles: &BTreeMap<String, RoleConfig>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Directory, String> {
        let mut problems = Vec::new();
        let mut entries = HashMap::new();
        for user in users {
            let name = user.name.trim();
            if name.is_empty() {
                problems.push("a [[users]] entry has an empty name".to_string());
                continue;
            }
            if entries.contains_key(name) {
                problems.push(format!("user \"{name}\" is declared twice"));
                continue;
            }
            let mut access = Access::default();
            for role in &user.roles {
                match roles.get(role) {
                    Some(r) => {
                        access.admin |= r.admin;
                        access.read.extend(r.read.iter().cloned());
                        access.write.extend(r.write.iter().cloned());
                    }
                    None => problems.push(format!(
                        "user \"{name}\" has role \"{role}\", which no [roles.{role}] declares"
                    )),
                }
            }
            // Writing a schema implies reading it.
            let writes: Vec<String> = access.write.iter().cloned().collect();
            access.read.extend(writes);
            let (verifier, password) = match (&user.scram, &user.password_env) {
                (Some(text), None) => match Verifier::parse(text) {
                    Ok(v) => (v, None),
                    Err(e) => {
                        problems.push(format!("user \"{name}\": scram: {e}"));
                        continue;
                    }
                },
                (None, Some(var)) => match env(var) {
                    Some(p) if !p.is_empty() => (Verifier::generate(&p), Some(p)),
                    _ => {
                        problems.push(format!(
                            "user \"{name}\": password_env {var} is not set (or empty)"
                        ));
                        continue;
                    }
                },
                (Some(_), Some(_)) => {
                    problems.push(format!(
                        "user \"{name}\": give scram or password_env, not both"
                    ));
                    continue;
                }
                (None, None) => {
                    problems.push(format!(
                        "user \"{name}\": no password: give scram = \"SCRAM-SHA-256$…\" (laketap passwd) or password_env"
                    ));
                    continue;
                }
            };
            if method == AuthMethod::Md5 && password.is_none() {
                problems.push(format!(
                    "user \"{name}\": [auth] method = \"md5\" needs the clear password (password_env); a SCRAM verifier cannot answer md5"
                ));
                continue;
            }
            entries.insert(
                name.to_string(),
                Entry {
                    verifier,
                    password,
                    access: Arc::new(access),
                    roles: user.roles.clone(),
                },
            );
        }
        if !problems.is_empty() {
            return Err(problems.join("; "));
        }
        Ok(Directory {
            mode: Mode::Password { method },
            users: entries,
            roles: roles
                .iter()
                .map(|(name, r)| (name.clone(), r.admin))
                .collect(),
        })
    }

    /// No users: the trust default.
    pub fn is_trust(&self) -> bool {
        matches!(self.mode, Mode::Trust { .. })
    }

    /// How many users are configured.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// No users are configured.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// The login users: (name, admin, roles given), sorted by name.
    pub fn logins(&self) -> Vec<(String, bool, Vec<String>)> {
        match &self.mode {
            Mode::Trust { user } => vec![(user.clone(), true, Vec::new())],
            Mode::Password { .. } => {
                let mut users: Vec<(String, bool, Vec<String>)> = self
                    .users
                    .iter()
                    .map(|(name, e)| (name.clone(), e.access.admin, e.roles.clone()))
                    .collect();
                users.sort();
                users
            }
        }
    }

    /// The configured roles (`[roles.NAME]`) and whether each is an admin
    /// role, sorted by name.
    pub fn roles(&self) -> &BTreeMap<String, bool> {
        &self.roles
    }

    fn access(&self, user: &str) -> Arc<Access> {
        match &self.mode {
            Mode::Trust { user: trusted } if trusted == user => Arc::new(Access::admin()),
            Mode::Trust { .. } => Arc::new(Access::default()),
            Mode::Password { .. } => self
                .users
                .get(user)
                .map_or_else(|| Arc::new(Access::default()), |e| e.access.clone()),
        }
    }
}

/// The authenticated user of a connection (set once authentication succeeded).
#[derive(Debug, Clone)]
pub struct SessionUser(pub String);

/// The server's users, replaceable while it runs.
pub struct Auth {
    directory: RwLock<Arc<Directory>>,
    /// Salts the mock verifiers of unknown users.
    secret: [u8; 32],
    require_tls: bool,
    database: String,
    connections: Arc<ConnectionManager>,
    /// The logged-in connections (`pg_stat_ssl`).
    backends: Arc<crate::backends::Backends>,
    keys: RandomPidSecretKeyGenerator,
    /// HTTP Basic credentials already checked against the current directory
    /// (SHA-256 of user and password), so a producer is not PBKDF2'd per request.
    basic_ok: Mutex<HashMap<Vec<u8>, String>>,
}

impl Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Auth({:?})", self.current())
    }
}

fn fatal(code: &str, message: String) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "FATAL".to_string(),
        code.to_string(),
        message,
    )))
}

fn failed(user: &str) -> PgWireError {
    fatal(
        "28P01",
        format!("password authentication failed for user \"{user}\""),
    )
}

impl Auth {
    /// Users of `directory`; clients must ask for `database` (or none).
    pub fn new(directory: Directory, database: &str, require_tls: bool) -> Auth {
        let mut secret = [0u8; 32];
        if ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut secret).is_err() {
            // The mock salts then only hide users from a client that cannot
            // compare them across servers: still no way to tell users apart.
            tracing::warn!("no system randomness for the mock verifier secret");
        }
        Auth {
            directory: RwLock::new(Arc::new(directory)),
            secret,
            require_tls,
            database: database.to_string(),
            connections: Arc::new(ConnectionManager::new()),
            backends: Arc::default(),
            keys: RandomPidSecretKeyGenerator::default(),
            basic_ok: Mutex::new(HashMap::new()),
        }
    }

    /// The directory in force.
    pub fn current(&self) -> Arc<Directory> {
        self.directory
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Replaces the users and roles: new connections and the next statement
    /// of every open session use them.
    pub fn replace(&self, directory: Directory) {
        tracing::info!(directory = ?directory, "users and roles loaded");
        *self.directory.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(directory);
        self.basic_ok
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// What `user` may do now (nothing for an unknown user).
    pub fn access_of(&self, user: &str) -> Arc<Access> {
        self.current().access(user)
    }

    /// The connections, for cancel requests.
    pub fn connections(&self) -> Arc<ConnectionManager> {
        self.connections.clone()
    }

    /// The logged-in connections and their TLS.
    pub fn backends(&self) -> Arc<crate::backends::Backends> {
        self.backends.clone()
    }

    /// Checks an HTTP `Authorization` header: Basic user:password against the
    /// user's verifier. In the no-users default no header is needed.
    pub fn http_user(&self, header: Option<&str>) -> Result<(String, Arc<Access>), String> {
        use base64::Engine as _;
        let directory = self.current();
        if let Mode::Trust { user } = &directory.mode {
            return Ok((user.clone(), directory.access(user)));
        }
        let header = header.ok_or_else(|| {
            "authentication required: send Authorization: Basic base64(user:password)".to_string()
        })?;
        let encoded = header
            .strip_prefix("Basic ")
            .or_else(|| header.strip_prefix("basic "))
            .ok_or_else(|| "only Basic authorization is supported".to_string())?;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| "the Basic credentials are not base64".to_string())?;
        let text = String::from_utf8(decoded)
            .map_err(|_| "the Basic credentials are not UTF-8".to_string())?;
        let (user, password) = text
            .split_once(':')
            .ok_or_else(|| "the Basic credentials are not user:password".to_string())?;
        let key = ring::digest::digest(&ring::digest::SHA256, text.as_bytes())
            .as_ref()
            .to_vec();
        let known = self
            .basic_ok
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            .is_some_and(|u| u == user);
        let refused = || format!("password authentication failed for user \"{user}\"");
        if !known {
            // An unknown user costs the same PBKDF2 as a known one.
            let ok = match directory.users.get(user) {
                Some(entry) => entry.verifier.verify_password(password),
                None => {
                    let _ = Verifier::mock(user, &self.secret).verify_password(password);
                    false
                }
            };
            if !ok {
                return Err(refused());
            }
            self.basic_ok
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(key, user.to_string());
        }
        Ok((user.to_string(), directory.access(user)))
    }
}

enum Stage {
    Start,
    ScramFirst {
        user: String,
    },
    ScramFinal {
        user: String,
        real: bool,
        server: Box<ScramServer>,
    },
    Md5 {
        user: String,
        salt: [u8; 4],
    },
    Clear {
        user: String,
    },
}

/// One connection's startup: TLS requirement, database, authentication.
pub struct Startup {
    auth: Arc<Auth>,
    stage: Mutex<Stage>,
    /// Set once the connection is authenticated (the auth timeout watches it).
    authenticated: Arc<AtomicBool>,
    /// The server's default statement_timeout in ms (0: none).
    statement_timeout_ms: u64,
}

impl Startup {
    /// The startup of one connection; `authenticated` is set on success;
    /// sessions start with `statement_timeout_ms` (0: none).
    pub fn new(
        auth: Arc<Auth>,
        authenticated: Arc<AtomicBool>,
        statement_timeout_ms: u64,
    ) -> Startup {
        Startup {
            auth,
            stage: Mutex::new(Stage::Start),
            authenticated,
            statement_timeout_ms,
        }
    }

    fn set(&self, stage: Stage) {
        *self.stage.lock().unwrap_or_else(|p| p.into_inner()) = stage;
    }

    fn take(&self) -> Stage {
        std::mem::replace(
            &mut *self.stage.lock().unwrap_or_else(|p| p.into_inner()),
            Stage::Start,
        )
    }

    async fn finish<C>(&self, client: &mut C, user: &str) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let (pid, secret_key) = self.auth.keys.generate(client);
        client.set_pid_and_secret_key(pid, secret_key.clone());
        let (handle, guard) = self.auth.connections.register(pid, secret_key);
        let cancel = handle.clone();
        client.session_extensions().insert(handle);
        client.session_extensions().insert(guard);
        client
            .session_extensions()
            .insert(SessionUser(user.to_string()));
        // (A startup extra_float_digits, which pgjdbc sends, and the other
        // startup settings were written where they are read at startup.)
        let startup_timeout = client
            .session_extensions()
            .get::<crate::settings::StartupSettings>()
            .is_some_and(|s| s.0.iter().any(|(guc, _)| guc.name == "statement_timeout"));
        if self.statement_timeout_ms > 0 && !startup_timeout {
            // Where the statement timeout is read (and SET writes it).
            client.metadata_mut().insert(
                "statement_timeout_ms".to_string(),
                self.statement_timeout_ms.to_string(),
            );
        }

        let mut parameters = DefaultServerParameterProvider::default();
        parameters.server_version = crate::handlers::SERVER_VERSION.to_string();
        // PostgreSQL's defaults, as SHOW answers them (pgwire's differ).
        let default = |name: &str| {
            laketap_engine::pgsettings::lookup(name)
                .map_or_else(String::new, |g| g.default.to_string())
        };
        // The startup packet's settings, reported as PostgreSQL reports them.
        let startup = client
            .session_extensions()
            .get::<crate::settings::StartupSettings>()
            .map(|s| s.0.clone())
            .unwrap_or_default();
        let default = |name: &str| {
            startup
                .iter()
                .find(|(guc, _)| guc.name.eq_ignore_ascii_case(name))
                .map_or_else(|| default(name), |(_, value)| value.clone())
        };
        parameters.date_style = default("DateStyle");
        parameters.time_zone = default("TimeZone");
        parameters.interval_style = default("IntervalStyle");
        parameters.application_name = Some(default("application_name"));
        // Listed in pg_stat_activity and pg_stat_ssl until the connection ends.
        let tls = client
            .session_extensions()
            .get::<crate::backends::ConnectionTls>()
            .and_then(|t| t.0.clone());
        let listed = self.auth.backends.register(
            pid,
            crate::backends::Login {
                user: user.to_string(),
                client: Some(client.socket_addr()),
                application_name: default("application_name"),
                tls,
                cancel: Some(cancel),
                terminate: client
                    .session_extensions()
                    .get::<crate::backends::Terminate>()
                    .map(|t| t.0.clone()),
            },
        );
        client.session_extensions().insert(listed);
        finish_authentication(client, &parameters).await?;
        client.set_state(PgWireConnectionState::ReadyForQuery);
        self.authenticated.store(true, Ordering::Release);
        tracing::debug!(user = %user, addr = %client.socket_addr(), tls = client.is_secure(), "connection authenticated");
        Ok(())
    }
}

/// A password message's content, whichever way pgwire decoded it.
fn password_body(message: PasswordMessageFamily) -> Vec<u8> {
    match message {
        PasswordMessageFamily::Raw(body) => body.to_vec(),
        PasswordMessageFamily::Password(p) => {
            let mut body = p.password.into_bytes();
            body.push(0);
            body
        }
        PasswordMessageFamily::SASLInitialResponse(r) => {
            let mut body = r.auth_method.into_bytes();
            body.push(0);
            match r.data {
                Some(data) => {
                    body.extend_from_slice(&(data.len() as i32).to_be_bytes());
                    body.extend_from_slice(&data);
                }
                None => body.extend_from_slice(&(-1i32).to_be_bytes()),
            }
            body
        }
        PasswordMessageFamily::SASLResponse(r) => r.data.to_vec(),
        _ => Vec::new(),
    }
}

/// A NUL-terminated password string.
fn cstring(body: &[u8]) -> String {
    let end = body.iter().position(|b| *b == 0).unwrap_or(body.len());
    String::from_utf8_lossy(&body[..end]).into_owned()
}

fn scram_error(e: ScramError, user: &str) -> PgWireError {
    match e {
        ScramError::WrongProof => failed(user),
        ScramError::ChannelBindingUnsupported => fatal(
            "08P01",
            "SCRAM channel binding is not supported by this server: connect with channel_binding=disable or prefer".to_string(),
        ),
        ScramError::Malformed(m) => fatal("08P01", format!("malformed SCRAM message: {m}")),
    }
}

#[async_trait]
impl StartupHandler for Startup {
    async fn on_startup<C>(
        &self,
        client: &mut C,
        message: PgWireFrontendMessage,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let directory = self.auth.current();
        match message {
            PgWireFrontendMessage::Startup(ref startup) => {
                if self.auth.require_tls && !client.is_secure() {
                    tracing::warn!(addr = %client.socket_addr(), "refused: connection without TLS");
                    return Err(fatal(
                        "28000",
                        "this server requires TLS (require_tls): connect with sslmode=require"
                            .to_string(),
                    ));
                }
                protocol_negotiation(client, startup).await?;
                save_startup_parameters_to_metadata(client, startup);
                // Settings in the startup packet (pgjdbc's TimeZone and
                // DateStyle, libpq's PGOPTIONS, asyncpg's server_settings)
                // apply to the session as a SET would.
                let settings =
                    crate::settings::startup_settings(&startup.parameters).map_err(|e| {
                        fatal(crate::settings::setting_code(&e), e.message().to_string())
                    })?;
                crate::settings::mirror_startup(client.metadata_mut(), &settings);
                client.session_extensions().insert(settings);
                let user = client
                    .metadata()
                    .get(METADATA_USER)
                    .cloned()
                    .unwrap_or_default();
                if let Some(database) = client.metadata().get(METADATA_DATABASE)
                    && database != &self.auth.database
                {
                    return Err(fatal(
                        "3D000",
                        format!(
                            "database \"{database}\" does not exist: connect to \"{}\"",
                            self.auth.database
                        ),
                    ));
                }
                match &directory.mode {
                    Mode::Trust { user: trusted } => {
                        if &user != trusted {
                            tracing::warn!(user = %user, addr = %client.socket_addr(), "refused: unknown user");
                            return Err(fatal(
                                "28000",
                                format!(
                                    "role \"{user}\" does not exist: no users are configured, so only \"{trusted}\" may connect (psql -U {trusted})"
                                ),
                            ));
                        }
                        self.finish(client, &user).await
                    }
                    Mode::Password { method } => {
                        let request = match method {
                            AuthMethod::ScramSha256 => {
                                self.set(Stage::ScramFirst { user });
                                Authentication::SASL(vec!["SCRAM-SHA-256".to_string()])
                            }
                            AuthMethod::Md5 => {
                                let mut salt = [0u8; 4];
                                ring::rand::SecureRandom::fill(
                                    &ring::rand::SystemRandom::new(),
                                    &mut salt,
                                )
                                .map_err(|_| {
                                    fatal("58000", "no system randomness for the md5 salt".into())
                                })?;
                                self.set(Stage::Md5 { user, salt });
                                Authentication::MD5Password(salt.to_vec())
                            }
                            AuthMethod::Password => {
                                self.set(Stage::Clear { user });
                                Authentication::CleartextPassword
                            }
                        };
                        client
                            .send(PgWireBackendMessage::Authentication(request))
                            .await?;
                        client.set_state(PgWireConnectionState::AuthenticationInProgress);
                        Ok(())
                    }
                }
            }
            PgWireFrontendMessage::PasswordMessageFamily(password) => {
                let body = password_body(password);
                match self.take() {
                    Stage::ScramFirst { user } => {
                        let (mechanism, data) = scram::parse_initial_response(&body)
                            .map_err(|e| scram_error(e, &user))?;
                        let (verifier, real) = match directory.users.get(&user) {
                            Some(entry) => (entry.verifier.clone(), true),
                            None => (Verifier::mock(&user, &self.auth.secret), false),
                        };
                        let mut server = ScramServer::new(verifier);
                        let reply = server
                            .client_first(&mechanism, &data)
                            .map_err(|e| scram_error(e, &user))?;
                        client
                            .send(PgWireBackendMessage::Authentication(
                                Authentication::SASLContinue(reply.into()),
                            ))
                            .await?;
                        self.set(Stage::ScramFinal {
                            user,
                            real,
                            server: Box::new(server),
                        });
                        Ok(())
                    }
                    Stage::ScramFinal {
                        user,
                        real,
                        mut server,
                    } => {
                        let reply = server
                            .client_final(&body)
                            .map_err(|e| scram_error(e, &user))?;
                        if !real {
                            return Err(failed(&user));
                        }
                        client
                            .send(PgWireBackendMessage::Authentication(
                                Authentication::SASLFinal(reply.into()),
                            ))
                            .await?;
                        self.finish(client, &user).await
                    }
                    Stage::Md5 { user, salt } => {
                        let given = cstring(&body);
                        let ok = directory
                            .users
                            .get(&user)
                            .and_then(|e| e.password.as_deref())
                            .is_some_and(|p| {
                                let expected = scram::md5_response(p, &user, salt);
                                scram::constant_time_eq(expected.as_bytes(), given.as_bytes())
                            });
                        if !ok {
                            return Err(failed(&user));
                        }
                        self.finish(client, &user).await
                    }
                    Stage::Clear { user } => {
                        let given = cstring(&body);
                        let ok = directory
                            .users
                            .get(&user)
                            .is_some_and(|e| e.verifier.verify_password(&given));
                        if !ok {
                            return Err(failed(&user));
                        }
                        self.finish(client, &user).await
                    }
                    Stage::Start => Err(fatal(
                        "08P01",
                        "unexpected password message before authentication was asked".to_string(),
                    )),
                }
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles() -> BTreeMap<String, RoleConfig> {
        let mut roles = BTreeMap::new();
        roles.insert(
            "analyst".to_string(),
            RoleConfig {
                read: vec!["kpi".to_string()],
                ..RoleConfig::default()
            },
        );
        roles.insert(
            "engineer".to_string(),
            RoleConfig {
                read: vec!["kpi".to_string()],
                write: vec!["amp".to_string()],
                ..RoleConfig::default()
            },
        );
        roles
    }

    #[test]
    fn roles_combine_and_writes_imply_reads() {
        let users = vec![UserConfig {
            name: "eng".to_string(),
            password_env: Some("P".to_string()),
            roles: vec!["analyst".to_string(), "engineer".to_string()],
            ..UserConfig::default()
        }];
        let d = Directory::from_config(AuthMethod::ScramSha256, &users, &roles(), |_| {
            Some("pw".to_string())
        })
        .expect("valid");
        let a = d.access("eng");
        assert!(a.can_read("amp") && a.can_read("kpi") && a.can_write("amp"));
        assert!(!a.can_write("kpi") && !a.admin && !a.can_read("laketap"));
        assert_eq!(*d.access("nobody"), Access::default());
        assert!(!d.access("nobody").can_read("kpi"));
    }

    #[test]
    fn every_configuration_problem_is_named() {
        let users = vec![
            UserConfig {
                name: "a".to_string(),
                roles: vec!["ghost".to_string()],
                password_env: Some("UNSET".to_string()),
                ..UserConfig::default()
            },
            UserConfig {
                name: "b".to_string(),
                ..UserConfig::default()
            },
            UserConfig {
                name: "c".to_string(),
                scram: Some("SCRAM-SHA-256$nope".to_string()),
                ..UserConfig::default()
            },
        ];
        let e = Directory::from_config(AuthMethod::ScramSha256, &users, &roles(), |_| None)
            .expect_err("invalid");
        assert!(e.contains("user \"a\" has role \"ghost\""), "{e}");
        assert!(e.contains("password_env UNSET is not set"), "{e}");
        assert!(e.contains("user \"b\": no password"), "{e}");
        assert!(e.contains("user \"c\": scram:"), "{e}");
    }

    #[test]
    fn http_basic_checks_the_verifier() {
        use base64::Engine as _;
        let users = vec![UserConfig {
            name: "eng".to_string(),
            scram: Some(Verifier::generate("s3cret").to_string()),
            roles: vec!["engineer".to_string()],
            ..UserConfig::default()
        }];
        let d = Directory::from_config(AuthMethod::ScramSha256, &users, &roles(), |_| None)
            .expect("valid");
        let auth = Auth::new(d, "laketap", false);
        let basic = |s: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(s)
            )
        };
        let (user, access) = auth.http_user(Some(&basic("eng:s3cret"))).expect("right");
        assert_eq!(user, "eng");
        assert!(access.can_write("amp"));
        // Cached the second time, still the same answer.
        assert!(auth.http_user(Some(&basic("eng:s3cret"))).is_ok());
        let wrong = auth.http_user(Some(&basic("eng:nope"))).expect_err("wrong");
        let unknown = auth
            .http_user(Some(&basic("who:nope")))
            .expect_err("unknown");
        assert_eq!(wrong, "password authentication failed for user \"eng\"");
        assert_eq!(unknown, "password authentication failed for user \"who\"");
        assert!(auth.http_user(None).is_err());
        // The trust default needs no header.
        let trust = Auth::new(Directory::trust("laketap"), "laketap", false);
        let (user, access) = trust.http_user(None).expect("trust");
        assert_eq!(user, "laketap");
        assert!(access.admin);
    }
}
