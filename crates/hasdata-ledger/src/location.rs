//! Where a ledger lives, named by one string (`--ledger`, `HASDATA_LEDGER`,
//! `ClientBuilder::ledger_url`): a SQLite file (a path or `sqlite://PATH`) or a PostgreSQL
//! database (`postgres://` or `postgresql://`). One parser for the CLI and the library, so the
//! same value means the same ledger everywhere.

use std::path::PathBuf;
use std::sync::Arc;

use crate::{JobLedger, LedgerError, redact_url};

/// A ledger's location.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL database; the URL may hold a password (never shown: see `Display`).
    Postgres(String),
}

impl Location {
    /// Reads a location: a `postgres://` or `postgresql://` URL (any case) is PostgreSQL;
    /// `sqlite://PATH` and anything else is a SQLite file path.
    pub fn parse(value: &str) -> Location {
        let scheme = value.get(..13).unwrap_or(value).to_ascii_lowercase();
        if scheme.starts_with("postgres://") || scheme.starts_with("postgresql://") {
            return Location::Postgres(value.to_owned());
        }
        Location::Sqlite(PathBuf::from(
            value.strip_prefix("sqlite://").unwrap_or(value),
        ))
    }

    /// Reads a location as [`Location::parse`] does, and refuses what can only be a mistake
    /// ([`LedgerError::BadLocation`]) before anything is opened, made or sent: an empty
    /// value, `sqlite://` naming no file, a directory, a `SCHEME://` that is neither SQLite
    /// nor PostgreSQL, and (feature `postgres`) a PostgreSQL URL that does not parse
    /// ([`LedgerError::BadUrl`]). [`Location::open`] refuses the same; this lets a program
    /// say so before its first request.
    pub fn checked(value: &str) -> Result<Location, LedgerError> {
        let location = Location::parse(value);
        location.check(value)?;
        Ok(location)
    }

    /// The refusals of [`Location::checked`]; `value` is the text as given, for the error.
    fn check(&self, value: &str) -> Result<(), LedgerError> {
        let path = match self {
            Location::Sqlite(path) => path,
            // Read as every pool reads it (no connection made): a bad port or option is
            // [`LedgerError::BadUrl`] here, not at the first call.
            #[cfg(feature = "postgres")]
            Location::Postgres(url) => return crate::postgres::connection_parts(url).map(|_| ()),
            #[cfg(not(feature = "postgres"))]
            Location::Postgres(_) => return Ok(()),
        };
        let bad = |reason: &str| LedgerError::BadLocation {
            location: if value.is_empty() {
                "\"\"".to_owned()
            } else {
                redact_url(value)
            },
            reason: format!("{reason}: {EXPECTED}"),
        };
        if path.as_os_str().is_empty() || value.trim().is_empty() {
            return Err(bad(if value.trim().is_empty() {
                "is empty"
            } else {
                "names no file"
            }));
        }
        refuse_unknown_scheme(&path.to_string_lossy())?;
        // SQLite reads a name starting with `file:` as a URI (`file:l.sqlite?mode=memory`
        // keeps the ledger in memory: every job recorded, then lost at exit); the ledger's
        // files open as plain names, so such a value is refused rather than made a file
        // named after the URI.
        if path
            .to_string_lossy()
            .get(..5)
            .is_some_and(|start| start.eq_ignore_ascii_case("file:"))
        {
            return Err(bad("is a SQLite URI, not a path (give the file's path)"));
        }
        if path.is_dir() {
            return Err(bad("is a directory, not a file"));
        }
        Ok(())
    }

    /// Opens the ledger of `base_url` there. A PostgreSQL ledger connects and migrates on its
    /// first call (`PostgresLedger::lazy`), so this never waits on a server; a backend
    /// this build lacks is [`LedgerError::BackendMissing`].
    pub fn open(&self, base_url: &str) -> Result<Arc<dyn JobLedger>, LedgerError> {
        if let Location::Sqlite(path) = self {
            self.check(&path.to_string_lossy())?;
        }
        match self {
            #[cfg(feature = "sqlite")]
            Location::Sqlite(path) => Ok(Arc::new(crate::SqliteLedger::open(path, base_url)?)),
            #[cfg(feature = "postgres")]
            Location::Postgres(url) => Ok(Arc::new(crate::PostgresLedger::lazy(url, base_url)?)),
            #[allow(unreachable_patterns)]
            other => {
                let _ = base_url;
                Err(LedgerError::BackendMissing {
                    backend: other.backend(),
                })
            }
        }
    }

