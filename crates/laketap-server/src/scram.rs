//! SCRAM-SHA-256 (RFC 5802, RFC 7677) on the server side, with PostgreSQL's verifiers.
//!
//! The server stores a [`Verifier`] (salt, iteration count, StoredKey and ServerKey), never a
//! password, in PostgreSQL's text form `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`
//! so that verifiers can be copied from `pg_authid.rolpassword` and back. A [`ScramServer`] runs
//! one exchange: [`ScramServer::client_first`] answers the SASLInitialResponse and
//! [`ScramServer::client_final`] the SASLResponse. Channel binding (`-PLUS`) is not offered.
//!
//! As PostgreSQL does, the password is prepared with SASLprep and used as it is when SASLprep
//! rejects it; the user name inside the SCRAM messages is ignored (the startup message names the
//! user); a user that does not exist gets a [`Verifier::mock`] so that its exchange looks real.
//!
//! Nothing here panics on what a client sends: every index is checked and every error is a
//! [`ScramError`].

use std::borrow::Cow;
use std::fmt;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::rand::{SecureRandom, SystemRandom};
use ring::{digest, hmac, pbkdf2};

/// The SASL mechanism this module implements, as advertised in AuthenticationSASL.
pub const MECHANISM: &str = "SCRAM-SHA-256";

/// The channel-binding variant of the mechanism, which is not offered.
const MECHANISM_PLUS: &str = "SCRAM-SHA-256-PLUS";

/// PostgreSQL's default iteration count (`scram_iterations`).
pub const DEFAULT_ITERATIONS: u32 = 4096;

/// Length of the salt of generated verifiers, as PostgreSQL (`SCRAM_DEFAULT_SALT_LEN`).
const SALT_LEN: usize = 16;

/// Random bytes in the server nonce before base64, as PostgreSQL (`SCRAM_RAW_NONCE_LEN`).
const NONCE_LEN: usize = 18;

/// Length of SHA-256 output, and so of every key and of the client proof.
const KEY_LEN: usize = 32;

/// PostgreSQL's SCRAM verifier:
/// `SCRAM-SHA-256$<iterations>:<salt b64>$<StoredKey b64>:<ServerKey b64>`.
///
/// `Debug` prints the iteration count only, so that keys never reach a log.
#[derive(Clone, PartialEq, Eq)]
pub struct Verifier {
    /// PBKDF2 iteration count, at least 1.
    pub iterations: u32,
    /// The salt of PBKDF2.
    pub salt: Vec<u8>,
    /// `H(HMAC(SaltedPassword, "Client Key"))`: checks the client's proof.
    pub stored_key: [u8; KEY_LEN],
    /// `HMAC(SaltedPassword, "Server Key")`: signs the server's final message.
    pub server_key: [u8; KEY_LEN],
}

impl Verifier {
    /// Parses PostgreSQL's text form; the error names the part that is wrong (never a key).
    pub fn parse(text: &str) -> Result<Verifier, String> {
        const FORM: &str = "expected `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`";
        let rest = text.strip_prefix("SCRAM-SHA-256$").ok_or_else(|| {
            format!("SCRAM verifier: does not start with `SCRAM-SHA-256$`; {FORM}")
        })?;
        let (iterations_salt, keys) = rest
            .split_once('$')
            .ok_or_else(|| format!("SCRAM verifier: no `$` before the keys; {FORM}"))?;
        let (iterations, salt) = iterations_salt
            .split_once(':')
            .ok_or_else(|| format!("SCRAM verifier: no `:` between iterations and salt; {FORM}"))?;
        let (stored_key, server_key) = keys.split_once(':').ok_or_else(|| {
            format!("SCRAM verifier: no `:` between StoredKey and ServerKey; {FORM}")
        })?;
        let iterations = parse_iterations(iterations)?;
        let salt = STANDARD
            .decode(salt)
            .map_err(|_| "SCRAM verifier: the salt is not valid base64".to_string())?;
        if salt.is_empty() {
            return Err("SCRAM verifier: the salt is empty".to_string());
        }
        Ok(Verifier {
            iterations,
            salt,
            stored_key: decode_key(stored_key, "StoredKey")?,
            server_key: decode_key(server_key, "ServerKey")?,
        })
    }

    /// Computes the verifier of `password` (SASLprep'd, or raw if SASLprep rejects it) with
    /// this salt and iteration count; an iteration count of 0 is taken as 1.
    pub fn from_password(password: &str, salt: &[u8], iterations: u32) -> Verifier {
        let iterations = NonZeroU32::new(iterations).unwrap_or(NonZeroU32::MIN);
        let prepared = stringprep::saslprep(password).unwrap_or(Cow::Borrowed(password));
        let mut salted_password = [0u8; KEY_LEN];
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            iterations,
            salt,
            prepared.as_bytes(),
            &mut salted_password,
        );
        let client_key = hmac_sha256(&salted_password, b"Client Key");
        Verifier {
            iterations: iterations.get(),
            salt: salt.to_vec(),
            stored_key: sha256(&client_key),
            server_key: hmac_sha256(&salted_password, b"Server Key"),
        }
    }

    /// A verifier of `password` with 16 random bytes of salt and 4096 iterations, as
    /// PostgreSQL makes them.
    pub fn generate(password: &str) -> Verifier {
        let salt: [u8; SALT_LEN] = random_bytes();
        Verifier::from_password(password, &salt, DEFAULT_ITERATIONS)
    }

    /// Checks a clear-text password (password message, HTTP Basic) against this verifier:
    /// recomputes StoredKey with this salt and iteration count, compared in constant time.
    pub fn verify_password(&self, password: &str) -> bool {
        let candidate = Verifier::from_password(password, &self.salt, self.iterations);
        constant_time_eq(&candidate.stored_key, &self.stored_key)
    }

    /// A verifier for a user that does not exist, so that its exchange looks like a real one:
    /// the salt is HMAC(secret, user) (deterministic per user, like PostgreSQL's
    /// `scram_mock_salt`), the keys random.
    ///
    /// The salt is 16 bytes and the iteration count 4096, like generated verifiers. No password
    /// matches the random StoredKey, so the exchange ends in [`ScramError::WrongProof`].
    pub fn mock(user: &str, secret: &[u8]) -> Verifier {
        let mac = hmac_sha256(secret, user.as_bytes());
        let salt = mac.get(..SALT_LEN).unwrap_or(&mac).to_vec();
        Verifier {
            iterations: DEFAULT_ITERATIONS,
            salt,
            stored_key: random_bytes(),
            server_key: random_bytes(),
        }
    }
}

