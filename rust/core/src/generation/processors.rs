//! Logits processors and warpers (transformers' `generation/logits_process.py`), in place on a
//! row-major `[rows, vocab]` f32 buffer, and the ordered list `generate()` builds from a config.
//!
//! Every processor reproduces the transformers arithmetic in f32 (e.g. temperature divides by
//! `temperature as f32`; top-p compares float32 cumulative probabilities, accumulated in f64 as
//! torch's CPU `cumsum` does, with `(1 - top_p) as f32`). Token ids outside `[0, vocab)` in
//! masks (eos ids, suppressed tokens, a history with foreign ids) are skipped, as torch's
//! `isin`-based masks skip them; forced tokens and biased sequences outside the vocabulary are
//! errors, as they are in transformers.

use super::config::GenerationConfig;
use super::ops::{
    argsort_ascending, argsort_ascending_of, for_each_row, for_each_row_over, for_each_row_sparse,
    kth_largest, log_softmax_in_place, logsumexp, row_max, softmax_f32, LINEAR_PARALLEL_MIN_VALUES,
};
use super::{check_logits, invalid_config, invalid_input, Result, TokenMatrix, Tokens};
use std::collections::HashMap;

const NEG_INF: f32 = f32::NEG_INFINITY;

#[inline]
fn tok(t: i64, vocab: usize) -> Option<usize> {
    if t >= 0 && (t as u64) < vocab as u64 {
        Some(t as usize)
    } else {
        None
    }
}

fn set_ids(row: &mut [f32], ids: &[i64], value: f32) {
    let vocab = row.len();
    for &t in ids {
        if let Some(t) = tok(t, vocab) {
            row[t] = value;
        }
    }
}

/// `row[:] = -inf; row[ids] = 0` (forced tokens).
fn force(row: &mut [f32], ids: &[i64]) {
    row.iter_mut().for_each(|x| *x = NEG_INF);
    set_ids(row, ids, 0.0);
}

fn check_forced(ids: &[i64], vocab: usize, what: &str) -> Result<()> {
    match ids.iter().find(|&&t| tok(t, vocab).is_none()) {
        Some(t) => invalid_input(format!(
            "{what} {t} is outside the vocabulary of the logits (size {vocab})"
        )),
        None => Ok(()),
    }
}

/// `prefix (n-1 tokens) -> tokens that followed it` for every n-gram of `seq`.
fn ngram_table(seq: &[i64], n: usize) -> HashMap<Vec<i64>, Vec<i64>> {
    let mut table: HashMap<Vec<i64>, Vec<i64>> = HashMap::new();
    if seq.len() >= n {
        for w in seq.windows(n) {
            table.entry(w[..n - 1].to_vec()).or_default().push(w[n - 1]);
        }
    }
    table
}

/// One processor or warper. Construct through the `new_*` functions (they validate like the
/// transformers constructors) or through [`LogitsProcessorList::from_config`].
#[derive(Clone, Debug, PartialEq)]
pub enum LogitsProcessor {
    /// Batched CFG: logits hold `2 * rows` rows, the conditional half first; the guided scores
    /// `uncond + (cond - uncond) * scale` replace the first half, and later processors only see
    /// that half.
    ClassifierFreeGuidance {
        guidance_scale: f32,
    },
    /// Adds biases to the last token of sequences whose prefix ends the history (length-1
    /// sequences: always). Entries are unique, in first-insertion order (a Python dict).
    SequenceBias {
        biases: Vec<(Vec<i64>, f32)>,
    },
    /// A `SequenceBias` of `-inf` (built by [`LogitsProcessor::new_no_bad_words`]).
    NoBadWords {
        biases: Vec<(Vec<i64>, f32)>,
    },
    EncoderRepetitionPenalty {
        /// transformers stores `1 / penalty` and divides/multiplies by it; kept for parity.
        inverse_penalty: f32,
        encoder_input_ids: TokenMatrix,
    },
    RepetitionPenalty {
        penalty: f32,
    },
    NoRepeatNGram {
        ngram_size: usize,
    },
    EncoderNoRepeatNGram {
        ngram_size: usize,
        /// One n-gram table per encoder row (batch item).
        tables: Vec<HashMap<Vec<i64>, Vec<i64>>>,
    },
    MinLength {
        min_length: usize,
        eos_token_id: Vec<i64>,
    },
    MinNewTokensLength {
        prompt_length_to_skip: usize,
        min_new_tokens: usize,
        eos_token_id: Vec<i64>,
    },
    ForcedBosToken {
        bos_token_id: i64,
    },
    ForcedEosToken {
        max_length: usize,
        eos_token_id: Vec<i64>,
    },
    InfNanRemove,
    ExponentialDecayLengthPenalty {
        regulation_start: usize,
        regulation_factor: f64,
        eos_token_id: Vec<i64>,
    },
    SuppressTokens {
        suppress_tokens: Vec<i64>,
    },
    SuppressTokensAtBegin {
        begin_suppress_tokens: Vec<i64>,
        begin_index: usize,
    },
    /// transformers' former `ForceTokensLogitsProcessor`: at generation index
    /// `input_ids.shape[-1]`, force the mapped token.
    ForcedDecoderIds {
        force_token_map: Vec<(usize, i64)>,
    },
    WhisperTimeStamp {
        no_timestamps_token_id: i64,
        eos_token_id: i64,
        begin_index: usize,
        max_initial_timestamp_index: Option<i64>,
        detect_timestamp_from_logprob: bool,
    },
    Temperature {
        temperature: f32,
    },
    TopK {
        top_k: usize,
        filter_value: f32,
    },
    TopP {
        top_p: f64,
        min_tokens_to_keep: usize,
        filter_value: f32,
    },
    MinP {
        min_p: f64,
        min_tokens_to_keep: usize,
        filter_value: f32,
    },
    Typical {
        mass: f64,
        min_tokens_to_keep: usize,
        filter_value: f32,
    },
    EpsilonCutoff {
        epsilon: f64,
        min_tokens_to_keep: usize,
        filter_value: f32,
    },
    EtaCutoff {
        epsilon: f64,
        min_tokens_to_keep: usize,
        filter_value: f32,
    },
    /// `log_softmax` (`renormalize_logits=True`), always last.
    LogitNormalization,
}

