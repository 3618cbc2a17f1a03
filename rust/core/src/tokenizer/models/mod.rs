//! Tokenization models: turn one pre-tokenized piece into tokens.
use super::{Result, Token};

/// The interface every model implements. Models are immutable after load and shared across
/// threads (batch encoding runs on rayon).
pub trait Model: Send + Sync {
    /// Tokenize one piece (already normalized and pre-tokenized). Offsets are byte offsets
    /// into `piece`.
    fn tokenize(&self, piece: &str) -> Result<Vec<Token>>;
    fn token_to_id(&self, token: &str) -> Option<u32>;
    fn id_to_token(&self, id: u32) -> Option<&str>;
    /// Size of the model's own vocabulary (without added tokens).
    fn vocab_size(&self) -> usize;
}