impl fmt::Display for Verifier {
    /// The PostgreSQL text form, which [`Verifier::parse`] reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SCRAM-SHA-256${}:{}${}:{}",
            self.iterations,
            STANDARD.encode(&self.salt),
            STANDARD.encode(self.stored_key),
            STANDARD.encode(self.server_key)
        )
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

/// Why an exchange failed.
#[derive(Debug)]
pub enum ScramError {
    /// The client sent something that is not SCRAM-SHA-256 as specified, or sent it out of
    /// order (SQLSTATE 08P01, protocol violation). The text says what was wrong.
    Malformed(String),
    /// The client asked for channel binding (`p=` or SCRAM-SHA-256-PLUS), which is not offered.
    ChannelBindingUnsupported,
    /// The proof does not match the verifier: wrong password, or a user that does not exist
    /// (SQLSTATE 28P01, invalid password).
    WrongProof,
}

impl fmt::Display for ScramError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScramError::Malformed(why) => write!(f, "malformed SCRAM message: {why}"),
            ScramError::ChannelBindingUnsupported => f.write_str(
                "the client asked for SCRAM channel binding, which this server does not offer; \
                 connect with channel_binding=disable or prefer",
            ),
            ScramError::WrongProof => f.write_str("password authentication failed"),
        }
    }
}

impl std::error::Error for ScramError {}

/// Shorthand for a [`ScramError::Malformed`].
fn malformed<T>(why: &str) -> Result<T, ScramError> {
    Err(ScramError::Malformed(why.to_string()))
}

/// One SCRAM exchange on the server side.
///
/// `Debug` prints the verifier's iteration count and the stage only.
pub struct ScramServer {
    verifier: Verifier,
    server_nonce: String,
    stage: Stage,
}

/// Where an exchange is.
enum Stage {
    /// Waiting for the client-first-message.
    ClientFirst,
    /// server-first-message sent, waiting for the client-final-message.
    ClientFinal {
        /// The GS2 header the client sent (`n,,` or `y,,`), to check `c=` against.
        gs2_header: Vec<u8>,
        /// Client nonce followed by server nonce.
        nonce: Vec<u8>,
        /// `client-first-message-bare + "," + server-first-message`: the start of AuthMessage.
        auth_prefix: Vec<u8>,
    },
    /// Done, successfully or not: any further message is out of order.
    Finished,
}

impl fmt::Debug for ScramServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stage = match self.stage {
            Stage::ClientFirst => "client-first",
            Stage::ClientFinal { .. } => "client-final",
            Stage::Finished => "finished",
        };
        f.debug_struct("ScramServer")
            .field("verifier", &self.verifier)
            .field("stage", &stage)
            .finish_non_exhaustive()
    }
}

impl ScramServer {
    /// Starts an exchange against `verifier`, with a fresh server nonce (18 random bytes in
    /// base64, like PostgreSQL).
    pub fn new(verifier: Verifier) -> ScramServer {
        let nonce: [u8; NONCE_LEN] = random_bytes();
        ScramServer::with_server_nonce(verifier, STANDARD.encode(nonce))
    }

    /// Starts an exchange with a given server nonce (printable, no comma): for test vectors.
    fn with_server_nonce(verifier: Verifier, server_nonce: String) -> ScramServer {
        ScramServer {
            verifier,
            server_nonce,
            stage: Stage::ClientFirst,
        }
    }