impl LogitsProcessor {
    pub fn new_temperature(temperature: f64) -> Result<Self> {
        if temperature.is_nan() || temperature <= 0.0 {
            return invalid_config(format!(
                "`temperature` (={temperature}) has to be a strictly positive float"
            ));
        }
        Ok(LogitsProcessor::Temperature {
            temperature: temperature as f32,
        })
    }

    /// `top_k` is raised to `min_tokens_to_keep`, as in transformers.
    pub fn new_top_k(top_k: usize, min_tokens_to_keep: usize) -> Result<Self> {
        if top_k == 0 {
            return invalid_config("`top_k` has to be a strictly positive integer, but is 0");
        }
        Ok(LogitsProcessor::TopK {
            top_k: top_k.max(min_tokens_to_keep),
            filter_value: NEG_INF,
        })
    }

    pub fn new_top_p(top_p: f64, min_tokens_to_keep: usize) -> Result<Self> {
        if !(0.0..=1.0).contains(&top_p) {
            return invalid_config(format!(
                "`top_p` has to be a float in (0, 1], but is {top_p}"
            ));
        }
        check_min_keep(min_tokens_to_keep)?;
        Ok(LogitsProcessor::TopP {
            top_p,
            min_tokens_to_keep,
            filter_value: NEG_INF,
        })
    }

    pub fn new_min_p(min_p: f64, min_tokens_to_keep: usize) -> Result<Self> {
        if !(0.0..=1.0).contains(&min_p) {
            return invalid_config(format!(
                "`min_p` has to be a float in [0, 1], but is {min_p}"
            ));
        }
        check_min_keep(min_tokens_to_keep)?;
        Ok(LogitsProcessor::MinP {
            min_p,
            min_tokens_to_keep,
            filter_value: NEG_INF,
        })
    }

    pub fn new_typical(mass: f64, min_tokens_to_keep: usize) -> Result<Self> {
        if !(mass > 0.0 && mass < 1.0) {
            return invalid_config(format!(
                "`typical_p` has to be a float > 0 and < 1, but is {mass}"
            ));
        }
        check_min_keep(min_tokens_to_keep)?;
        Ok(LogitsProcessor::Typical {
            mass,
            min_tokens_to_keep,
            filter_value: NEG_INF,
        })
    }

    pub fn new_epsilon(epsilon: f64, min_tokens_to_keep: usize) -> Result<Self> {
        if !(epsilon > 0.0 && epsilon < 1.0) {
            return invalid_config(format!(
                "`epsilon_cutoff` has to be a float > 0 and < 1, but is {epsilon}"
            ));
        }
        check_min_keep(min_tokens_to_keep)?;
        Ok(LogitsProcessor::EpsilonCutoff {
            epsilon,
            min_tokens_to_keep,
            filter_value: NEG_INF,
        })
    }

    pub fn new_eta(epsilon: f64, min_tokens_to_keep: usize) -> Result<Self> {
        if !(epsilon > 0.0 && epsilon < 1.0) {
            return invalid_config(format!(
                "`eta_cutoff` has to be a float > 0 and < 1, but is {epsilon}"
            ));
        }
        check_min_keep(min_tokens_to_keep)?;
        Ok(LogitsProcessor::EtaCutoff {
            epsilon,
            min_tokens_to_keep,
            filter_value: NEG_INF,
        })
    }

    pub fn new_repetition_penalty(penalty: f64) -> Result<Self> {
        if penalty.is_nan() || penalty <= 0.0 {
            return invalid_config(format!(
                "`repetition_penalty` has to be > 0, but is {penalty}"
            ));
        }
        Ok(LogitsProcessor::RepetitionPenalty {
            penalty: penalty as f32,
        })
    }

    pub fn new_encoder_repetition_penalty(penalty: f64, encoder_input_ids: Tokens) -> Result<Self> {
        if penalty.is_nan() || penalty <= 0.0 {
            return invalid_config(format!(
                "`encoder_repetition_penalty` has to be > 0, but is {penalty}"
            ));
        }
        Ok(LogitsProcessor::EncoderRepetitionPenalty {
            inverse_penalty: (1.0 / penalty) as f32,
            encoder_input_ids: TokenMatrix::from_tokens(encoder_input_ids),
        })
    }

    pub fn new_no_repeat_ngram(ngram_size: usize) -> Result<Self> {
        if ngram_size == 0 {
            return invalid_config("`no_repeat_ngram_size` has to be a strictly positive integer");
        }
        Ok(LogitsProcessor::NoRepeatNGram { ngram_size })
    }

    pub fn new_encoder_no_repeat_ngram(
        ngram_size: usize,
        encoder_input_ids: Tokens,
    ) -> Result<Self> {
        if ngram_size == 0 {
            return invalid_config(
                "`encoder_no_repeat_ngram_size` has to be a strictly positive integer",
            );
        }
        let tables = (0..encoder_input_ids.rows())
            .map(|i| ngram_table(encoder_input_ids.row(i), ngram_size))
            .collect();
        Ok(LogitsProcessor::EncoderNoRepeatNGram { ngram_size, tables })
    }

