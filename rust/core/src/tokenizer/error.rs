use thiserror::Error;

/// Every failure of the tokenizer core. The binding layer maps all of them to the Python
/// `onnxformers.TokenizerError` with this message.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum Error {
    /// tokenizer.json is not valid JSON, misses a field, or names an unknown component type.
    #[error("invalid tokenizer.json: {0}")]
    Config(String),
    /// A Split/Replace pattern that does not compile, or that fails while matching.
    #[error("regex error: {0}")]
    Regex(String),
    /// The model cannot tokenize a piece (e.g. unknown character and no unk token).
    #[error("encode error: {0}")]
    Encode(String),
    /// Ids out of the vocabulary, negative ids, …
    #[error("decode error: {0}")]
    Decode(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn config(msg: impl Into<String>) -> Self {
        Error::Config(msg.into())
    }
}