    /// SASLInitialResponse: `mechanism` must be "SCRAM-SHA-256" ("SCRAM-SHA-256-PLUS" is
    /// [`ScramError::ChannelBindingUnsupported`]); `data` is client-first-message.
    ///
    /// The GS2 header is "n,," or "y,," ('y' is fine because -PLUS is not offered); "p=…" is
    /// [`ScramError::ChannelBindingUnsupported`]; an authzid "a=" is refused as Malformed, like
    /// PostgreSQL. The user name in n= is ignored as PostgreSQL does, and may be empty. A
    /// mandatory extension (m=) is refused; optional extensions after the nonce are ignored.
    ///
    /// Returns server-first-message bytes
    /// "r=<client nonce><server nonce>,s=<salt b64>,i=<iterations>". Any error ends the exchange.
    pub fn client_first(&mut self, mechanism: &str, data: &[u8]) -> Result<Vec<u8>, ScramError> {
        if !matches!(self.stage, Stage::ClientFirst) {
            self.stage = Stage::Finished;
            return malformed("client-first-message out of order");
        }
        self.stage = Stage::Finished;
        if mechanism == MECHANISM_PLUS {
            return Err(ScramError::ChannelBindingUnsupported);
        }
        if mechanism != MECHANISM {
            return malformed("the client selected a SASL mechanism other than SCRAM-SHA-256");
        }
        let (gs2_header, bare) = split_gs2_header(data)?;
        let client_nonce = parse_client_first_bare(bare)?;

        let mut nonce = client_nonce.to_vec();
        nonce.extend_from_slice(self.server_nonce.as_bytes());
        let mut server_first = b"r=".to_vec();
        server_first.extend_from_slice(&nonce);
        server_first.extend_from_slice(b",s=");
        server_first.extend_from_slice(STANDARD.encode(&self.verifier.salt).as_bytes());
        server_first.extend_from_slice(format!(",i={}", self.verifier.iterations).as_bytes());

        let mut auth_prefix = bare.to_vec();
        auth_prefix.push(b',');
        auth_prefix.extend_from_slice(&server_first);
        self.stage = Stage::ClientFinal {
            gs2_header: gs2_header.to_vec(),
            nonce,
            auth_prefix,
        };
        Ok(server_first)
    }

    /// SASLResponse: client-final-message "c=<b64 of gs2 header>,r=<nonce>,p=<proof b64>"
    /// (extensions before p= allowed and ignored).
    ///
    /// Checks that c= decodes to the GS2 header received, r= equals the full nonce and the proof
    /// is 32 bytes (else Malformed); then ClientSignature = HMAC(StoredKey, AuthMessage),
    /// ClientKey = proof XOR ClientSignature, and H(ClientKey) == StoredKey in constant time, else
    /// [`ScramError::WrongProof`]. AuthMessage is client-first-message-bare + "," +
    /// server-first-message + "," + client-final-message-without-proof.
    ///
    /// Returns server-final-message "v=<b64 HMAC(ServerKey, AuthMessage)>". The exchange is
    /// finished afterwards, whatever the result.
    pub fn client_final(&mut self, data: &[u8]) -> Result<Vec<u8>, ScramError> {
        let Stage::ClientFinal {
            gs2_header,
            nonce,
            auth_prefix,
        } = std::mem::replace(&mut self.stage, Stage::Finished)
        else {
            return malformed("client-final-message out of order");
        };
        // The proof is the last attribute; everything before its comma is signed.
        let Some(comma) = data.iter().rposition(|&b| b == b',') else {
            return malformed("client-final-message has no proof (p=)");
        };
        let (without_proof, proof) = (data.get(..comma), data.get(comma + 1..));
        let (Some(without_proof), Some(proof)) = (without_proof, proof) else {
            return malformed("client-final-message has no proof (p=)");
        };
        let Some(proof) = proof.strip_prefix(b"p=") else {
            return malformed("the proof (p=) must be the last attribute of client-final-message");
        };

        let mut attributes = without_proof.split(|&b| b == b',');
        let Some(binding) = attributes.next().and_then(|a| a.strip_prefix(b"c=")) else {
            return malformed("client-final-message must start with channel binding (c=)");
        };
        match STANDARD.decode(binding) {
            Ok(binding) if binding == gs2_header => {}
            _ => return malformed("channel binding (c=) does not match the GS2 header"),
        }
        let Some(client_nonce) = attributes.next().and_then(|a| a.strip_prefix(b"r=")) else {
            return malformed("client-final-message must give the nonce (r=) after c=");
        };
        if client_nonce != nonce.as_slice() {
            return malformed("the nonce (r=) does not match the one of this exchange");
        }
        for extension in attributes {
            check_extension(extension)?;
        }
        let Ok(proof) = STANDARD.decode(proof) else {
            return malformed("the proof (p=) is not valid base64");
        };
        let Ok(proof) = <[u8; KEY_LEN]>::try_from(proof.as_slice()) else {
            return malformed("the proof (p=) must be 32 bytes");
        };

        let mut auth_message = auth_prefix;
        auth_message.push(b',');
        auth_message.extend_from_slice(without_proof);
        let client_signature = hmac_sha256(&self.verifier.stored_key, &auth_message);
        let mut client_key = proof;
        for (key, signature) in client_key.iter_mut().zip(client_signature) {
            *key ^= signature;
        }
        if !constant_time_eq(&sha256(&client_key), &self.verifier.stored_key) {
            return Err(ScramError::WrongProof);
        }
        let server_signature = hmac_sha256(&self.verifier.server_key, &auth_message);
        let mut server_final = b"v=".to_vec();
        server_final.extend_from_slice(STANDARD.encode(server_signature).as_bytes());
        Ok(server_final)
    }
}

/// Splits client-first-message into its GS2 header (`n,,` or `y,,`) and the bare message.
fn split_gs2_header(data: &[u8]) -> Result<(&[u8], &[u8]), ScramError> {
    match data.first() {
        Some(b'n' | b'y') => {}
        Some(b'p') if data.get(1) == Some(&b'=') => {
            return Err(ScramError::ChannelBindingUnsupported);
        }
        _ => return malformed("client-first-message must start with 'n', 'y' or 'p='"),
    }
    if data.get(1) != Some(&b',') {
        return malformed("a comma must follow the channel binding flag of client-first-message");
    }
    match data.get(2) {
        Some(b',') => {}
        Some(b'a') if data.get(3) == Some(&b'=') => {
            return malformed("an authorization identity (a=) is not supported");
        }
        _ => return malformed("the GS2 header of client-first-message must end with ','"),
    }
    data.split_at_checked(3)
        .ok_or_else(|| ScramError::Malformed("client-first-message is truncated".to_string()))
}