    /// `sequence_bias` as `[(token ids, bias)]`; later duplicates overwrite earlier ones.
    pub fn new_sequence_bias(biases: &[(Vec<i64>, f64)]) -> Result<Self> {
        if biases.is_empty() {
            return invalid_config("`sequence_bias` has to be non-empty");
        }
        let mut out: Vec<(Vec<i64>, f32)> = Vec::new();
        for (ids, b) in biases {
            if ids.is_empty() || ids.iter().any(|&t| t < 0) {
                return invalid_config(format!(
                    "each `sequence_bias` key has to be a non-empty list of token ids, got {ids:?}"
                ));
            }
            match out.iter_mut().find(|(k, _)| k == ids) {
                Some(e) => e.1 = *b as f32,
                None => out.push((ids.clone(), *b as f32)),
            }
        }
        Ok(LogitsProcessor::SequenceBias { biases: out })
    }

    /// `NoBadWordsLogitsProcessor`: a `-inf` sequence bias; single-token "bad words" equal to an
    /// eos id are dropped (transformers does so, so that generation can still end).
    pub fn new_no_bad_words(bad_words_ids: &[Vec<i64>], eos_token_id: &[i64]) -> Result<Self> {
        if bad_words_ids.is_empty() {
            return invalid_config("`bad_words_ids` has to be a non-empty list");
        }
        let kept: Vec<(Vec<i64>, f64)> = bad_words_ids
            .iter()
            .filter(|seq| !(seq.len() == 1 && eos_token_id.contains(&seq[0])))
            .map(|seq| (seq.clone(), f64::NEG_INFINITY))
            .collect();
        if kept.is_empty() {
            // every bad word was an eos id: nothing left to ban
            return Ok(LogitsProcessor::NoBadWords { biases: vec![] });
        }
        match Self::new_sequence_bias(&kept)? {
            LogitsProcessor::SequenceBias { biases } => Ok(LogitsProcessor::NoBadWords { biases }),
            _ => unreachable!("new_sequence_bias builds a SequenceBias"),
        }
    }

    pub fn new_classifier_free_guidance(guidance_scale: f64) -> Result<Self> {
        if guidance_scale.is_nan() {
            return invalid_config("`guidance_scale` must be a number");
        }
        Ok(LogitsProcessor::ClassifierFreeGuidance {
            guidance_scale: guidance_scale as f32,
        })
    }

    /// `exponential_decay_length_penalty = (start_index, decay_factor)`; the penalty starts
    /// `start_index` tokens after a prompt of `input_ids_seq_length` tokens.
    pub fn new_exponential_decay(
        start_index: usize,
        decay_factor: f64,
        eos_token_id: &[i64],
        input_ids_seq_length: usize,
    ) -> Self {
        LogitsProcessor::ExponentialDecayLengthPenalty {
            regulation_start: start_index + input_ids_seq_length,
            regulation_factor: decay_factor,
            eos_token_id: eos_token_id.to_vec(),
        }
    }

