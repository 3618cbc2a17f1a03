//! Beam search bookkeeping: transformers' `BeamHypotheses` and `BeamSearchScorer`
//! (`generation/beam_search.py`), with the same scores (f64 arithmetic on f32 step scores, as
//! Python floats), the same `is_done` heuristics for `early_stopping` true / false / "never"
//! and the same `finalize` (best hypotheses, padding, the eos appended to shorter ones).
//!
//! One deliberate difference: a hypothesis remembers which eos id ended it and `finalize`
//! appends that id, where the classic scorer appends `eos_token_id[0]` (they only differ with
//! several eos ids; transformers' newer vectorised beam search keeps the generated id too).

use super::config::EarlyStopping;
use super::{invalid_config, invalid_input, Result, Tokens};
use std::cmp::Ordering;

/// A finished (or, at `finalize`, still running) hypothesis.
#[derive(Clone, Debug, PartialEq)]
pub struct Hypothesis {
    /// `sum_logprobs / generated_len ** length_penalty`.
    pub score: f64,
    /// The tokens, prompt included, without the eos that ended it.
    pub tokens: Vec<i64>,
    /// The eos id that ended it (`None` for hypotheses added at `finalize`).
    pub eos: Option<i64>,
    /// transformers' `beam_indices`: for each generated token (the ending eos included), the
    /// running row (`batch_index * num_beams + beam`) whose logits produced it. Empty when the
    /// hypothesis was added without a history ([`BeamHypotheses::add`]).
    pub beam_indices: Vec<i64>,
}

/// The `num_beams` best finished hypotheses of one batch item.
#[derive(Clone, Debug)]
pub struct BeamHypotheses {
    num_beams: usize,
    length_penalty: f64,
    early_stopping: EarlyStopping,
    max_length: Option<usize>,
    beams: Vec<Hypothesis>,
    worst_score: f64,
}

impl BeamHypotheses {
    pub fn new(
        num_beams: usize,
        length_penalty: f64,
        early_stopping: EarlyStopping,
        max_length: Option<usize>,
    ) -> Result<Self> {
        if early_stopping == EarlyStopping::Never && max_length.is_none() {
            return invalid_config("early_stopping=\"never\" needs max_length");
        }
        Ok(BeamHypotheses {
            num_beams,
            length_penalty,
            early_stopping,
            max_length,
            beams: Vec::new(),
            worst_score: 1e9,
        })
    }

    pub fn len(&self) -> usize {
        self.beams.len()
    }

    pub fn is_empty(&self) -> bool {
        self.beams.is_empty()
    }

    pub fn beams(&self) -> &[Hypothesis] {
        &self.beams
    }

    pub fn worst_score(&self) -> f64 {
        self.worst_score
    }

    /// Adds a hypothesis if there is room or it beats the worst one (which is then dropped).
    pub fn add(
        &mut self,
        tokens: Vec<i64>,
        sum_logprobs: f64,
        generated_len: usize,
        eos: Option<i64>,
    ) {
        self.add_with_beam_indices(tokens, sum_logprobs, generated_len, eos, Vec::new());
    }

    /// [`add`](Self::add), keeping the hypothesis' beam index history.
    pub fn add_with_beam_indices(
        &mut self,
        tokens: Vec<i64>,
        sum_logprobs: f64,
        generated_len: usize,
        eos: Option<i64>,
        beam_indices: Vec<i64>,
    ) {
        let score = sum_logprobs / (generated_len as f64).powf(self.length_penalty);
        if self.beams.len() < self.num_beams || score > self.worst_score {
            self.beams.push(Hypothesis {
                score,
                tokens,
                eos,
                beam_indices,
            });
            if self.beams.len() > self.num_beams {
                // python: sorted([(s, idx) ...]) -> drop the smallest, worst = the next one
                let mut order: Vec<(f64, usize)> = self
                    .beams
                    .iter()
                    .enumerate()
                    .map(|(i, h)| (h.score, i))
                    .collect();
                order.sort_by(|a, b| py_float_cmp(a.0, b.0).then(a.1.cmp(&b.1)));
                self.beams.remove(order[0].1);
                self.worst_score = order[1].0;
            } else {
                self.worst_score = score.min(self.worst_score);
            }
        }
    }