/// Reads client-first-message-bare (`n=<user>,r=<nonce>[,extensions]`) and returns the nonce.
fn parse_client_first_bare(bare: &[u8]) -> Result<&[u8], ScramError> {
    let mut attributes = bare.split(|&b| b == b',');
    let first = attributes.next().unwrap_or_default();
    if first.starts_with(b"m=") {
        return malformed("mandatory SCRAM extensions (m=) are not supported");
    }
    if !first.starts_with(b"n=") {
        return malformed("client-first-message must give the user name (n=) after the GS2 header");
    }
    let Some(nonce) = attributes.next().and_then(|a| a.strip_prefix(b"r=")) else {
        return malformed("client-first-message must give the nonce (r=) after the user name");
    };
    // RFC 5802 `printable`: %x21-2B / %x2D-7E (the comma cannot occur after the split).
    if nonce.is_empty() || !nonce.iter().all(|b| (0x21..=0x7e).contains(b)) {
        return malformed("the client nonce (r=) must be non-empty printable ASCII");
    }
    for extension in attributes {
        check_extension(extension)?;
    }
    Ok(nonce)
}

/// An optional extension attribute: `<letter>=<value>`, ignored.
fn check_extension(attribute: &[u8]) -> Result<(), ScramError> {
    match attribute {
        [letter, b'=', ..] if letter.is_ascii_alphabetic() => Ok(()),
        _ => malformed("a SCRAM attribute must have the form <letter>=<value>"),
    }
}

/// The SASL data of the SASLInitialResponse ('p' message body):
/// `mechanism\0 int32 len data` (len -1 = no data). Never panics on any bytes.
///
/// With no data (length -1) the data is empty, which [`ScramServer::client_first`] refuses.
/// Bytes after the data are refused.
pub fn parse_initial_response(body: &[u8]) -> Result<(String, Vec<u8>), ScramError> {
    let Some(nul) = body.iter().position(|&b| b == 0) else {
        return malformed("the SASL mechanism name is not NUL-terminated");
    };
    let (Some(mechanism), Some(rest)) = (body.get(..nul), body.get(nul + 1..)) else {
        return malformed("the SASL mechanism name is not NUL-terminated");
    };
    let Ok(mechanism) = std::str::from_utf8(mechanism) else {
        return malformed("the SASL mechanism name is not UTF-8");
    };
    let Some((length, data)) = rest.split_first_chunk::<4>() else {
        return malformed("SASLInitialResponse has no data length");
    };
    let length = i32::from_be_bytes(*length);
    if length == -1 && data.is_empty() {
        return Ok((mechanism.to_string(), Vec::new()));
    }
    match usize::try_from(length) {
        Ok(length) if length == data.len() => Ok((mechanism.to_string(), data.to_vec())),
        _ => malformed("the data length of SASLInitialResponse does not match its data"),
    }
}

/// PostgreSQL's md5 password hash as the client computes it:
/// "md5" + hex(md5(hex(md5(password + user)) + salt)).
pub fn md5_response(password: &str, user: &str, salt: [u8; 4]) -> String {
    let mut inner = md5::Context::new();
    inner.consume(password.as_bytes());
    inner.consume(user.as_bytes());
    let mut outer = md5::Context::new();
    outer.consume(format!("{:x}", inner.finalize()).as_bytes());
    outer.consume(salt);
    format!("md5{:x}", outer.finalize())
}

/// HMAC-SHA-256 of `data` under `key`.
fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; KEY_LEN] {
    to_key(hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data).as_ref())
}

/// SHA-256 of `data`.
fn sha256(data: &[u8]) -> [u8; KEY_LEN] {
    to_key(digest::digest(&digest::SHA256, data).as_ref())
}

/// Copies a SHA-256-sized output into an array (zero-padded should it ever be shorter).
fn to_key(bytes: &[u8]) -> [u8; KEY_LEN] {
    let mut key = [0u8; KEY_LEN];
    for (to, from) in key.iter_mut().zip(bytes) {
        *to = *from;
    }
    key
}

/// Iteration count of a verifier: decimal digits, at least 1.
fn parse_iterations(text: &str) -> Result<u32, String> {
    let parsed = if text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse::<u32>().ok()
    } else {
        None
    };
    match parsed {
        Some(0) => Err("SCRAM verifier: the iteration count must be at least 1".to_string()),
        Some(iterations) => Ok(iterations),
        None => Err(format!(
            "SCRAM verifier: the iteration count `{}` is not a whole number from 1 to 4294967295",
            text.escape_debug()
        )),
    }
}

/// A 32-byte key of a verifier, from base64.
fn decode_key(text: &str, name: &str) -> Result<[u8; KEY_LEN], String> {
    let bytes = STANDARD
        .decode(text)
        .map_err(|_| format!("SCRAM verifier: {name} is not valid base64"))?;
    <[u8; KEY_LEN]>::try_from(bytes.as_slice()).map_err(|_| {
        format!(
            "SCRAM verifier: {name} must be 32 bytes, not {}",
            bytes.len()
        )
    })
}