    /// A short name (the transformers class name without its suffix).
    pub fn name(&self) -> &'static str {
        use LogitsProcessor::*;
        match self {
            ClassifierFreeGuidance { .. } => "ClassifierFreeGuidance",
            SequenceBias { .. } => "SequenceBias",
            NoBadWords { .. } => "NoBadWords",
            EncoderRepetitionPenalty { .. } => "EncoderRepetitionPenalty",
            RepetitionPenalty { .. } => "RepetitionPenalty",
            NoRepeatNGram { .. } => "NoRepeatNGram",
            EncoderNoRepeatNGram { .. } => "EncoderNoRepeatNGram",
            MinLength { .. } => "MinLength",
            MinNewTokensLength { .. } => "MinNewTokensLength",
            ForcedBosToken { .. } => "ForcedBOSToken",
            ForcedEosToken { .. } => "ForcedEOSToken",
            InfNanRemove => "InfNanRemove",
            ExponentialDecayLengthPenalty { .. } => "ExponentialDecayLengthPenalty",
            SuppressTokens { .. } => "SuppressTokens",
            SuppressTokensAtBegin { .. } => "SuppressTokensAtBegin",
            ForcedDecoderIds { .. } => "ForcedDecoderIds",
            WhisperTimeStamp { .. } => "WhisperTimeStamp",
            Temperature { .. } => "Temperature",
            TopK { .. } => "TopK",
            TopP { .. } => "TopP",
            MinP { .. } => "MinP",
            Typical { .. } => "Typical",
            EpsilonCutoff { .. } => "EpsilonCutoff",
            EtaCutoff { .. } => "EtaCutoff",
            LogitNormalization => "LogitNormalization",
        }
    }

    /// Sampling warpers (and the final renormalisation): transformers appends them after the
    /// processors *and* after any custom processor of the user.
    pub fn is_warper(&self) -> bool {
        use LogitsProcessor::*;
        matches!(
            self,
            Temperature { .. }
                | TopK { .. }
                | TopP { .. }
                | MinP { .. }
                | Typical { .. }
                | EpsilonCutoff { .. }
                | EtaCutoff { .. }
                | LogitNormalization
        )
    }

    /// Rows of logits this processor consumes per row of `input_ids` (2 for batched CFG).
    fn rows_per_input_row(&self) -> usize {
        match self {
            LogitsProcessor::ClassifierFreeGuidance { .. } => 2,
            _ => 1,
        }
    }

    /// Applies the processor. `logits` holds `ids.rows()` rows of `vocab` values (twice as many
    /// for classifier-free guidance, whose result lands in the first half).
    pub fn apply(&self, ids: Tokens<'_>, logits: &mut [f32], vocab: usize) -> Result<()> {
        let rows = ids.rows() * self.rows_per_input_row();
        check_logits(logits, rows, vocab)?;
        let cur_len = ids.len();
        use LogitsProcessor::*;
        match self {
            ClassifierFreeGuidance { guidance_scale } => {
                let half = ids.rows() * vocab;
                let (cond, uncond) = logits.split_at_mut(half);
                for (c, &u) in cond.iter_mut().zip(uncond.iter()) {
                    *c = u + (*c - u) * guidance_scale;
                }
            }
            SequenceBias { biases } | NoBadWords { biases } => {
                if let Some((seq, _)) = biases
                    .iter()
                    .find(|(seq, _)| seq.iter().any(|&t| tok(t, vocab).is_none()))
                {
                    return invalid_input(format!(
                        "the model vocabulary size is {vocab}, but the biased (or banned) \
                         sequence {seq:?} holds ids outside it"
                    ));
                }
                let work = biases.iter().map(|(seq, _)| seq.len()).sum();
                for_each_row_sparse(logits, vocab, work, |i, row| {
                    let hist = ids.row(i);
                    // bias = length-1 biases, then += each matching longer sequence, in order
                    let mut acc: Vec<(usize, f32)> = Vec::new();
                    let mut add = |t: usize, b: f32| match acc.iter_mut().find(|e| e.0 == t) {
                        Some(e) => e.1 += b,
                        None => acc.push((t, b)),
                    };
                    for (seq, b) in biases.iter().filter(|(s, _)| s.len() == 1) {
                        add(seq[0] as usize, *b);
                    }
                    for (seq, b) in biases.iter().filter(|(s, _)| s.len() > 1) {
                        if seq.len() > cur_len {
                            continue;
                        }
                        let prefix = &seq[..seq.len() - 1];
                        if &hist[cur_len - prefix.len()..] == prefix {
                            add(seq[seq.len() - 1] as usize, *b);
                        }
                    }
                    for (t, b) in acc {
                        row[t] += b;
                    }
                });
            }
            EncoderRepetitionPenalty {
                inverse_penalty,
                encoder_input_ids,
            } => {
                let per = rows_per_batch(rows, encoder_input_ids.rows, "encoder_input_ids")?;
                let p = *inverse_penalty;
                let work = encoder_input_ids.len;
                for_each_row_sparse(logits, vocab, work, |i, row| {
                    penalize(row, encoder_input_ids.row(i / per), |s| {
                        if s < 0.0 {
                            s * p
                        } else {
                            s / p
                        }
                    });
                });
            }
            RepetitionPenalty { penalty } => {
                let p = *penalty;
                for_each_row_sparse(logits, vocab, cur_len, |i, row| {
                    penalize(row, ids.row(i), |s| if s < 0.0 { s * p } else { s / p });
                });
            }
            NoRepeatNGram { ngram_size } => {
                let n = *ngram_size;
                if cur_len + 1 >= n {
                    for_each_row_sparse(logits, vocab, cur_len * n, |i, row| {
                        let hist = ids.row(i);
                        // tokens that followed an earlier occurrence of the last n-1 tokens
                        let prefix = &hist[cur_len + 1 - n..];
                        for start in 0..(cur_len + 1).saturating_sub(n) {
                            if &hist[start..start + n - 1] == prefix {
                                if let Some(t) = tok(hist[start + n - 1], vocab) {
                                    row[t] = NEG_INF;
                                }
                            }
                        }
                    });
                }
            }
            EncoderNoRepeatNGram { ngram_size, tables } => {
                let per = rows_per_batch(rows, tables.len(), "encoder_input_ids")?;
                let n = *ngram_size;
                if cur_len + 1 >= n {
                    for_each_row_sparse(logits, vocab, n, |i, row| {
                        let hist = ids.row(i);
                        if let Some(banned) = tables[i / per].get(&hist[cur_len + 1 - n..]) {
                            set_ids(row, banned, NEG_INF);
                        }
                    });
                }
            }
            MinLength {
                min_length,
                eos_token_id,
            } => {
                if cur_len < *min_length {
                    for_each_row_sparse(logits, vocab, eos_token_id.len(), |_, row| {
                        set_ids(row, eos_token_id, NEG_INF)
                    });
                }
            }
            MinNewTokensLength {
                prompt_length_to_skip,
                min_new_tokens,
                eos_token_id,
            } => {
                let new_tokens = cur_len as i64 - *prompt_length_to_skip as i64;
                if new_tokens < *min_new_tokens as i64 {
                    for_each_row_sparse(logits, vocab, eos_token_id.len(), |_, row| {
                        set_ids(row, eos_token_id, NEG_INF)
                    });
                }
            }
            ForcedBosToken { bos_token_id } => {
                if cur_len == 1 {
                    check_forced(&[*bos_token_id], vocab, "forced_bos_token_id")?;
                    for_each_row_over(logits, vocab, LINEAR_PARALLEL_MIN_VALUES, |_, row| {
                        force(row, &[*bos_token_id])
                    });
                }
            }
            ForcedEosToken {
                max_length,
                eos_token_id,
            } => {
                if cur_len + 1 == *max_length {
                    check_forced(eos_token_id, vocab, "forced_eos_token_id")?;
                    for_each_row_over(logits, vocab, LINEAR_PARALLEL_MIN_VALUES, |_, row| {
                        force(row, eos_token_id)
                    });
                }
            }
            InfNanRemove => {
                for x in logits.iter_mut() {
                    if x.is_nan() {
                        *x = 0.0;
                    } else if *x == f32::INFINITY {
                        *x = f32::MAX;
                    } else if *x == NEG_INF {
                        *x = f32::MIN;
                    }
                }
            }
            ExponentialDecayLengthPenalty {
                regulation_start,
                regulation_factor,
                eos_token_id,
            } => {
                if cur_len > *regulation_start {
                    let idx = (cur_len - regulation_start) as f64;
                    // python: pow(factor, idx) - 1 in double, then a float32 multiply
                    let factor = (regulation_factor.powf(idx) - 1.0) as f32;
                    for_each_row_sparse(logits, vocab, eos_token_id.len(), |_, row| {
                        let pen: Vec<(usize, f32)> = eos_token_id
                            .iter()
                            .filter_map(|&t| tok(t, vocab))
                            .map(|t| (t, row[t].abs() * factor))
                            .collect();
                        for (t, p) in pen {
                            row[t] += p;
                        }
                    });
                }
            }
            SuppressTokens { suppress_tokens } => {
                for_each_row_sparse(logits, vocab, suppress_tokens.len(), |_, row| {
                    set_ids(row, suppress_tokens, NEG_INF)
                });
            }
            SuppressTokensAtBegin {
                begin_suppress_tokens,
                begin_index,
            } => {
                if cur_len == *begin_index {
                    for_each_row_sparse(logits, vocab, begin_suppress_tokens.len(), |_, row| {
                        set_ids(row, begin_suppress_tokens, NEG_INF)
                    });
                }
            }
            ForcedDecoderIds { force_token_map } => {
                // a dict in transformers: the last pair for an index wins
                if let Some(&(_, t)) = force_token_map.iter().rev().find(|(i, _)| *i == cur_len) {
                    check_forced(&[t], vocab, "forced_decoder_ids token")?;
                    for_each_row_over(logits, vocab, LINEAR_PARALLEL_MIN_VALUES, |_, row| {
                        force(row, &[t])
                    });
                }
            }
            WhisperTimeStamp {
                no_timestamps_token_id,
                eos_token_id,
                begin_index,
                max_initial_timestamp_index,
                detect_timestamp_from_logprob,
            } => {
                let no_ts = *no_timestamps_token_id;
                let ts_begin = (no_ts + 1) as usize;
                if ts_begin > vocab {
                    return invalid_input(format!(
                        "no_timestamps_token_id {no_ts} is outside the vocabulary (size {vocab})"
                    ));
                }
                let eos = (*eos_token_id).clamp(0, vocab as i64) as usize;
                let first_step = cur_len == *begin_index;
                for_each_row(logits, vocab, |i, row| {
                    whisper_timestamps(
                        row,
                        ids.row(i).get(*begin_index..).unwrap_or(&[]),
                        no_ts as usize,
                        ts_begin,
                        eos,
                        first_step,
                        *max_initial_timestamp_index,
                        *detect_timestamp_from_logprob,
                    )
                });
            }
            Temperature { temperature } => {
                let t = *temperature;
                logits.iter_mut().for_each(|x| *x /= t);
            }
            TopK {
                top_k,
                filter_value,
            } => {
                let k = (*top_k).min(vocab);
                for_each_row(logits, vocab, |_, row| {
                    let thr = kth_largest(row, k);
                    row.iter_mut()
                        .filter(|x| **x < thr)
                        .for_each(|x| *x = *filter_value);
                });
            }
            TopP {
                top_p,
                min_tokens_to_keep,
                filter_value,
            } => {
                let thr = (1.0 - top_p) as f32;
                for_each_row(logits, vocab, |_, row| {
                    top_p_row(row, thr, *min_tokens_to_keep, *filter_value)
                });
            }
            MinP {
                min_p,
                min_tokens_to_keep,
                filter_value,
            } => {
                let min_p = *min_p as f32;
                for_each_row(logits, vocab, |_, row| {
                    let probs = softmax_f32(row);
                    let thr = min_p * row_max(&probs);
                    let keep = kth_largest(row, *min_tokens_to_keep);
                    for (x, p) in row.iter_mut().zip(probs) {
                        if p < thr && *x < keep {
                            *x = *filter_value;
                        }
                    }
                });
            }
            Typical {
                mass,
                min_tokens_to_keep,
                filter_value,
            } => {
                let mass = *mass as f32;
                for_each_row(logits, vocab, |_, row| {
                    typical_row(row, mass, *min_tokens_to_keep, *filter_value)
                });
            }
            EpsilonCutoff {
                epsilon,
                min_tokens_to_keep,
                filter_value,
            } => {
                let eps = *epsilon as f32;
                for_each_row(logits, vocab, |_, row| {
                    let probs = softmax_f32(row);
                    cutoff(row, &probs, eps, *min_tokens_to_keep, *filter_value);
                });
            }
            EtaCutoff {
                epsilon,
                min_tokens_to_keep,
                filter_value,
            } => {
                let eps = *epsilon as f32;
                for_each_row(logits, vocab, |_, row| {
                    let probs = softmax_f32(row);
                    // torch.distributions.Categorical(logits).entropy(): normalized logits
                    // clamped to the float32 minimum so that -inf * 0 counts as 0
                    let lse = logsumexp(row) as f32;
                    let entropy: f64 = -row
                        .iter()
                        .zip(&probs)
                        .map(|(&x, &p)| ((x - lse).max(f32::MIN) * p) as f64)
                        .sum::<f64>();
                    let eta = eps.min(eps.sqrt() * (-(entropy as f32)).exp());
                    cutoff(row, &probs, eta, *min_tokens_to_keep, *filter_value);
                });
            }
            LogitNormalization => {
                for_each_row(logits, vocab, |_, row| log_softmax_in_place(row));
            }
        }
        Ok(())
    }
}

