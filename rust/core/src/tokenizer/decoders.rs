//! Decoders: turn token strings back into text.
use super::Result;

pub trait Decoder: Send + Sync {
    /// Transform the token strings; the final text is the concatenation of the result.
    fn decode_chain(&self, tokens: Vec<String>) -> Result<Vec<String>>;
}