/// Compares two byte strings in time that depends on their length only.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut difference = 0u8;
    for (x, y) in a.iter().zip(b) {
        difference = std::hint::black_box(difference | (x ^ y));
    }
    difference == 0
}

/// `N` bytes from the system's secure random source.
///
/// Should the source ever fail (it does not on supported systems), the bytes are a SHA-256 of the
/// time, the process id and a counter: unique, which is what salts and nonces need to do their job,
/// and still no panic.
fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    if SystemRandom::new().fill(&mut bytes).is_ok() {
        return bytes;
    }
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or_default();
    for (block, chunk) in bytes.chunks_mut(KEY_LEN).enumerate() {
        let mut seed = nanos.to_le_bytes().to_vec();
        seed.extend_from_slice(&std::process::id().to_le_bytes());
        seed.extend_from_slice(&COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
        seed.extend_from_slice(&block.to_le_bytes());
        for (to, from) in chunk.iter_mut().zip(sha256(&seed)) {
            *to = from;
        }
    }
    bytes
}

#[cfg(test)]
mod tests {
    use std::panic::{AssertUnwindSafe, catch_unwind};

    use super::*;

    /// RFC 7677 section 3: user "user", password "pencil".
    const RFC_CLIENT_FIRST: &str = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
    const RFC_SERVER_NONCE: &str = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
    const RFC_SALT: &str = "W22ZaJ0SNY7soEsUEjb6gQ==";
    const RFC_SERVER_FIRST: &str =
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    const RFC_CLIENT_FINAL: &str = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
                                    p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    const RFC_SERVER_FINAL: &str = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

    /// The verifier of "secret" with salt 00 01 … 0f and 4096 iterations, computed by Python:
    /// python3 -c "import hashlib,hmac,base64 as b;s=bytes(range(16));sp=hashlib.pbkdf2_hmac('sha256',b'secret',s,4096);ck=hmac.new(sp,b'Client Key','sha256').digest();sk=hmac.new(sp,b'Server Key','sha256').digest();print('SCRAM-SHA-256\$4096:%s\$%s:%s'%(b.b64encode(s).decode(),b.b64encode(hashlib.sha256(ck).digest()).decode(),b.b64encode(sk).decode()))"
    const SECRET_VERIFIER: &str = "SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw==$\
                                   THoPhoTAuqyoQsK4dUHncUzgfD8fdmhsgKZhWVqNP5U=:\
                                   7YiHMMi2OcXGRogub03Ek06JRZ9bkhTOdCzHa5iPLiQ=";

    fn rfc_verifier() -> Verifier {
        let salt = STANDARD.decode(RFC_SALT).expect("RFC salt is base64");
        Verifier::from_password("pencil", &salt, 4096)
    }

    /// A cheap verifier (few iterations) for exchange tests.
    fn test_verifier(password: &str) -> Verifier {
        Verifier::from_password(password, b"laketap-salt", 16)
    }

    /// A SCRAM client written from RFC 5802: answers `server_first` for `password` (with
    /// `extensions` before the proof), and returns the client-final-message and the
    /// server-final-message it expects.
    fn client_final_for(
        password: &str,
        gs2_header: &str,
        client_first_bare: &str,
        server_first: &[u8],
        extensions: &str,
    ) -> (String, String) {
        let server_first = std::str::from_utf8(server_first).expect("server-first is UTF-8");
        let attributes: Vec<&str> = server_first.split(',').collect();
        let [nonce, salt, iterations] = attributes.as_slice() else {
            panic!("server-first has 3 attributes: {server_first}");
        };
        let nonce = nonce.strip_prefix("r=").expect("r=");
        let salt = STANDARD
            .decode(salt.strip_prefix("s=").expect("s="))
            .expect("salt");
        let iterations: u32 = iterations
            .strip_prefix("i=")
            .expect("i=")
            .parse()
            .expect("i");
        let mut salted = [0u8; 32];
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            NonZeroU32::new(iterations).expect("i >= 1"),
            &salt,
            password.as_bytes(),
            &mut salted,
        );
        let client_key = hmac_sha256(&salted, b"Client Key");
        let without_proof = format!("c={},r={nonce}{extensions}", STANDARD.encode(gs2_header));
        let auth = format!("{client_first_bare},{server_first},{without_proof}");
        let signature = hmac_sha256(&sha256(&client_key), auth.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(signature)
            .map(|(k, s)| k ^ s)
            .collect();
        let server_signature = hmac_sha256(&hmac_sha256(&salted, b"Server Key"), auth.as_bytes());
        (
            format!("{without_proof},p={}", STANDARD.encode(proof)),
            format!("v={}", STANDARD.encode(server_signature)),
        )
    }

    /// A full exchange with `password` against `verifier`, checking the server's signature.
    fn exchange(verifier: Verifier, password: &str, gs2_header: &str) -> Result<(), ScramError> {
        let mut server = ScramServer::new(verifier);
        let bare = "n=,r=fyko+d2lbbFgONRv9qkxdawL";
        let first = format!("{gs2_header}{bare}");
        let server_first = server.client_first(MECHANISM, first.as_bytes())?;
        let (client_final, expected) =
            client_final_for(password, gs2_header, bare, &server_first, "");
        let server_final = server.client_final(client_final.as_bytes())?;
        assert_eq!(String::from_utf8(server_final).expect("UTF-8"), expected);
        Ok(())
    }