    /// Whether no running beam can beat the finished ones any more.
    pub fn is_done(
        &self,
        best_sum_logprobs: f64,
        cur_len: usize,
        decoder_prompt_len: usize,
    ) -> Result<bool> {
        if self.beams.len() < self.num_beams {
            return Ok(false);
        }
        let lp = self.length_penalty;
        let attainable =
            |len: usize| best_sum_logprobs / (len as f64 - decoder_prompt_len as f64).powf(lp);
        Ok(match self.early_stopping {
            EarlyStopping::True => true,
            EarlyStopping::False => self.worst_score >= attainable(cur_len),
            EarlyStopping::Never => {
                let highest = if lp > 0.0 {
                    let max_length = self.max_length.unwrap_or(0);
                    if max_length <= decoder_prompt_len {
                        return invalid_config(
                            "max_length is not larger than the decoder prompt length",
                        );
                    }
                    attainable(max_length)
                } else {
                    attainable(cur_len)
                };
                self.worst_score >= highest
            }
        })
    }
}

/// Python's float ordering for sorting (NaN compares as equal, which Python's sort tolerates).
fn py_float_cmp(a: f64, b: f64) -> Ordering {
    a.partial_cmp(&b).unwrap_or(Ordering::Equal)
}

/// What one `process` step decided: for each of the `batch * num_beams` running rows, its
/// score, its next token, and the row it continues (the KV-cache reorder index).
#[derive(Clone, Debug, PartialEq)]
pub struct BeamStep {
    pub scores: Vec<f32>,
    pub tokens: Vec<i64>,
    pub indices: Vec<usize>,
}

/// Generated sequences, `[rows, len]` row-major, and (beam search) their scores.
#[derive(Clone, Debug, PartialEq)]
pub struct Finalized {
    pub sequences: Vec<i64>,
    pub rows: usize,
    pub len: usize,
    pub scores: Option<Vec<f32>>,
    /// Beam modes: transformers' `beam_indices`, `[rows, len - decoder_prompt_len]` row-major:
    /// per generated token of each returned hypothesis, the running row whose logits produced
    /// it (gather per-step outputs such as cross-attentions with it); `-1` past the
    /// hypothesis' own end (padding, or an eos appended by `finalize`).
    pub beam_indices: Option<Vec<i64>>,
}

/// transformers' `BeamSearchScorer` (one beam group).
#[derive(Clone, Debug)]
pub struct BeamSearchScorer {
    batch_size: usize,
    num_beams: usize,
    num_beam_hyps_to_keep: usize,
    hyps: Vec<BeamHypotheses>,
    done: Vec<bool>,
    /// Beam index history of each running row, `[batch * num_beams, hist_len]` row-major:
    /// entry `j` of row `r` is the row that row `r`'s ancestor continued at generated step `j`.
    history: Vec<i64>,
    hist_len: usize,
}

impl BeamSearchScorer {
    pub fn new(
        batch_size: usize,
        num_beams: usize,
        length_penalty: f64,
        early_stopping: EarlyStopping,
        num_beam_hyps_to_keep: usize,
        max_length: Option<usize>,
    ) -> Result<Self> {
        if num_beams < 2 {
            return invalid_config(format!(
                "`num_beams` has to be an integer strictly greater than 1 for beam search, but is \
                 {num_beams}"
            ));
        }
        if num_beam_hyps_to_keep == 0 || num_beam_hyps_to_keep > num_beams {
            return invalid_config(format!(
                "`num_return_sequences` ({num_beam_hyps_to_keep}) has to be between 1 and \
                 `num_beams` ({num_beams})"
            ));
        }
        let hyps = (0..batch_size)
            .map(|_| BeamHypotheses::new(num_beams, length_penalty, early_stopping, max_length))
            .collect::<Result<Vec<_>>>()?;
        Ok(BeamSearchScorer {
            batch_size,
            num_beams,
            num_beam_hyps_to_keep,
            hyps,
            done: vec![false; batch_size],
            history: Vec::new(),
            hist_len: 0,
        })
    }

    pub fn is_done(&self) -> bool {
        self.done.iter().all(|&d| d)
    }

    pub fn batch_done(&self) -> &[bool] {
        &self.done
    }

    pub fn hypotheses(&self) -> &[BeamHypotheses] {
        &self.hyps
    }

