//! The whole `tokenizer.json` pipeline, Python-free.
//!
//! Flow (same as Hugging Face `tokenizers`): added-token split → normalizer → pre-tokenizer →
//! model → post-processor (special tokens, type ids) → truncation/padding. Decoding runs the
//! decoder chain over the token strings.

pub mod added_tokens;
pub mod byte_level;
pub mod decoders;
pub mod encoding;
pub mod error;
mod gpt2_split;
mod json;
pub mod models;
pub mod normalized;
pub mod normalizers;
pub mod pattern;
pub mod post_processors;
pub mod pre_tokenized;
pub mod pre_tokenizers;
pub mod precompiled;
#[allow(clippy::module_inception)]
pub mod tokenizer;
mod unicode_scripts;
mod unicode_tables;

pub use encoding::{Direction, Encoding};
pub use error::{Error, Result};
pub use tokenizer::{
    EncodeOptions, PaddingParams, PaddingStrategy, Tokenizer, TruncationParams, TruncationStrategy,
};

/// One token produced by a [`models::Model`]: its id, its string and its byte span inside the
/// piece the model was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub id: u32,
    pub value: String,
    pub offsets: (usize, usize),
}

impl Token {
    pub fn new(id: u32, value: String, offsets: (usize, usize)) -> Self {
        Self { id, value, offsets }
    }
}
