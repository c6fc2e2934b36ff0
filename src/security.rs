//! The security flags of the four binaries (cli.md, "Security flags"), declared once and turned
//! into [`SocketOptions`] once.
//!
//! Three groups of flags, each a clap [`clap::Args`] struct that a binary flattens:
//! - [`KeyArgs`] (all four): this peer's CURVE secret key, `--curve-secret-key Z85` or
//!   `--curve-secret-key-file PATH`.
//! - [`ClientArgs`] (zmtp-cat, worker, client): `--curve-server-key Z85` (a CURVE client of that
//!   server), `--plain-user U` with `--plain-password P` or `--plain-password-file PATH`.
//! - [`ServerArgs`] (zmtp-cat, broker): `--plain-server`, `--plain-users FILE`,
//!   `--curve-clients FILE`.
//!
//! [`security`] checks them together and gives the one role they describe ([`Security`]); a
//! malformed key, an unreadable file or two roles at once is an `Err` holding the one line to
//! print (the binary prints it and exits 2). Keys are never echoed in an error.

use std::fmt;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use zmtp::auth::{AuthHandle, CurveKeys, PlainPasswords};
use zmtp::curve::KeyPair;
use zmtp::SocketOptions;

/// This peer's CURVE secret key.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct KeyArgs {
    /// CURVE secret key (Z85, 40 characters; the public key is derived from it). Alone: be a
    /// CURVE server with it. With --curve-server-key: this client's own key pair (default: a
    /// fresh pair). A key may begin with '-': `--curve-secret-key -abc...` works.
    #[arg(
        long,
        value_name = "Z85",
        allow_hyphen_values = true,
        conflicts_with = "curve_secret_key_file",
        help_heading = "Security"
    )]
    pub curve_secret_key: Option<String>,
    /// As --curve-secret-key, read from a file holding the Z85 key (surrounding whitespace
    /// ignored), or the output of `zmtp-cat keygen` (its `secret` line). Keeps the secret off
    /// the command line.
    #[arg(long, value_name = "PATH", help_heading = "Security")]
    pub curve_secret_key_file: Option<PathBuf>,
}

/// The help of --curve-secret-key on a binary that is only ever a client (worker, client), set
/// with `#[command(mut_arg("curve_secret_key", |a| a.help(CLIENT_SECRET_KEY_HELP)))]`.
pub const CLIENT_SECRET_KEY_HELP: &str =
    "With --curve-server-key: this client's own CURVE secret key \
     (Z85, 40 characters; the public key is derived from it; default: a fresh pair). A key may \
     begin with '-': `--curve-secret-key -abc...` works";

/// The client roles: CURVE client, PLAIN client.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ClientArgs {
    /// Be a CURVE client of the server with this public key (Z85, 40 characters); own key
    /// pair from --curve-secret-key or --curve-secret-key-file, else a fresh one. A key may
    /// begin with '-': `--curve-server-key -abc...` works.
    #[arg(
        long,
        value_name = "Z85",
        allow_hyphen_values = true,
        help_heading = "Security"
    )]
    pub curve_server_key: Option<String>,
    /// Be a PLAIN client with this user name (password: --plain-password or
    /// --plain-password-file; empty if neither).
    #[arg(long, value_name = "U", help_heading = "Security")]
    pub plain_user: Option<String>,
    /// The PLAIN client's password.
    #[arg(
        long,
        value_name = "P",
        allow_hyphen_values = true,
        conflicts_with = "plain_password_file",
        help_heading = "Security"
    )]
    pub plain_password: Option<String>,
    /// The PLAIN client's password, read from a file (one trailing newline ignored); keeps it
    /// off the command line.
    #[arg(long, value_name = "PATH", help_heading = "Security")]
    pub plain_password_file: Option<PathBuf>,
}