fn check_min_keep(min_tokens_to_keep: usize) -> Result<()> {
    if min_tokens_to_keep == 0 {
        return invalid_config("`min_tokens_to_keep` has to be a positive integer, but is 0");
    }
    Ok(())
}

fn rows_per_batch(rows: usize, batch: usize, what: &str) -> Result<usize> {
    if batch == 0 || !rows.is_multiple_of(batch) {
        return invalid_input(format!(
            "{rows} rows of logits cannot be split evenly over the {batch} rows of {what}"
        ));
    }
    Ok(rows / batch)
}

/// Applies `f` once to the score of every distinct token of `hist` (torch's gather + scatter
/// writes one value per token however often it occurs).
fn penalize(row: &mut [f32], hist: &[i64], f: impl Fn(f32) -> f32) {
    let vocab = row.len();
    let mut seen: Vec<usize> = hist.iter().filter_map(|&t| tok(t, vocab)).collect();
    seen.sort_unstable();
    seen.dedup();
    for t in seen {
        row[t] = f(row[t]);
    }
}

/// `probs < threshold` and below the `min_tokens_to_keep`-th largest logit are filtered
/// (epsilon and eta sampling).
fn cutoff(row: &mut [f32], probs: &[f32], threshold: f32, min_keep: usize, filter: f32) {
    let keep = kth_largest(row, min_keep);
    for (x, &p) in row.iter_mut().zip(probs) {
        if p < threshold && *x < keep {
            *x = filter;
        }
    }
}

