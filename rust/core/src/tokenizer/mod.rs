//! The whole `tokenizer.json` pipeline, Python-free.
//!
//! Flow (same as Hugging Face `tokenizers`): added-token split → normalizer → pre-tokenizer →
//! model → post-processor (special tokens, type ids) → truncation/padding. Decoding runs the
//! decoder chain over the token strings.

pub mod error;
pub mod models;
pub mod decoders;

pub use error::{Error, Result};

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