/// The server roles: PLAIN server (the CURVE server is --curve-secret-key alone), and who may
/// come in.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ServerArgs {
    /// Be a PLAIN server: clients must give a user name and password (any, unless
    /// --plain-users is given). PLAIN sends passwords in clear text.
    #[arg(long, help_heading = "Security")]
    pub plain_server: bool,
    /// With --plain-server: the users allowed, one `user:password` a line (`#` comments).
    #[arg(long, value_name = "FILE", help_heading = "Security")]
    pub plain_users: Option<PathBuf>,
    /// With --curve-secret-key (a CURVE server): the clients allowed, one Z85 public key a
    /// line (`#` comments); others are refused (logged with their address). Default: anyone
    /// who holds the server's public key.
    #[arg(long, value_name = "FILE", help_heading = "Security")]
    pub curve_clients: Option<PathBuf>,
}

/// The one security role a set of flags gives a socket.
#[derive(Clone, Default)]
pub enum Security {
    /// No flags: NULL, no security.
    #[default]
    Null,
    /// A CURVE server with this key pair; only the listed clients, if a list is given.
    CurveServer {
        /// The server's permanent key pair.
        keys: KeyPair,
        /// The clients allowed (`None`: any client holding the server key).
        allowed: Option<CurveKeys>,
    },
    /// A CURVE client of the server with this public key.
    CurveClient {
        /// The server's public key.
        server_key: [u8; 32],
        /// Our own pair (`None`: a fresh one, made by the socket).
        keys: Option<KeyPair>,
    },
    /// A PLAIN server; only the listed users, if a list is given.
    PlainServer {
        /// The users allowed (`None`: any).
        users: Option<PlainPasswords>,
    },
    /// A PLAIN client.
    PlainClient {
        /// User name.
        user: String,
        /// Password.
        password: String,
    },
}

impl fmt::Debug for Security {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never a secret: KeyPair's Debug shows the public key only; no password.
        match self {
            Security::Null => f.write_str("Null"),
            Security::CurveServer { keys, allowed } => f
                .debug_struct("CurveServer")
                .field("keys", keys)
                .field("allowed", &allowed.as_ref().map(CurveKeys::len))
                .finish(),
            Security::CurveClient { server_key, keys } => f
                .debug_struct("CurveClient")
                .field("server_key", &z85(server_key))
                .field("keys", keys)
                .finish(),
            Security::PlainServer { users } => {
                f.debug_struct("PlainServer").field("users", users).finish()
            }
            Security::PlainClient { user, .. } => f
                .debug_struct("PlainClient")
                .field("user", user)
                .finish_non_exhaustive(),
        }
    }
}

impl Security {
    /// Sets the socket options of this role.
    pub fn apply(&self, opts: &mut SocketOptions) {
        match self {
            Security::Null => {}
            Security::CurveServer { keys, allowed } => {
                opts.curve_server = true;
                opts.curve_secretkey = Some(keys.secret);
                opts.authenticator = allowed.clone().map(AuthHandle::new);
            }
            Security::CurveClient { server_key, keys } => {
                opts.curve_serverkey = Some(*server_key);
                opts.curve_secretkey = keys.as_ref().map(|k| k.secret);
            }
            Security::PlainServer { users } => {
                opts.plain_server = true;
                opts.authenticator = users.clone().map(AuthHandle::new);
            }
            Security::PlainClient { user, password } => {
                opts.plain_username = Some(Bytes::from(user.clone()));
                opts.plain_password = Some(Bytes::from(password.clone()));
            }
        }
    }

    /// The role in words, for a log line: `NULL`, `CURVE server`, ...
    pub fn name(&self) -> &'static str {
        match self {
            Security::Null => "NULL",
            Security::CurveServer { .. } => "CURVE server",
            Security::CurveClient { .. } => "CURVE client",
            Security::PlainServer { .. } => "PLAIN server",
            Security::PlainClient { .. } => "PLAIN client",
        }
    }
}

