//! Errors of model description and lowering.

use std::fmt;

use ruxley_morph::{AscError, MorphError, SwcError};

/// Why a model could not be built or changed.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelError {
    /// The SWC file could not be read.
    Swc(SwcError),
    /// A Neurolucida file could not be read.
    Asc(AscError),
    /// The morphology could not be traced or compartmentalised.
    Morph(MorphError),
    /// An index is out of range.
    IndexOutOfRange {
        /// What was indexed (`cell`, `branch`, `comp`).
        what: &'static str,
        /// The index given.
        index: usize,
        /// How many there are.
        len: usize,
    },
    /// A location outside [0, 1].
    InvalidLocation(f64),
    /// No parameter or state of this name exists on the selected compartments.
    UnknownName {
        /// The name.
        name: String,
        /// The names that do exist there.
        known: Vec<String>,
    },
    /// No group of this name.
    UnknownGroup(String),
    /// A value that is not allowed (NaN, negative length, ...).
    InvalidValue {
        /// The parameter.
        name: String,
        /// The value.
        value: f64,
        /// Why it is invalid.
        reason: &'static str,
    },
    /// The branch parents do not describe a tree in order.
    InvalidParents(String),
    /// The selection is empty.
    EmptySelection(String),
    /// Anything else, explained.
    Invalid(String),
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Swc(e) => write!(f, "SWC: {e}"),
            Self::Asc(e) => write!(f, "Neurolucida: {e}"),
            Self::Morph(e) => write!(f, "morphology: {e}"),
            Self::IndexOutOfRange { what, index, len } => {
                write!(f, "{what} index {index} is out of range (there are {len})")
            }
            Self::InvalidLocation(x) => write!(f, "location {x} is outside [0, 1]"),
            Self::UnknownName { name, known } => {
                write!(
                    f,
                    "no parameter or state `{name}` on the selected compartments"
                )?;
                if known.is_empty() {
                    Ok(())
                } else {
                    write!(f, "; known there: {}", known.join(", "))
                }
            }
            Self::UnknownGroup(g) => write!(f, "no group named `{g}`"),
            Self::InvalidValue {
                name,
                value,
                reason,
            } => write!(f, "{name} = {value}: {reason}"),
            Self::InvalidParents(m) => write!(f, "invalid branch parents: {m}"),
            Self::EmptySelection(m) => write!(f, "empty selection: {m}"),
            Self::Invalid(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for ModelError {}

impl From<SwcError> for ModelError {
    fn from(e: SwcError) -> Self {
        Self::Swc(e)
    }
}

impl From<AscError> for ModelError {
    fn from(e: AscError) -> Self {
        Self::Asc(e)
    }
}

impl From<MorphError> for ModelError {
    fn from(e: MorphError) -> Self {
        Self::Morph(e)
    }
}