/// Cumulative sums of `probs` taken in `order`, starting from `start`, accumulated in f64
/// and rounded to f32.
fn cumsum_in_order(probs: &[f32], order: &[u32], start: f64) -> Vec<f32> {
    let mut acc = start;
    order
        .iter()
        .map(|&i| {
            acc += probs[i as usize] as f64;
            acc as f32
        })
        .collect()
}

fn top_p_row(row: &mut [f32], thr: f32, min_keep: usize, filter: f32) {
    let n = row.len();
    // After top-k most entries are -inf: they have probability 0, sort first and are removed
    // (left at -inf) whatever happens, so only the finite ones need any work.
    let finite: Vec<u32> = (0..n as u32)
        .filter(|&i| row[i as usize] != f32::NEG_INFINITY)
        .collect();
    if finite.len() * 8 < n {
        let vals: Vec<f32> = finite.iter().map(|&i| row[i as usize]).collect();
        let probs = softmax_f32(&vals);
        let order = argsort_ascending(&vals);
        let cum = cumsum_in_order(&probs, &order, 0.0);
        for j in 0..finite.len().saturating_sub(min_keep) {
            if cum[j] <= thr {
                row[finite[order[j] as usize] as usize] = filter;
            }
        }
        return;
    }
    let probs = softmax_f32(row);
    // Shortcut: every token whose probability is below `t`, where all those tokens together
    // hold at most the removable mass `thr`, is removed whatever the sort order (its ascending
    // cumulative sum cannot exceed that total), and so is every zero-probability token. Only
    // the others need sorting: a few hundred out of 100k+ for typical LLM distributions.
    let pmax = probs.iter().fold(0f32, |m, &p| if p > m { p } else { m });
    let mut cut = 0f32;
    let mut tail = 0f64;
    if probs.iter().all(|p| !p.is_nan()) {
        for scale in [1e-3f32, 1e-5, 1e-7] {
            let t = pmax * scale;
            let s: f64 = probs.iter().filter(|&&p| p < t).map(|&p| p as f64).sum();
            if s <= thr as f64 * 0.999 {
                cut = t;
                tail = s;
                break;
            }
        }
    }
    let candidates = (0..n as u32).filter(|&i| {
        let p = probs[i as usize];
        p.is_nan() || (p >= cut && p > 0.0)
    });
    let order = argsort_ascending_of(row, candidates);
    if order.len() < min_keep {
        // the protected tokens reach into the shortcut's set: take the exact path
        let order = argsort_ascending(row);
        let cum = cumsum_in_order(&probs, &order, 0.0);
        for j in 0..n.saturating_sub(min_keep) {
            if cum[j] <= thr {
                row[order[j] as usize] = filter;
            }
        }
        return;
    }
    let mut keep = vec![false; n];
    let cum = cumsum_in_order(&probs, &order, tail);
    // the largest `min_keep` (the end of the ascending order) are never removed
    let removable = order.len() - min_keep;
    for (j, &i) in order.iter().enumerate() {
        keep[i as usize] = j >= removable || cum[j] > thr;
    }
    for (x, k) in row.iter_mut().zip(keep) {
        if !k {
            *x = filter;
        }
    }
}