/// The role that the flags describe. `client` is `None` for a binary without the client flags
/// (broker), `server` for one without the server flags (worker, client): there
/// `--curve-secret-key` alone is an error, as it would make a server. `Err` is the one line to
/// print (exit 2).
pub fn security(
    key: &KeyArgs,
    client: Option<&ClientArgs>,
    server: Option<&ServerArgs>,
) -> Result<Security, String> {
    let none_c = ClientArgs::default();
    let none_s = ServerArgs::default();
    let c = client.unwrap_or(&none_c);
    let s = server.unwrap_or(&none_s);

    // Each role, named by the flag that asks for it.
    let secret = own_key(key)?;
    let secret_flag = if key.curve_secret_key_file.is_some() {
        "--curve-secret-key-file"
    } else {
        "--curve-secret-key"
    };
    let mut roles: Vec<&str> = Vec::new();
    if c.curve_server_key.is_some() {
        roles.push("--curve-server-key");
    } else if secret.is_some() {
        roles.push(secret_flag);
    }
    if s.plain_server {
        roles.push("--plain-server");
    }
    if c.plain_user.is_some() {
        roles.push("--plain-user");
    }
    if let [a, b, ..] = roles[..] {
        return Err(format!(
            "{a} and {b} do not go together (one security role)"
        ));
    }
    let curve_server = c.curve_server_key.is_none() && secret.is_some();
    if curve_server && server.is_none() {
        return Err(format!(
            "{secret_flag} needs --curve-server-key (the CURVE server's public key)"
        ));
    }
    if s.plain_users.is_some() && !s.plain_server {
        return Err("--plain-users needs --plain-server".into());
    }
    if s.curve_clients.is_some() && !curve_server {
        return Err(
            "--curve-clients needs --curve-secret-key or --curve-secret-key-file (a CURVE server)"
                .into(),
        );
    }
    if c.plain_password.is_some() && c.plain_user.is_none() {
        return Err("--plain-password needs --plain-user".into());
    }
    if c.plain_password_file.is_some() && c.plain_user.is_none() {
        return Err("--plain-password-file needs --plain-user".into());
    }

    if let Some(server_key) = &c.curve_server_key {
        let server_key = decode_key(server_key).map_err(|e| format!("--curve-server-key: {e}"))?;
        return Ok(Security::CurveClient {
            server_key,
            keys: secret,
        });
    }
    if let Some(keys) = secret {
        let allowed = match &s.curve_clients {
            Some(path) => Some(read_curve_keys("--curve-clients", path)?),
            None => None,
        };
        return Ok(Security::CurveServer { keys, allowed });
    }
    if s.plain_server {
        let users = match &s.plain_users {
            Some(path) => Some(read_plain_users("--plain-users", path)?),
            None => None,
        };
        return Ok(Security::PlainServer { users });
    }
    if let Some(user) = &c.plain_user {
        if user.is_empty() || user.len() > 255 {
            return Err("--plain-user must be 1 to 255 bytes".into());
        }
        let password = match (&c.plain_password, &c.plain_password_file) {
            (Some(p), _) => p.clone(),
            (None, Some(path)) => {
                let text = read("--plain-password-file", path)?;
                let text = text.strip_suffix('\n').unwrap_or(&text);
                text.strip_suffix('\r').unwrap_or(text).to_string()
            }
            (None, None) => String::new(),
        };
        if password.len() > 255 {
            return Err("the PLAIN password must be at most 255 bytes".into());
        }
        return Ok(Security::PlainClient {
            user: user.clone(),
            password,
        });
    }
    Ok(Security::Null)
}

/// The key pair of --curve-secret-key or --curve-secret-key-file, if one is given.
fn own_key(key: &KeyArgs) -> Result<Option<KeyPair>, String> {
    if let Some(text) = &key.curve_secret_key {
        let secret = decode_key(text).map_err(|e| format!("--curve-secret-key: {e}"))?;
        return Ok(Some(KeyPair::from_secret(secret)));
    }
    if let Some(path) = &key.curve_secret_key_file {
        return read_secret_key("--curve-secret-key-file", path).map(Some);
    }
    Ok(None)
}