    /// A server that has answered a client-first-message with nonce "abc" and server nonce "XYZ".
    fn server_after_first(verifier: Verifier) -> ScramServer {
        let mut server = ScramServer::with_server_nonce(verifier, "XYZ".to_string());
        server
            .client_first(MECHANISM, b"n,,n=u,r=abc")
            .expect("valid client-first");
        server
    }

    fn is_malformed<T: fmt::Debug>(result: Result<T, ScramError>) -> bool {
        matches!(result, Err(ScramError::Malformed(_)))
    }

    #[test]
    fn rfc7677_test_vector() {
        let mut server =
            ScramServer::with_server_nonce(rfc_verifier(), RFC_SERVER_NONCE.to_string());
        let server_first = server
            .client_first(MECHANISM, RFC_CLIENT_FIRST.as_bytes())
            .unwrap();
        assert_eq!(String::from_utf8(server_first).unwrap(), RFC_SERVER_FIRST);
        let server_final = server.client_final(RFC_CLIENT_FINAL.as_bytes()).unwrap();
        assert_eq!(String::from_utf8(server_final).unwrap(), RFC_SERVER_FINAL);
        // The exchange is over: a replay is out of order.
        assert!(is_malformed(
            server.client_final(RFC_CLIENT_FINAL.as_bytes())
        ));
    }

    #[test]
    fn verifier_matches_python_and_round_trips() {
        let salt: Vec<u8> = (0u8..16).collect();
        let verifier = Verifier::from_password("secret", &salt, 4096);
        assert_eq!(verifier.to_string(), SECRET_VERIFIER);
        let parsed = Verifier::parse(SECRET_VERIFIER).unwrap();
        assert_eq!(parsed, verifier);
        assert_eq!(parsed.iterations, 4096);
        assert_eq!(parsed.salt, salt);
        assert_eq!(parsed.to_string(), SECRET_VERIFIER);
        assert!(parsed.verify_password("secret"));
        assert!(!parsed.verify_password("Secret"));
        assert!(!parsed.verify_password(""));
        assert_eq!(format!("{parsed:?}"), "Verifier { iterations: 4096, .. }");
        let server = format!("{:?}", ScramServer::new(parsed));
        assert!(
            !server.contains("THoPho") && !server.contains("7YiHMM"),
            "{server}"
        );
    }

    #[test]
    fn parse_names_the_wrong_part() {
        let cases = [
            ("md5abc", "does not start with"),
            (
                "SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw==",
                "no `$` before the keys",
            ),
            ("SCRAM-SHA-256$4096$a:b", "between iterations and salt"),
            (
                "SCRAM-SHA-256$4096:AAAA$abc",
                "between StoredKey and ServerKey",
            ),
            (
                "SCRAM-SHA-256$x1:AAAA$a:b",
                "iteration count `x1` is not a whole number from 1 to 4294967295",
            ),
            ("SCRAM-SHA-256$+1:AAAA$a:b", "not a whole number"),
            ("SCRAM-SHA-256$99999999999:AAAA$a:b", "not a whole number"),
            ("SCRAM-SHA-256$0:AAAA$a:b", "at least 1"),
            ("SCRAM-SHA-256$1:A!==$a:b", "salt is not valid base64"),
            ("SCRAM-SHA-256$1:$a:b", "salt is empty"),
            ("SCRAM-SHA-256$1:AAAA$a:b", "StoredKey is not valid base64"),
            (
                "SCRAM-SHA-256$1:AAAA$AAAA:b",
                "StoredKey must be 32 bytes, not 3",
            ),
        ];
        for (text, expected) in cases {
            let error = Verifier::parse(text).unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
        }
        let (head, _) = SECRET_VERIFIER.rsplit_once(':').unwrap();
        let error = Verifier::parse(&format!("{head}:AAAA")).unwrap_err();
        assert!(error.contains("ServerKey must be 32 bytes"), "{error}");
    }

    #[test]
    fn generate_uses_random_salt_and_default_iterations() {
        let a = Verifier::generate("hunter2");
        let b = Verifier::generate("hunter2");
        assert_eq!((a.iterations, a.salt.len()), (4096, 16));
        assert_ne!(a.salt, b.salt);
        assert!(a.verify_password("hunter2") && b.verify_password("hunter2"));
        assert!(!a.verify_password("hunter3"));
        assert_eq!(Verifier::parse(&a.to_string()).unwrap(), a);
    }

    #[test]
    fn saslprep_and_its_fallback() {
        // RFC 4013 section 3: SOFT HYPHEN maps to nothing, so "I\u{AD}X" is "IX".
        assert_eq!(test_verifier("I\u{AD}X"), test_verifier("IX"));
        // NO-BREAK SPACE maps to SPACE.
        assert_eq!(test_verifier("a\u{A0}b"), test_verifier("a b"));
        // A control character is prohibited: the raw password is used, as PostgreSQL does.
        let raw = test_verifier("a\u{7}b");
        assert_ne!(raw, test_verifier("ab"));
        assert!(raw.verify_password("a\u{7}b"));
        assert_eq!(Verifier::from_password("x", b"s", 0).iterations, 1);
    }

