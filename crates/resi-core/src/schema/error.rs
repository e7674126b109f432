//! Why a listings file could not be read.

/// Why a listings file could not be read. Every variant says where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    #[error("file is {size} bytes, over the limit of {max} bytes")]
    TooLarge { size: u64, max: u64 },
    #[error("not a Parquet file: {0}")]
    NotParquet(String),
    #[error("file has {rows} rows, over the limit of {max}")]
    TooManyRows { rows: u64, max: u64 },
    #[error("missing required column {0}")]
    MissingColumn(&'static str),
    #[error("column {column}: expected {expected}, found {found}")]
    WrongType {
        column: &'static str,
        expected: &'static str,
        found: String,
    },
    #[error("column {column} row {row}: null or empty, but the column is required")]
    MissingRequired { column: &'static str, row: usize },
    #[error("column {column} row {row}: unknown value {value:?}")]
    UnknownEnumValue {
        column: &'static str,
        row: usize,
        value: String,
    },
    #[error("corrupt Parquet data: {0}")]
    Corrupt(String),
    #[error("{0}")]
    Pages(crate::pages::PageError),
    #[error("column {column} row {row}: value is {len} bytes, over the limit of {max}")]
    StringTooLong {
        column: &'static str,
        row: usize,
        len: u64,
        max: u64,
    },
    #[error("the Parquet decoder failed on this file: {0}")]
    DecoderPanicked(String),
}

// The cause is in the message, so it is not also a `source`: printed once.
impl From<crate::pages::PageError> for SchemaError {
    fn from(e: crate::pages::PageError) -> Self {
        SchemaError::Pages(e)
    }
}
