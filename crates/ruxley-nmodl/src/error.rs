//! Errors of reading a mechanism file.

use std::path::PathBuf;

/// What went wrong reading a mechanism, and where.
#[derive(Debug, thiserror::Error)]
pub enum NmodlError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An error at a place in the file: a syntax error, or what it says
    /// being unsupported or inconsistent.
    #[error("{file}:{line}:{column}: {message}")]
    At {
        /// The file.
        file: String,
        /// The line (from 1).
        line: usize,
        /// The column (from 1, in characters).
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// An error about the file as a whole, or a bad value given for it.
    #[error("{0}")]
    Invalid(String),
}

impl NmodlError {
    /// An error at byte offset `at` of `source`.
    pub(crate) fn at(file: &str, source: &str, at: usize, message: String) -> Self {
        let mut at = at.min(source.len());
        while !source.is_char_boundary(at) {
            at -= 1;
        }
        let before = &source[..at];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Self::At {
            file: file.to_string(),
            line,
            column,
            message,
        }
    }
}