    #[test]
    fn full_exchange() {
        exchange(test_verifier("pa55word"), "pa55word", "n,,").unwrap();
        // 'y': the client could bind but thinks we cannot; fine since we do not offer -PLUS.
        exchange(test_verifier("pa55word"), "pa55word", "y,,").unwrap();
        exchange(Verifier::parse(SECRET_VERIFIER).unwrap(), "secret", "n,,").unwrap();
        assert!(matches!(
            exchange(test_verifier("pa55word"), "pa55wort", "n,,"),
            Err(ScramError::WrongProof)
        ));
    }

    #[test]
    fn client_final_checks() {
        let verifier = test_verifier("pw");
        let bare = "n=u,r=abc";
        let server_first = b"r=abcXYZ,s=bGFrZXRhcC1zYWx0,i=16";
        let (good, _) = client_final_for("pw", "n,,", bare, server_first, "");
        let (_, proof) = good.rsplit_once(",p=").unwrap();
        let attempt =
            |data: String| server_after_first(verifier.clone()).client_final(data.as_bytes());
        assert!(attempt(good.clone()).is_ok());
        // An extension the proof does not cover changes AuthMessage.
        let unsigned = good.replace(",p=", ",x=ext,p=");
        assert!(matches!(attempt(unsigned), Err(ScramError::WrongProof)));
        let cases = [
            format!("c=eSws,r=abcXYZ,p={proof}"), // 'y' header, but 'n' was sent
            format!("c=biws,r=abcXY,p={proof}"),  // truncated nonce
            format!("c=biws,r=abcXYZW,p={proof}"), // longer nonce
            format!("r=abcXYZ,c=biws,p={proof}"), // wrong order
            format!("c=biws,r=abcXYZ,p={proof},x=1"), // proof not last
            format!("c=biws,r=abcXYZ,p={}", &proof[4..]), // short proof
            format!("c=biws,r=abcXYZ,p={}", STANDARD.encode([0u8; 31])),
            format!("c=biws,r=abcXYZ,1=x,p={proof}"), // bad extension
            format!("c=bi!s,r=abcXYZ,p={proof}"),
            "c=biws,r=abcXYZ".to_string(),
            String::new(),
        ];
        for case in cases {
            assert!(is_malformed(attempt(case.clone())), "{case}");
        }
        // A proof of the right shape that does not match.
        let wrong = format!("c=biws,r=abcXYZ,p={}", STANDARD.encode([7u8; 32]));
        assert!(matches!(attempt(wrong), Err(ScramError::WrongProof)));
        // Out of order.
        let mut fresh = ScramServer::new(verifier.clone());
        assert!(is_malformed(fresh.client_final(good.as_bytes())));
        assert!(is_malformed(fresh.client_first(MECHANISM, b"n,,n=u,r=abc")));
        let mut twice = server_after_first(verifier);
        assert!(is_malformed(twice.client_first(MECHANISM, b"n,,n=u,r=abc")));
    }

    #[test]
    fn extensions_in_client_final_are_ignored() {
        let verifier = test_verifier("pw");
        let bare = "n=u,r=abc";
        let server_first = b"r=abcXYZ,s=bGFrZXRhcC1zYWx0,i=16";
        let (message, expected) = client_final_for("pw", "n,,", bare, server_first, ",x=ext,y=");
        assert!(message.contains(",x=ext,y=,p="), "{message}");
        let server_final = server_after_first(verifier)
            .client_final(message.as_bytes())
            .unwrap();
        assert_eq!(String::from_utf8(server_final).unwrap(), expected);
    }

    #[test]
    fn client_first_checks() {
        let first = |mechanism: &str, data: &[u8]| {
            ScramServer::with_server_nonce(test_verifier("pw"), "XYZ".to_string())
                .client_first(mechanism, data)
        };
        assert_eq!(
            first(MECHANISM, b"n,,n=,r=abc").unwrap(),
            b"r=abcXYZ,s=bGFrZXRhcC1zYWx0,i=16".to_vec()
        );
        // The user name is ignored, extensions after the nonce too.
        assert!(first(MECHANISM, b"n,,n=someone=2Celse,r=abc,x=1").is_ok());
        assert!(matches!(
            first(MECHANISM, b"p=tls-server-end-point,,n=,r=abc"),
            Err(ScramError::ChannelBindingUnsupported)
        ));
        assert!(matches!(
            first("SCRAM-SHA-256-PLUS", b"n,,n=,r=abc"),
            Err(ScramError::ChannelBindingUnsupported)
        ));
        let malformed_cases: [(&str, &[u8]); 14] = [
            ("SCRAM-SHA-1", b"n,,n=,r=abc"),
            (MECHANISM, b""),
            (MECHANISM, b"n"),
            (MECHANISM, b"n,"),
            (MECHANISM, b"x,,n=,r=abc"),
            (MECHANISM, b"p,,n=,r=abc"),
            (MECHANISM, b"n,a=admin,n=,r=abc"),
            (MECHANISM, b"n,,m=ext,n=,r=abc"),
            (MECHANISM, b"n,,r=abc"),
            (MECHANISM, b"n,,n="),
            (MECHANISM, b"n,,n=,r="),
            (MECHANISM, b"n,,n=,r=a b"),
            (MECHANISM, b"n,,n=,r=\xffabc"),
            (MECHANISM, b"n,,n=,r=abc,=x"),
        ];
        for (mechanism, data) in malformed_cases {
            assert!(
                is_malformed(first(mechanism, data)),
                "{}",
                data.escape_ascii()
            );
        }
    }

