//! The error type of the demo generator.

use std::path::PathBuf;

use datafusion::arrow::error::ArrowError;
use datafusion::parquet::errors::ParquetError;
use deltalake::DeltaTableError;

/// `Result` with this crate's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while generating the demo lake.
///
/// Each variant names the table and the path involved, and the message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The options cannot produce a lake (for example zero users).
    #[error("invalid demo options: {0}")]
    InvalidOptions(String),

    /// A table directory already exists; the generator never appends to an existing lake.
    #[error(
        "{}: table `{table}` already exists; remove {} or choose another output directory",
        path.display(),
        path.display()
    )]
    AlreadyExists {
        /// Table name (`users`, `listen_events`, …).
        table: String,
        /// The existing directory.
        path: PathBuf,
    },

    /// A file-system operation failed.
    #[error("{}: {action}: {source}", path.display())]
    Io {
        /// What the generator was doing (`creating directory`, `renaming`, …).
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// An Arrow record batch could not be built (a bug of the generator).
    #[error("table `{table}`: building an Arrow batch: {source}")]
    Arrow {
        /// Table name.
        table: &'static str,
        /// The underlying error.
        #[source]
        source: Box<ArrowError>,
    },

    /// Writing a Parquet file of a batch table failed.
    #[error("table `{table}`: writing Parquet file {}: {source}", path.display())]
    Parquet {
        /// Table name.
        table: &'static str,
        /// The file being written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: Box<ParquetError>,
    },

    /// Creating, writing or committing a Delta table failed.
    #[error("table `{table}` at {}: {action}: {source}", path.display())]
    Delta {
        /// Table name.
        table: &'static str,
        /// The table directory.
        path: PathBuf,
        /// What the generator was doing (`creating the table`, `committing day 2026-03-01`, …).
        action: String,
        /// The underlying error.
        #[source]
        source: Box<DeltaTableError>,
    },

    /// The background generator task panicked or was cancelled (a bug of the generator).
    #[error("the event generator task failed: {0}")]
    Generator(String),
}

impl Error {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn arrow(table: &'static str, source: ArrowError) -> Self {
        Error::Arrow {
            table,
            source: Box::new(source),
        }
    }

    pub(crate) fn delta(
        table: &'static str,
        path: impl Into<PathBuf>,
        action: impl Into<String>,
        source: DeltaTableError,
    ) -> Self {
        Error::Delta {
            table,
            path: path.into(),
            action: action.into(),
            source: Box::new(source),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_object_and_the_fix() {
        let e = Error::AlreadyExists {
            table: "users".into(),
            path: PathBuf::from("/lake/amp/users"),
        };
        assert_eq!(
            e.to_string(),
            "/lake/amp/users: table `users` already exists; remove /lake/amp/users or choose \
             another output directory"
        );
        let e = Error::io(
            "creating directory",
            "/x/y",
            std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied"),
        );
        assert_eq!(e.to_string(), "/x/y: creating directory: denied");
    }

    #[test]
    fn error_stays_small() {
        assert!(
            std::mem::size_of::<Error>() <= 96,
            "{}",
            std::mem::size_of::<Error>()
        );
    }
}