    /// [`Location::open`] for async code: a SQLite file's wait for another process's lock
    /// awaits a timer ([`crate::SqliteLedger::open_waiting`]), so dropping the future ends it.
    pub async fn open_async(&self, base_url: &str) -> Result<Arc<dyn JobLedger>, LedgerError> {
        match self {
            #[cfg(feature = "sqlite")]
            Location::Sqlite(path) => {
                self.check(&path.to_string_lossy())?;
                Ok(Arc::new(
                    crate::SqliteLedger::open_waiting(path, base_url).await?,
                ))
            }
            #[allow(unreachable_patterns)]
            other => other.open(base_url),
        }
    }

    /// [`Location::open_async`] for a program that only reads the ledger (lists, shows,
    /// collects jobs already in it): a SQLite file that does not exist is
    /// [`LedgerError::NotFound`], and nothing is made, neither the file nor its directory,
    /// so a mistyped path is an error instead of an empty ledger. A PostgreSQL ledger opens
    /// as with [`Location::open`].
    pub async fn open_existing(&self, base_url: &str) -> Result<Arc<dyn JobLedger>, LedgerError> {
        match self {
            #[cfg(feature = "sqlite")]
            Location::Sqlite(path) => {
                self.check(&path.to_string_lossy())?;
                Ok(Arc::new(
                    crate::SqliteLedger::open_existing(path, base_url).await?,
                ))
            }
            #[allow(unreachable_patterns)]
            other => other.open(base_url),
        }
    }

    /// [`Location::open_async`] for a program that must write (a submit records its intent
    /// before the POST): a SQLite file that can only be read is [`LedgerError::ReadOnly`]
    /// here, before anything is sent, instead of at the first write.
    pub async fn open_writable(&self, base_url: &str) -> Result<Arc<dyn JobLedger>, LedgerError> {
        match self {
            #[cfg(feature = "sqlite")]
            Location::Sqlite(path) => {
                self.check(&path.to_string_lossy())?;
                let ledger = crate::SqliteLedger::open_waiting(path, base_url).await?;
                if ledger.is_read_only() {
                    return Err(LedgerError::ReadOnly {
                        location: path.display().to_string(),
                    });
                }
                Ok(Arc::new(ledger))
            }
            #[allow(unreachable_patterns)]
            other => other.open(base_url),
        }
    }

    /// The server a PostgreSQL ledger connects to, as `host:port` (several hosts joined by
    /// `, `; a Unix socket as its directory), for messages that must say which server could
    /// not be reached without showing the URL's user or password. `None` for a SQLite file,
    /// a URL that does not parse, or a build without PostgreSQL.
    pub fn server(&self) -> Option<String> {
        match self {
            #[cfg(feature = "postgres")]
            Location::Postgres(url) => {
                let (config, _) = crate::postgres::connection_parts(url).ok()?;
                let ports = config.get_ports();
                let servers: Vec<String> = config
                    .get_hosts()
                    .iter()
                    .enumerate()
                    .map(|(i, host)| {
                        let port = ports
                            .get(i)
                            .or_else(|| ports.first())
                            .copied()
                            .unwrap_or(5432);
                        match host {
                            tokio_postgres::config::Host::Tcp(name) if name.contains(':') => {
                                format!("[{name}]:{port}")
                            }
                            tokio_postgres::config::Host::Tcp(name) => format!("{name}:{port}"),
                            tokio_postgres::config::Host::Unix(dir) => {
                                format!("{}:{port}", dir.display())
                            }
                        }
                    })
                    .collect();
                (!servers.is_empty()).then(|| servers.join(", "))
            }
            _ => None,
        }
    }

    /// `sqlite` or `postgres`: the backend, and the cargo feature that builds it.
    pub fn backend(&self) -> &'static str {
        match self {
            Location::Sqlite(_) => "sqlite",
            Location::Postgres(_) => "postgres",
        }
    }
}

/// A value that reads as `SCHEME://...` with a scheme we do not know (`postgress://`,
/// `postgre://`, `mysql://`) is a typo or the wrong database, not a file name: opened as SQLite
/// it made directories named after the URL, its password included, and an empty ledger.
fn refuse_unknown_scheme(value: &str) -> Result<(), LedgerError> {
    let Some((scheme, _)) = value.split_once("://") else {
        return Ok(());
    };
    let is_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !is_scheme {
        return Ok(());
    }
    Err(LedgerError::BadLocation {
        location: redact_url(value),
        reason: format!("has an unknown scheme `{scheme}://`: {EXPECTED}"),
    })
}

/// What a ledger's location may be, as its errors say.
const EXPECTED: &str = "expected a SQLite file (a path or sqlite://PATH) or a PostgreSQL database (postgres:// or postgresql://)";