fn typical_row(row: &mut [f32], mass: f32, min_keep: usize, filter: f32) {
    let n = row.len();
    let mut logp = row.to_vec();
    log_softmax_in_place(&mut logp);
    // entropy with nansum: -inf * 0 terms are skipped
    let ent: f64 = -logp
        .iter()
        .map(|&l| {
            let v = l * l.exp();
            if v.is_nan() {
                0.0
            } else {
                v as f64
            }
        })
        .sum::<f64>();
    let ent = ent as f32;
    let shifted: Vec<f32> = logp.iter().map(|&l| (-l - ent).abs()).collect();
    let order = argsort_ascending(&shifted);
    let probs = softmax_f32(row);
    let cum = cumsum_in_order(&probs, &order, 0.0);
    let last_ind = cum.iter().filter(|&&c| c < mass).count().min(n - 1);
    let cut = shifted[order[last_ind] as usize];
    for (j, &i) in order.iter().enumerate() {
        if j >= min_keep && shifted[i as usize] > cut {
            row[i as usize] = filter;
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn whisper_timestamps(
    row: &mut [f32],
    sampled: &[i64],
    no_ts: usize,
    ts_begin: usize,
    eos: usize,
    first_step: bool,
    max_initial_timestamp_index: Option<i64>,
    detect_from_logprob: bool,
) {
    let vocab = row.len();
    row[no_ts] = NEG_INF;
    let is_ts = |t: i64| t >= ts_begin as i64;
    let n = sampled.len();
    let last_was_ts = n >= 1 && is_ts(sampled[n - 1]);
    let penultimate_was_ts = n < 2 || is_ts(sampled[n - 2]);
    if last_was_ts {
        if penultimate_was_ts {
            row[ts_begin..].iter_mut().for_each(|x| *x = NEG_INF);
        } else {
            row[..eos].iter_mut().for_each(|x| *x = NEG_INF);
        }
    }
    if let Some(&last_ts) = sampled.iter().rev().find(|&&t| is_ts(t)) {
        let end = if last_was_ts && !penultimate_was_ts {
            last_ts
        } else {
            last_ts + 1
        };
        let end = (end.max(0) as usize).min(vocab);
        if end > ts_begin {
            row[ts_begin..end].iter_mut().for_each(|x| *x = NEG_INF);
        }
    }
    if first_step {
        row[..ts_begin].iter_mut().for_each(|x| *x = NEG_INF);
        if let Some(m) = max_initial_timestamp_index {
            let last_allowed = ts_begin as i64 + m;
            let from = ((last_allowed + 1).max(0) as usize).min(vocab);
            row[from..].iter_mut().for_each(|x| *x = NEG_INF);
        }
    }
    if detect_from_logprob {
        let lse = logsumexp(row);
        let ts_lse = logsumexp(&row[ts_begin..]) - lse;
        let max_text = row_max(&row[..ts_begin]) as f64 - lse;
        if ts_lse > max_text {
            row[..ts_begin].iter_mut().for_each(|x| *x = NEG_INF);
        }
    }
}

/// What [`LogitsProcessorList::from_config`] needs besides the config.
#[derive(Clone, Copy, Debug, Default)]
pub struct BuildContext<'a> {
    /// `input_ids_seq_length`: the (decoder) prompt length.
    pub prompt_length: usize,
    /// The encoder's `input_ids` (for decoder-only models: the prompt), `[batch, len]`; needed by
    /// the encoder repetition penalty and encoder no-repeat-ngram (ignored without it, as
    /// transformers ignores them with a warning).
    pub encoder_input_ids: Option<Tokens<'a>>,
}

/// An ordered list of processors, applied in turn (transformers' `LogitsProcessorList`).
/// Immutable once built: share it between threads freely.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LogitsProcessorList {
    processors: Vec<LogitsProcessor>,
}

impl LogitsProcessorList {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, p: LogitsProcessor) {
        self.processors.push(p);
    }

    pub fn processors(&self) -> &[LogitsProcessor] {
        &self.processors
    }

    pub fn len(&self) -> usize {
        self.processors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.processors.is_empty()
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.processors.iter().map(LogitsProcessor::name).collect()
    }

    /// Logits rows per `input_ids` row (2 with classifier-free guidance).
    pub fn rows_per_input_row(&self) -> usize {
        self.processors
            .iter()
            .map(LogitsProcessor::rows_per_input_row)
            .max()
            .unwrap_or(1)
    }

    /// The list `generate()` builds (transformers' `_get_logits_processor`, same order and
    /// activation conditions), for a config *before* length resolution: `max_new_tokens` and
    /// `min_new_tokens` are resolved here against `ctx.prompt_length`.
    ///
    /// Differences: classifier-free guidance is the batched processor (Transformers.js; the
    /// conditional rows first, then the unconditional ones) instead of transformers'
    /// model-calling `UnbatchedClassifierFreeGuidanceLogitsProcessor`; `forced_decoder_ids`
    /// (removed from transformers 4.40+) sits where transformers 4.3x put it, after
    /// `begin_suppress_tokens`, whose begin index it shifts; the Whisper timestamp processor is
    /// appended after the processors (as a custom processor is) when `return_timestamps` is set.
    pub fn from_config(config: &GenerationConfig, ctx: &BuildContext<'_>) -> Result<Self> {
        config.validate()?;
        let cfg = config.resolved(ctx.prompt_length);
        let eos = cfg.eos_ids().to_vec();
        let has_eos = cfg.eos_token_id.is_some();
        let mut list = LogitsProcessorList::new();
        let p = &mut list.processors;
        type P = LogitsProcessor;

        if let Some(g) = cfg.guidance_scale {
            if g != 1.0 {
                p.push(P::new_classifier_free_guidance(g)?);
            }
        }
        if let Some(sb) = &cfg.sequence_bias {
            p.push(P::new_sequence_bias(sb)?);
        }
        if let (Some(pen), Some(enc)) = (cfg.encoder_repetition_penalty, ctx.encoder_input_ids) {
            if pen != 1.0 {
                p.push(P::new_encoder_repetition_penalty(pen, enc)?);
            }
        }
        if let Some(pen) = cfg.repetition_penalty {
            if pen != 1.0 {
                p.push(P::new_repetition_penalty(pen)?);
            }
        }
        if let Some(n) = cfg.no_repeat_ngram_size {
            if n > 0 {
                p.push(P::new_no_repeat_ngram(n as usize)?);
            }
        }
        if let (Some(n), Some(enc)) = (cfg.encoder_no_repeat_ngram_size, ctx.encoder_input_ids) {
            if n > 0 {
                p.push(P::new_encoder_no_repeat_ngram(n as usize, enc)?);
            }
        }
        if let Some(bw) = &cfg.bad_words_ids {
            p.push(P::new_no_bad_words(bw, &eos)?);
        }
        if has_eos && cfg.min_length > 0 {
            p.push(P::MinLength {
                min_length: cfg.min_length,
                eos_token_id: eos.clone(),
            });
        }
        if let Some(n) = cfg.min_new_tokens {
            if has_eos && n > 0 {
                p.push(P::MinNewTokensLength {
                    prompt_length_to_skip: ctx.prompt_length,
                    min_new_tokens: n,
                    eos_token_id: eos.clone(),
                });
            }
        }
        if let Some(bos) = cfg.forced_bos_token_id {
            p.push(P::ForcedBosToken { bos_token_id: bos });
        }
        if let Some(feos) = &cfg.forced_eos_token_id {
            if feos.iter().any(|&t| t < 0) {
                return invalid_config(format!(
                    "`forced_eos_token_id` has to be a list of positive integers, but is {feos:?}"
                ));
            }
            p.push(P::ForcedEosToken {
                max_length: cfg.max_length,
                eos_token_id: feos.clone(),
            });
        }
        if cfg.remove_invalid_values {
            p.push(P::InfNanRemove);
        }
        if let Some((start, factor)) = cfg.exponential_decay_length_penalty {
            if !has_eos {
                return invalid_config(
                    "`exponential_decay_length_penalty` needs `eos_token_id` to be set",
                );
            }
            p.push(P::new_exponential_decay(
                start,
                factor,
                &eos,
                ctx.prompt_length,
            ));
        }
        if let Some(st) = &cfg.suppress_tokens {
            p.push(P::SuppressTokens {
                suppress_tokens: st.clone(),
            });
        }
        if let Some(bst) = &cfg.begin_suppress_tokens {
            let mut begin_index = ctx.prompt_length;
            if !(ctx.prompt_length > 1 || cfg.forced_bos_token_id.is_none()) {
                begin_index += 1;
            }
            if let Some(last) = cfg.forced_decoder_ids.as_ref().and_then(|f| f.last()) {
                // generation starts after the last forced token
                begin_index += last.0;
            }
            p.push(P::SuppressTokensAtBegin {
                begin_suppress_tokens: bst.clone(),
                begin_index,
            });
        }
        if let Some(fd) = &cfg.forced_decoder_ids {
            if !fd.is_empty() {
                p.push(P::ForcedDecoderIds {
                    force_token_map: fd.clone(),
                });
            }
        }
        if cfg.return_timestamps {
            let Some(no_ts) = cfg.no_timestamps_token_id else {
                return invalid_config(
                    "`return_timestamps` needs `no_timestamps_token_id` in the generation config",
                );
            };
            let Some(eos_id) = eos.first().copied().or(cfg.bos_token_id) else {
                return invalid_config(
                    "`return_timestamps` needs `eos_token_id` or `bos_token_id`",
                );
            };
            p.push(P::WhisperTimeStamp {
                no_timestamps_token_id: no_ts,
                eos_token_id: eos_id,
                begin_index: ctx.prompt_length,
                max_initial_timestamp_index: cfg.max_initial_timestamp_index,
                detect_timestamp_from_logprob: true,
            });
        }

        if cfg.do_sample {
            // beam sampling keeps one non-eos candidate per beam beyond the eos ones
            let min_keep = if cfg.num_beams > 1 {
                if has_eos {
                    eos.len() + 1
                } else {
                    2
                }
            } else {
                1
            };
            if let Some(t) = cfg.temperature {
                if t != 1.0 {
                    p.push(P::new_temperature(t)?);
                }
            }
            if let Some(k) = cfg.top_k {
                if k != 0 {
                    p.push(P::new_top_k(k, min_keep)?);
                }
            }
            if let Some(tp) = cfg.top_p {
                if tp < 1.0 {
                    p.push(P::new_top_p(tp, min_keep)?);
                }
            }
            if let Some(mp) = cfg.min_p {
                p.push(P::new_min_p(mp, min_keep)?);
            }
            if let Some(m) = cfg.typical_p {
                if m < 1.0 {
                    p.push(P::new_typical(m, min_keep)?);
                }
            }
            if let Some(e) = cfg.epsilon_cutoff {
                if e > 0.0 && e < 1.0 {
                    p.push(P::new_epsilon(e, min_keep)?);
                }
            }
            if let Some(e) = cfg.eta_cutoff {
                if e > 0.0 && e < 1.0 {
                    p.push(P::new_eta(e, min_keep)?);
                }
            }
        }
        if cfg.renormalize_logits {
            p.push(P::LogitNormalization);
        }
        Ok(list)
    }

    /// Applies every processor in order, in place. `logits` holds `ids.rows()` rows (twice as
    /// many with classifier-free guidance). Returns the number of rows that hold the result:
    /// `ids.rows()`.
    pub fn process(&self, ids: Tokens<'_>, logits: &mut [f32], vocab: usize) -> Result<usize> {
        self.process_range(ids, logits, vocab, 0..self.processors.len())
    }

    /// Index of the first warper ([`LogitsProcessor::is_warper`]): custom processors go
    /// between `..warpers_start()` and `warpers_start()..`, as in transformers' list.
    pub fn warpers_start(&self) -> usize {
        self.processors
            .iter()
            .position(LogitsProcessor::is_warper)
            .unwrap_or(self.processors.len())
    }

    /// [`process`](Self::process) restricted to the processors in `range` (same buffer
    /// layout: `logits` holds the rows the whole list expects).
    pub fn process_range(
        &self,
        ids: Tokens<'_>,
        logits: &mut [f32],
        vocab: usize,
        range: std::ops::Range<usize>,
    ) -> Result<usize> {
        let rows = ids.rows();
        check_logits(logits, rows * self.rows_per_input_row(), vocab)?;
        let range = range.start.min(self.processors.len())..range.end.min(self.processors.len());
        for (i, proc) in self
            .processors
            .iter()
            .enumerate()
            .take(range.end)
            .skip(range.start)
        {
            let factor = proc.rows_per_input_row();
            if factor > 1 && i > 0 {
                return invalid_config(format!(
                    "{} must be the first processor of the list (it is number {})",
                    proc.name(),
                    i + 1
                ));
            }
            // after guidance only the first half (the guided scores) is live
            proc.apply(ids, &mut logits[..rows * factor * vocab], vocab)?;
        }
        Ok(rows)
    }
}
