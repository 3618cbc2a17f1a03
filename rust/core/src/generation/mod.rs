//! Text generation: logits processors and warpers, samplers, beam search, stopping criteria and
//! a per-step [`GenerationState`] that a decode loop (Python today, a Rust loop over ONNX Runtime
//! later) calls once per forward pass.
//!
//! Semantics follow Hugging Face `transformers` (`generation/logits_process.py`,
//! `generation/utils.py` `_sample`, `generation/beam_search.py` `BeamSearchScorer` /
//! `BeamHypotheses` and the classic `_beam_search` loop that drives them). Every processor works
//! in place on a row-major `[rows, vocab]` f32 buffer, given the token history of each row as a
//! rectangular [`Tokens`] view (all rows have the same length, as `input_ids` in transformers).
//!
//! Randomness comes only from a seeded [`Xoshiro256StarStar`](rng::Xoshiro256StarStar): the same
//! seed gives the same tokens on every platform and thread count.

mod beam;
mod cache;
mod config;
mod ops;
mod processors;
pub mod rng;
mod sampling;
mod state;
mod stopping;

#[cfg(test)]
mod tests;

pub use beam::{BeamHypotheses, BeamSearchScorer, BeamStep, Finalized, Hypothesis};
pub use cache::gather_rows_in_place;
pub use config::{EarlyStopping, GenerationConfig};
pub use ops::{argmax, log_softmax_in_place, softmax_f64};
pub use processors::{BuildContext, LogitsProcessor, LogitsProcessorList};
pub use rng::Xoshiro256StarStar;
pub use sampling::{
    multinomial, multinomial_without_replacement, sample_logits, select_beam_candidates,
};
pub use state::{DecodingMode, GenerationState, StepOutput};
pub use stopping::{InterruptFlag, StoppingCriteria};

/// Every generation error is a problem with the caller's configuration or arrays.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenerationError {
    #[error("{0}")]
    InvalidConfig(String),
    #[error("{0}")]
    InvalidInput(String),
}

pub type Result<T> = std::result::Result<T, GenerationError>;

pub(crate) fn invalid_config<T>(msg: impl Into<String>) -> Result<T> {
    Err(GenerationError::InvalidConfig(msg.into()))
}

pub(crate) fn invalid_input<T>(msg: impl Into<String>) -> Result<T> {
    Err(GenerationError::InvalidInput(msg.into()))
}

/// A read-only, rectangular view of token ids: `rows` rows of `len` ids, row `i` starting at
/// `i * stride` (so a buffer pre-allocated for the maximum length can be viewed without copying).
#[derive(Clone, Copy, Debug)]
pub struct Tokens<'a> {
    data: &'a [i64],
    rows: usize,
    len: usize,
    stride: usize,
}

impl<'a> Tokens<'a> {
    /// A dense `[rows, len]` view.
    pub fn new(data: &'a [i64], rows: usize, len: usize) -> Result<Self> {
        Self::with_stride(data, rows, len, len)
    }

    pub fn with_stride(data: &'a [i64], rows: usize, len: usize, stride: usize) -> Result<Self> {
        if stride < len {
            return invalid_input(format!(
                "token stride {stride} is shorter than the length {len}"
            ));
        }
        let needed = if rows == 0 {
            0
        } else {
            (rows - 1) * stride + len
        };
        if data.len() < needed {
            return invalid_input(format!(
                "token buffer holds {} ids, {rows} rows of {len} need {needed}",
                data.len()
            ));
        }
        Ok(Tokens {
            data,
            rows,
            len,
            stride,
        })
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The sequence length (`input_ids.shape[-1]` in transformers).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn row(&self, i: usize) -> &'a [i64] {
        let start = i * self.stride;
        &self.data[start..start + self.len]
    }
}

/// Owned rectangular token ids (prompt or encoder ids kept by a processor or a state).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct TokenMatrix {
    pub data: Vec<i64>,
    pub rows: usize,
    pub len: usize,
}

impl TokenMatrix {
    pub fn from_tokens(t: Tokens<'_>) -> Self {
        let mut data = Vec::with_capacity(t.rows * t.len);
        for i in 0..t.rows {
            data.extend_from_slice(t.row(i));
        }
        TokenMatrix {
            data,
            rows: t.rows,
            len: t.len,
        }
    }

    pub fn from_rows(rows: &[Vec<i64>]) -> Result<Self> {
        let len = rows.first().map_or(0, Vec::len);
        if rows.iter().any(|r| r.len() != len) {
            return invalid_input("token rows must all have the same length");
        }
        Ok(TokenMatrix {
            data: rows.concat(),
            rows: rows.len(),
            len,
        })
    }

    pub fn view(&self) -> Tokens<'_> {
        Tokens {
            data: &self.data,
            rows: self.rows,
            len: self.len,
            stride: self.len,
        }
    }

    pub fn row(&self, i: usize) -> &[i64] {
        &self.data[i * self.len..(i + 1) * self.len]
    }
}

/// Checks that `logits` holds exactly `rows * vocab` values.
pub(crate) fn check_logits(logits: &[f32], rows: usize, vocab: usize) -> Result<()> {
    if vocab == 0 {
        return invalid_input("the vocabulary size (last dimension of the logits) must be > 0");
    }
    if logits.len() != rows * vocab {
        return invalid_input(format!(
            "logits hold {} values, expected {rows} rows x {vocab} vocab = {}",
            logits.len(),
            rows * vocab
        ));
    }
    Ok(())
}