    /// One step. `input_ids` are the `batch * num_beams` running rows *before* this step's
    /// token; `next_scores` / `next_tokens` / `next_indices` (beam index within the batch item)
    /// hold `k` candidates per batch item, best first (k = 2 * num_beams in transformers).
    #[allow(clippy::too_many_arguments)]
    pub fn process(
        &mut self,
        input_ids: Tokens<'_>,
        next_scores: &[f32],
        next_tokens: &[i64],
        next_indices: &[usize],
        pad_token_id: Option<i64>,
        eos_token_id: &[i64],
        decoder_prompt_len: usize,
    ) -> Result<BeamStep> {
        let (batch, beams) = (self.batch_size, self.num_beams);
        if input_ids.rows() != batch * beams {
            return invalid_input(format!(
                "a beam size of {} rows is used as the input, but {batch} x {beams} rows are \
                 expected by the beam scorer",
                input_ids.rows()
            ));
        }
        let k = next_scores.len() / batch.max(1);
        if next_scores.len() != batch * k
            || next_tokens.len() != batch * k
            || next_indices.len() != batch * k
        {
            return invalid_input(
                "beam candidates must hold the same number of entries per batch item",
            );
        }
        let cur_len = input_ids.len() + 1;
        let mut out = BeamStep {
            scores: vec![0.0; batch * beams],
            tokens: vec![0; batch * beams],
            indices: vec![0; batch * beams],
        };
        for b in 0..batch {
            let o = b * beams;
            if self.done[b] {
                let Some(pad) = pad_token_id.filter(|_| !eos_token_id.is_empty()) else {
                    return invalid_input(
                        "generated beams >= num_beams: eos_token_id and pad_token_id have to be defined",
                    );
                };
                out.tokens[o..o + beams].iter_mut().for_each(|t| *t = pad);
                // scores 0 and indices 0 (the first row), as transformers does
                continue;
            }
            let mut beam_idx = 0;
            for rank in 0..k {
                let (score, token, index) = (
                    next_scores[b * k + rank],
                    next_tokens[b * k + rank],
                    next_indices[b * k + rank],
                );
                if index >= beams {
                    return invalid_input(format!(
                        "beam index {index} out of range (num_beams {beams})"
                    ));
                }
                let row = o + index;
                if eos_token_id.contains(&token) {
                    // only eos among the top num_beams candidates may finish a hypothesis
                    if rank >= beams {
                        continue;
                    }
                    let mut hist = self.history_row(row).to_vec();
                    hist.push(row as i64);
                    self.hyps[b].add_with_beam_indices(
                        input_ids.row(row).to_vec(),
                        score as f64,
                        cur_len.saturating_sub(decoder_prompt_len),
                        Some(token),
                        hist,
                    );
                } else {
                    out.scores[o + beam_idx] = score;
                    out.tokens[o + beam_idx] = token;
                    out.indices[o + beam_idx] = row;
                    beam_idx += 1;
                }
                if beam_idx == beams {
                    break;
                }
            }
            if beam_idx < beams {
                return invalid_input(format!(
                    "at most {beams} of the {k} beam candidates can be an eos token; make sure \
                     the candidates come from the top 2 * num_beams"
                ));
            }
            let best = next_scores[b * k..(b + 1) * k]
                .iter()
                .fold(
                    f32::NEG_INFINITY,
                    |m, &x| if x > m || x.is_nan() { x } else { m },
                );
            self.done[b] =
                self.done[b] || self.hyps[b].is_done(best as f64, cur_len, decoder_prompt_len)?;
        }
        // the running rows' histories follow the reorder, plus this step's source row
        let old_len = self.hist_len;
        let mut history = Vec::with_capacity(batch * beams * (old_len + 1));
        for &src in &out.indices {
            history.extend_from_slice(&self.history[src * old_len..(src + 1) * old_len]);
            history.push(src as i64);
        }
        self.history = history;
        self.hist_len = old_len + 1;
        Ok(out)
    }

    /// The beam index history of running row `row` (empty before the first step).
    pub fn history_row(&self, row: usize) -> &[i64] {
        &self.history[row * self.hist_len..(row + 1) * self.hist_len]
    }