    #[test]
    fn server_nonce_is_random_base64() {
        let a = ScramServer::new(test_verifier("pw"));
        let b = ScramServer::new(test_verifier("pw"));
        assert_eq!(a.server_nonce.len(), 24);
        assert_eq!(STANDARD.decode(&a.server_nonce).unwrap().len(), 18);
        assert_ne!(a.server_nonce, b.server_nonce);
    }

    #[test]
    fn mock_is_deterministic_per_user_and_never_matches() {
        let a = Verifier::mock("alice", b"mock-secret");
        // python3 -c "import hmac,hashlib,base64;print(base64.b64encode(hmac.new(b'mock-secret',b'alice',hashlib.sha256).digest()[:16]).decode())"
        assert_eq!(STANDARD.encode(&a.salt), "yt0EkL6DzOWOdL3jC3dcpQ==");
        assert_eq!(a.iterations, 4096);
        assert_eq!(Verifier::mock("alice", b"mock-secret").salt, a.salt);
        assert_ne!(Verifier::mock("alicf", b"mock-secret").salt, a.salt);
        assert_ne!(Verifier::mock("alice", b"other-secret").salt, a.salt);
        assert_ne!(
            Verifier::mock("alice", b"mock-secret").stored_key,
            a.stored_key
        );
        for password in ["", "secret", "alice"] {
            let result = exchange(a.clone(), password, "n,,");
            assert!(matches!(result, Err(ScramError::WrongProof)), "{password}");
            assert!(!a.verify_password(password));
        }
    }

    #[test]
    fn initial_response_parsing() {
        let mut body = b"SCRAM-SHA-256\0".to_vec();
        body.extend_from_slice(&(RFC_CLIENT_FIRST.len() as i32).to_be_bytes());
        body.extend_from_slice(RFC_CLIENT_FIRST.as_bytes());
        let (mechanism, data) = parse_initial_response(&body).unwrap();
        assert_eq!(
            (mechanism.as_str(), data.as_slice()),
            (MECHANISM, RFC_CLIENT_FIRST.as_bytes())
        );
        let (mechanism, data) = parse_initial_response(b"SCRAM-SHA-256\0\xff\xff\xff\xff").unwrap();
        assert_eq!((mechanism.as_str(), data.len()), (MECHANISM, 0));
        let mut trailing = body.clone();
        trailing.push(b'x');
        let bad: [&[u8]; 7] = [
            &body[..body.len() - 1],
            &trailing,
            b"",
            b"SCRAM-SHA-256",
            b"SCRAM-SHA-256\0\0\0",
            b"SCRAM-SHA-256\0\xff\xff\xff\xfe",
            b"\xff\0\0\0\0\0",
        ];
        for body in bad {
            assert!(
                is_malformed(parse_initial_response(body)),
                "{}",
                body.escape_ascii()
            );
        }
    }

    #[test]
    fn md5_matches_postgresql() {
        // python3 -c "import hashlib;u='alice';p='secret';s=bytes([1,2,3,4]);print('md5'+hashlib.md5(hashlib.md5((p+u).encode()).hexdigest().encode()+s).hexdigest())"
        assert_eq!(
            md5_response("secret", "alice", [1, 2, 3, 4]),
            "md598a0412b9c31436fc53776e863350083"
        );
    }

    /// xorshift64*: a small deterministic generator for the robustness test.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n.max(1)
        }
    }

    #[test]
    fn never_panics() {
        let verifier = test_verifier("pw");
        let server_first = b"r=abcXYZ,s=bGFrZXRhcC1zYWx0,i=16";
        let (client_final, _) = client_final_for("pw", "n,,", "n=u,r=abc", server_first, "");
        let body = b"SCRAM-SHA-256\0\0\0\0\x0cn,,n=u,r=abc";
        let pieces: [&[u8]; 22] = [
            b"n",
            b"y",
            b"p",
            b"=",
            b",",
            b"n,,",
            b"y,,",
            b"p=tls-server-end-point,,",
            b"a=",
            b"m=",
            b"n=u",
            b"r=",
            b"c=",
            b"p=",
            b"biws",
            b"eSws",
            b"abcXYZ",
            b"\0",
            b"\xff\xff",
            b"x=",
            b"SCRAM-SHA-256\0",
            client_final.as_bytes(),
        ];
        let mut inputs: Vec<Vec<u8>> = Vec::new();
        for valid in [client_final.as_bytes(), b"n,,n=u,r=abc,x=y", body] {
            for end in 0..=valid.len() {
                inputs.push(valid[..end].to_vec());
                let mut flipped = valid.to_vec();
                if let Some(byte) = flipped.get_mut(end) {
                    *byte ^= 0x41;
                }
                inputs.push(flipped);
            }
        }
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..4000 {
            let mut input = Vec::new();
            for _ in 0..rng.below(10) {
                if rng.below(3) == 0 {
                    input.push(rng.below(256) as u8);
                } else {
                    input.extend_from_slice(pieces[rng.below(pieces.len())]);
                }
            }
            inputs.push(input);
        }
        for input in &inputs {
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                let _ = parse_initial_response(input);
                let mut server = ScramServer::with_server_nonce(verifier.clone(), "XYZ".into());
                let _ = server.client_first(MECHANISM, input);
                let _ = server.client_final(input);
                let result = server_after_first(verifier.clone()).client_final(input);
                assert!(result.is_err() || input == client_final.as_bytes());
            }));
            assert!(outcome.is_ok(), "panicked on {}", input.escape_ascii());
        }
        assert!(inputs.len() > 4000);
    }
}