impl std::fmt::Display for Location {
    /// A path, or the URL with its password replaced by `***`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Sqlite(path) => write!(f, "{}", path.display()),
            Location::Postgres(url) => f.write_str(&redact_url(url)),
        }
    }
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Location({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_location_is_a_path_a_sqlite_url_or_a_postgres_url() {
        assert_eq!(
            Location::parse("/tmp/l.sqlite"),
            Location::Sqlite("/tmp/l.sqlite".into())
        );
        assert_eq!(
            Location::parse("sqlite:///tmp/l.sqlite"),
            Location::Sqlite("/tmp/l.sqlite".into())
        );
        assert_eq!(
            Location::parse("relative/l.sqlite"),
            Location::Sqlite("relative/l.sqlite".into())
        );
        assert_eq!(Location::parse("é"), Location::Sqlite("é".into()));
        for url in [
            "postgres://u:p@h/db",
            "postgresql://h/db",
            "POSTGRES://h/db",
        ] {
            assert_eq!(Location::parse(url), Location::Postgres(url.into()));
        }
    }

    #[test]
    fn an_unknown_scheme_is_refused_before_any_file_is_made() {
        for typo in ["postgress", "postgre", "mysql", "sqlite3"] {
            let value = format!("{typo}://app:hunter2@db:5432/hasdata");
            let Err(error) = Location::parse(&value).open("http://sim") else {
                panic!("{value} was opened as a SQLite file");
            };
            let shown = error.to_string();
            assert!(matches!(error, LedgerError::BadLocation { .. }), "{shown}");
            assert!(shown.contains(&format!("`{typo}://`")), "{shown}");
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(!std::path::Path::new(&format!("{typo}:")).exists());
        }
    }

    #[test]
    fn empty_no_file_and_a_directory_are_refused_before_anything_is_made() {
        let dir = std::env::temp_dir();
        let dir_text = dir.display().to_string();
        for (value, says) in [
            ("", "\"\" is empty"),
            ("  ", "is empty"),
            ("sqlite://", "sqlite:// names no file"),
            (dir_text.as_str(), "is a directory"),
            ("bogus://x", "unknown scheme `bogus://`"),
            ("file:l.sqlite?mode=memory", "is a SQLite URI"),
            ("FILE:l.sqlite", "is a SQLite URI"),
        ] {
            let Err(error) = Location::checked(value) else {
                panic!("{value:?} was taken as a ledger");
            };
            let shown = error.to_string();
            assert!(matches!(error, LedgerError::BadLocation { .. }), "{shown}");
            assert!(shown.contains(says), "{value:?}: {shown}");
            assert!(shown.contains("expected a SQLite file"), "{shown}");
            assert!(
                Location::parse(value).open("http://sim").is_err(),
                "{value:?}"
            );
        }
        for good in ["l.sqlite", "sqlite://l.sqlite", "postgres://h/db"] {
            assert!(Location::checked(good).is_ok(), "{good}");
        }
    }

    #[cfg(feature = "sqlite")]
    #[tokio::test]
    async fn opening_an_existing_ledger_makes_nothing_when_there_is_none() {
        let dir = tempfile::tempdir().unwrap();
        for path in [dir.path().join("l.sqlite"), dir.path().join("d/l.sqlite")] {
            let location = Location::Sqlite(path.clone());
            let Err(error) = location.open_existing("http://sim").await else {
                panic!("{} was opened", path.display());
            };
            assert!(matches!(error, LedgerError::NotFound { .. }), "{error}");
            assert!(error.to_string().contains(&path.display().to_string()));
            assert!(!path.exists() && !dir.path().join("d").exists());
            // Once written, it is there to read.
            if path.parent() == Some(dir.path()) {
                location.open_writable("http://sim").await.unwrap();
                location.open_existing("http://sim").await.unwrap();
            }
        }
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn a_postgres_server_is_named_by_host_and_port_only() {
        for (url, server) in [
            (
                "postgres://app:hunter2@db.example:6543/hasdata",
                "db.example:6543",
            ),
            ("postgresql://app:hunter2@10.0.0.5/hasdata", "10.0.0.5:5432"),
            (
                "postgres://app@[::1]:5433/hasdata?password=hunter2",
                "[::1]:5433",
            ),
        ] {
            let shown = Location::parse(url).server();
            assert_eq!(shown.as_deref(), Some(server), "{url}");
        }
        assert_eq!(Location::parse("/tmp/l.sqlite").server(), None);
    }

    #[test]
    fn a_postgres_password_is_never_shown() {
        let location = Location::parse("postgres://app:hunter2@db:5432/hasdata");
        for shown in [location.to_string(), format!("{location:?}")] {
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(shown.contains("app:***@db:5432/hasdata"), "{shown}");
        }
    }
}