    /// Adds the running beams of unfinished batch items, then returns the
    /// `num_return_sequences` best hypotheses per batch item, padded to a common length (at most
    /// `max_length`), an eos appended to those shorter than it.
    pub fn finalize(
        &mut self,
        input_ids: Tokens<'_>,
        final_beam_scores: &[f32],
        max_length: Option<usize>,
        pad_token_id: Option<i64>,
        eos_token_id: &[i64],
        decoder_prompt_len: usize,
    ) -> Result<Finalized> {
        let (batch, beams, keep) = (self.batch_size, self.num_beams, self.num_beam_hyps_to_keep);
        if input_ids.rows() != batch * beams || final_beam_scores.len() != batch * beams {
            return invalid_input("finalize needs batch_size x num_beams rows and scores");
        }
        for b in 0..batch {
            if self.done[b] {
                continue;
            }
            for j in 0..beams {
                let row = b * beams + j;
                let generated_len = input_ids.len().saturating_sub(decoder_prompt_len);
                let hist = self.history_row(row).to_vec();
                self.hyps[b].add_with_beam_indices(
                    input_ids.row(row).to_vec(),
                    final_beam_scores[row] as f64,
                    generated_len,
                    None,
                    hist,
                );
            }
        }
        let mut best: Vec<Hypothesis> = Vec::with_capacity(batch * keep);
        for hyps in &self.hyps {
            // python: sorted(key=score) is stable, then pop() from the end
            let mut sorted = hyps.beams.clone();
            sorted.sort_by(|a, b| py_float_cmp(a.score, b.score));
            for _ in 0..keep {
                match sorted.pop() {
                    Some(h) => best.push(h),
                    None => {
                        return invalid_input(
                            "beam search finished with fewer hypotheses than requested",
                        )
                    }
                }
            }
        }
        let lens: Vec<usize> = best.iter().map(|h| h.tokens.len()).collect();
        let longest = lens.iter().copied().max().unwrap_or(0);
        let shortest = lens.iter().copied().min().unwrap_or(0);
        let mut len = longest + 1;
        if let Some(m) = max_length {
            len = len.min(m);
        }
        if eos_token_id.is_empty() {
            // nothing to append (transformers would fail here): keep the hypotheses' length
            len = len.min(longest);
        }
        let fill = if shortest != longest {
            match pad_token_id {
                Some(p) => p,
                None => return invalid_input("`pad_token_id` has to be defined"),
            }
        } else {
            pad_token_id.unwrap_or(0)
        };
        let rows = best.len();
        let mut sequences = vec![fill; rows * len];
        let width = len.saturating_sub(decoder_prompt_len);
        let mut beam_indices = vec![-1i64; rows * width];
        for (i, h) in best.iter().enumerate() {
            let n = h.tokens.len().min(len);
            sequences[i * len..i * len + n].copy_from_slice(&h.tokens[..n]);
            if h.tokens.len() < len {
                sequences[i * len + h.tokens.len()] =
                    h.eos.or(eos_token_id.first().copied()).unwrap_or(fill);
            }
            let k = h.beam_indices.len().min(width);
            beam_indices[i * width..i * width + k].copy_from_slice(&h.beam_indices[..k]);
        }
        Ok(Finalized {
            sequences,
            rows,
            len,
            scores: Some(best.iter().map(|h| h.score as f32).collect()),
            beam_indices: Some(beam_indices),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_beam_hypotheses_keeps_best_and_worst_score() {
        let mut h = BeamHypotheses::new(2, 1.0, EarlyStopping::False, None).unwrap();
        h.add(vec![1], -4.0, 2, Some(9)); // -2
        assert_eq!(h.worst_score(), -2.0);
        h.add(vec![2], -3.0, 3, Some(9)); // -1
        assert_eq!(h.worst_score(), -2.0);
        h.add(vec![3], -9.0, 3, Some(9)); // -3: not better than worst, dropped
        assert_eq!(h.len(), 2);
        h.add(vec![4], -1.0, 2, Some(9)); // -0.5: replaces -2, worst becomes -1
        assert_eq!(h.worst_score(), -1.0);
        let toks: Vec<i64> = h.beams().iter().map(|b| b.tokens[0]).collect();
        assert_eq!(toks, vec![2, 4]);
    }

    #[test]
    fn generation_beam_hypotheses_is_done_heuristics() {
        let mut h = BeamHypotheses::new(1, 1.0, EarlyStopping::False, Some(10)).unwrap();
        assert!(!h.is_done(-1.0, 5, 0).unwrap());
        h.add(vec![1, 2], -2.0, 2, None); // score -1
                                          // best running -6 over 5 tokens = -1.2 < -1: done
        assert!(h.is_done(-6.0, 5, 0).unwrap());
        assert!(!h.is_done(-4.0, 5, 0).unwrap());
        let mut t = BeamHypotheses::new(1, 1.0, EarlyStopping::True, Some(10)).unwrap();
        t.add(vec![1], -100.0, 1, None);
        assert!(t.is_done(0.0, 2, 0).unwrap());
        // "never" with a positive length penalty divides by max_length - prompt
        let mut n = BeamHypotheses::new(1, 1.0, EarlyStopping::Never, Some(10)).unwrap();
        n.add(vec![1, 2], -2.0, 2, None); // -1
        assert!(!n.is_done(-9.0, 5, 0).unwrap()); // -0.9 > -1
        assert!(n.is_done(-11.0, 5, 0).unwrap());
        assert!(n.is_done(-11.0, 5, 10).is_err());
    }
}
