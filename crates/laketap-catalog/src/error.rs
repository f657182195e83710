//! The catalog's error type: every variant names the catalog file and, where
//! there is one, the table, so a message tells the operator what to fix.

use std::path::PathBuf;

/// Errors raised while reading catalog files and opening lake tables.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The catalog folder itself cannot be listed.
    #[error(
        "catalog folder {dir}: cannot be read: {source}; pass an existing folder with --catalog"
    )]
    ReadDir {
        /// The catalog folder.
        dir: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// A catalog file cannot be read.
    #[error("{file}: cannot be read: {source}")]
    ReadFile {
        /// The catalog file.
        file: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// A catalog file is not valid TOML, or its top level has an unknown key.
    #[error("{file}:{line}:{column}: {message}")]
    Toml {
        /// The catalog file.
        file: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What the TOML parser said.
        message: String,
    },
    /// Two catalog files declare the same schema.
    #[error(
        "{file}: schema `{schema}` is already declared by {other}; give each file its own `schema`"
    )]
    DuplicateSchema {
        /// The catalog file.
        file: PathBuf,
        /// The schema declared twice.
        schema: String,
        /// The file that declared it first.
        other: PathBuf,
    },
    /// A table declaration is invalid (unknown key, unknown format, missing field).
    #[error("{file}:{line}: table `{table}`: {message}")]
    Declaration {
        /// The catalog file.
        file: PathBuf,
        /// 1-based line of the table's section.
        line: usize,
        /// The table.
        table: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A table's location does not exist.
    #[error(
        "{file}: table `{table}`: location {location} does not exist ({resolved}); create it or fix `location`"
    )]
    MissingLocation {
        /// The catalog file.
        file: PathBuf,
        /// The table.
        table: String,
        /// The location as written in the file.
        location: String,
        /// The location as resolved against the file's folder.
        resolved: String,
    },
    /// A table's data could not be opened (unreadable files, a broken Delta log, no files).
    #[error("{file}: table `{table}`: cannot open {format} data at {location}: {message}")]
    Open {
        /// The catalog file.
        file: PathBuf,
        /// The table.
        table: String,
        /// The declared format.
        format: String,
        /// The resolved location.
        location: String,
        /// The cause, with the library's words.
        message: String,
    },
}

impl Error {
    /// The catalog file (or folder) the error is about.
    pub fn file(&self) -> &std::path::Path {
        match self {
            Error::ReadDir { dir, .. } => dir,
            Error::ReadFile { file, .. }
            | Error::Toml { file, .. }
            | Error::DuplicateSchema { file, .. }
            | Error::Declaration { file, .. }
            | Error::MissingLocation { file, .. }
            | Error::Open { file, .. } => file,
        }
    }

    /// The table the error is about, if it is about one table.
    pub fn table(&self) -> Option<&str> {
        match self {
            Error::Declaration { table, .. }
            | Error::MissingLocation { table, .. }
            | Error::Open { table, .. } => Some(table),
            _ => None,
        }
    }
}

/// The catalog crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