/// A CURVE key in Z85; the error says what is wrong without repeating the text (it may be a
/// secret).
pub fn decode_key(text: &str) -> Result<[u8; 32], String> {
    let n = text.chars().count();
    if n != 40 {
        return Err(format!(
            "not a CURVE key: expected 40 Z85 characters, got {n}"
        ));
    }
    if !text.is_ascii() {
        return Err("not a CURVE key: a character outside Z85".into());
    }
    zmtp::protocol::z85::decode_key(text).map_err(|e| format!("not a CURVE key: {e}"))
}

/// The key pair of a secret key file: the file holds the Z85 secret key (surrounding
/// whitespace ignored), or `zmtp-cat keygen`'s two lines (the `secret` one is taken).
pub fn read_secret_key(flag: &str, path: &Path) -> Result<KeyPair, String> {
    let text = read(flag, path)?;
    let trimmed = text.trim();
    let z85 = trimmed
        .lines()
        .find_map(|l| l.trim().strip_prefix("secret "))
        .map_or(trimmed, str::trim);
    decode_key(z85)
        .map(KeyPair::from_secret)
        .map_err(|e| format!("{flag} {}: {e}", path.display()))
}

/// The allow-list of a `--curve-clients`-style file.
pub fn read_curve_keys(flag: &str, path: &Path) -> Result<CurveKeys, String> {
    let text = read(flag, path)?;
    CurveKeys::parse(&text).map_err(|e| format!("{flag} {}: {e}", path.display()))
}

/// The users of a `--plain-users` file.
pub fn read_plain_users(flag: &str, path: &Path) -> Result<PlainPasswords, String> {
    let text = read(flag, path)?;
    PlainPasswords::parse(&text).map_err(|e| format!("{flag} {}: {e}", path.display()))
}

fn read(flag: &str, path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{flag} {}: {e}", path.display()))
}

/// A key in Z85.
pub fn z85(key: &[u8; 32]) -> String {
    zmtp::protocol::z85::encode(key).unwrap_or_default()
}

/// A private directory for secrets handed to child processes (the broker's key for the workers
/// it spawns): mode 0700 in the temp dir, each file mode 0600, created afresh (never an existing
/// path), removed with everything in it when dropped. Secrets travel through it, never on a
/// command line (which `ps` shows to every local user).
#[derive(Debug)]
pub struct SecretDir {
    path: PathBuf,
}

impl SecretDir {
    /// A new directory `<temp dir>/<prefix>-<pid>-<random>`.
    pub fn create(prefix: &str) -> std::io::Result<SecretDir> {
        use std::hash::{BuildHasher, Hasher};
        use std::os::unix::fs::DirBuilderExt;
        let mut last = None;
        for attempt in 0u32..8 {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u32(attempt);
            let name = format!("{prefix}-{}-{:016x}", std::process::id(), h.finish());
            let path = std::env::temp_dir().join(name);
            // Fails if anything (a file, a symlink) is already there: never someone else's.
            match std::fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => return Ok(SecretDir { path }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| std::io::Error::other("no fresh name")))
    }

    /// Writes a new file `name` (mode 0600) holding `text`; returns its path.
    pub fn write(&self, name: &str, text: &str) -> std::io::Result<PathBuf> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let path = self.path.join(name);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        f.write_all(text.as_bytes())?;
        Ok(path)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for SecretDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(secret: Option<&str>) -> KeyArgs {
        KeyArgs {
            curve_secret_key: secret.map(str::to_string),
            curve_secret_key_file: None,
        }
    }

    #[test]
    fn roles_from_flags() {
        let pair = KeyPair::generate();
        let server = ServerArgs::default();
        let client = ClientArgs::default();
        let k = keys(Some(&pair.secret_z85()));
        match security(&k, Some(&client), Some(&server)).unwrap() {
            Security::CurveServer { keys, allowed } => {
                assert_eq!(keys.public, pair.public);
                assert!(allowed.is_none());
            }
            other => panic!("{other:?}"),
        }
        // Alone on a client-only binary: an error, not a server.
        assert!(security(&k, Some(&client), None).is_err());
        let c = ClientArgs {
            curve_server_key: Some(pair.public_z85()),
            ..ClientArgs::default()
        };
        match security(&k, Some(&c), None).unwrap() {
            Security::CurveClient { server_key, keys } => {
                assert_eq!(server_key, pair.public);
                assert_eq!(keys.unwrap().public, pair.public);
            }
            other => panic!("{other:?}"),
        }
        let mut opts = SocketOptions::default();
        security(&keys(None), Some(&c), None)
            .unwrap()
            .apply(&mut opts);
        assert_eq!(opts.curve_serverkey, Some(pair.public));
        assert_eq!(opts.curve_secretkey, None);
        assert!(matches!(
            security(&keys(None), None, None).unwrap(),
            Security::Null
        ));
    }

    #[test]
    fn conflicts_and_bad_keys_are_one_line_errors() {
        let pair = KeyPair::generate();
        let k = keys(Some(&pair.secret_z85()));
        let plain_server = ServerArgs {
            plain_server: true,
            ..ServerArgs::default()
        };
        let e = security(&k, None, Some(&plain_server)).unwrap_err();
        assert_eq!(
            e,
            "--curve-secret-key and --plain-server do not go together (one security role)"
        );
        let c = ClientArgs {
            curve_server_key: Some(pair.public_z85()),
            plain_user: Some("u".into()),
            ..ClientArgs::default()
        };
        assert!(security(&keys(None), Some(&c), None).is_err());
        let short = keys(Some("abc"));
        let e = security(&short, None, Some(&ServerArgs::default())).unwrap_err();
        assert_eq!(
            e,
            "--curve-secret-key: not a CURVE key: expected 40 Z85 characters, got 3"
        );
        let bad = keys(Some(&format!("{}~", &pair.secret_z85()[..39])));
        let e = security(&bad, None, Some(&ServerArgs::default())).unwrap_err();
        assert!(
            e.starts_with("--curve-secret-key: not a CURVE key: "),
            "{e}"
        );
        assert!(!e.contains(&pair.secret_z85()[..39]), "never the secret");
    }

    #[test]
    fn secret_dir_is_private_and_removed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = SecretDir::create("zmtp-demo-test").unwrap();
        let file = dir.write("key", "secret").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(dir.path()), 0o700);
        assert_eq!(mode(&file), 0o600);
        assert!(dir.write("key", "again").is_err(), "never overwritten");
        let path = dir.path().to_path_buf();
        drop(dir);
        assert!(!path.exists());
    }

    #[test]
    fn key_files_hold_a_key_or_keygen_output() {
        let pair = KeyPair::generate();
        let dir = SecretDir::create("zmtp-demo-test").unwrap();
        let plain = dir
            .write("a", &format!("  {}\n\n", pair.secret_z85()))
            .unwrap();
        let keygen = dir
            .write(
                "b",
                &format!(
                    "public {}\nsecret {}\n",
                    pair.public_z85(),
                    pair.secret_z85()
                ),
            )
            .unwrap();
        let bad = dir.write("c", "public only\n").unwrap();
        for p in [&plain, &keygen] {
            assert_eq!(read_secret_key("--f", p).unwrap().public, pair.public);
        }
        let e = read_secret_key("--f", &bad).unwrap_err();
        assert!(
            e.starts_with("--f ") && e.contains("not a CURVE key"),
            "{e}"
        );
    }
}
