//! The per-step decode state a generation loop drives: hand it the logits of the current step,
//! get back the tokens to feed next (and, for beam search, which rows the KV cache must be
//! reordered from). It owns the sequences, the finished flags, the beam scorer, the seeded rng
//! and the stopping criteria; it never calls the model.
//!
//! Semantics: transformers' `_sample` (greedy and multinomial) and the classic `_beam_search`
//! (beam search and beam sample driving `BeamSearchScorer`).

use super::beam::{BeamSearchScorer, Finalized};
use super::config::GenerationConfig;
use super::ops::{
    argmax, for_each_row_over, log_softmax_in_place, map_rows, LINEAR_PARALLEL_MIN_VALUES,
};
use super::processors::{BuildContext, LogitsProcessorList};
use super::rng::Xoshiro256StarStar;
use super::sampling::{sample_logits, select_beam_candidates};
use super::stopping::{InterruptFlag, StoppingCriteria};
use super::{check_logits, invalid_input, Result, Tokens};

/// How tokens are chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodingMode {
    Greedy,
    Sample,
    BeamSearch,
    BeamSample,
}

impl DecodingMode {
    pub fn from_config(cfg: &GenerationConfig) -> Self {
        match (cfg.num_beams > 1, cfg.do_sample) {
            (false, false) => DecodingMode::Greedy,
            (false, true) => DecodingMode::Sample,
            (true, false) => DecodingMode::BeamSearch,
            (true, true) => DecodingMode::BeamSample,
        }
    }

    pub fn is_beam(self) -> bool {
        matches!(self, DecodingMode::BeamSearch | DecodingMode::BeamSample)
    }

    pub fn name(self) -> &'static str {
        match self {
            DecodingMode::Greedy => "greedy",
            DecodingMode::Sample => "sample",
            DecodingMode::BeamSearch => "beam_search",
            DecodingMode::BeamSample => "beam_sample",
        }
    }
}

/// What a step produced, one entry per running row.
#[derive(Clone, Debug, PartialEq)]
pub struct StepOutput {
    /// The token appended to each row: the next model input (pad for finished rows).
    pub next_tokens: Vec<i64>,
    /// Beam modes: row `r` now continues former row `beam_indices[r]`; reorder the KV cache
    /// (and any per-row state) with it before the next forward pass. `None` otherwise.
    pub beam_indices: Option<Vec<usize>>,
    /// True once generation is over (call `finalize`).
    pub done: bool,
}

/// The state of one `generate()` call.
#[derive(Clone, Debug)]
pub struct GenerationState {
    cfg: GenerationConfig,
    processors: LogitsProcessorList,
    criteria: StoppingCriteria,
    mode: DecodingMode,
    batch_size: usize,
    expand: usize,
    rows: usize,
    prompt_len: usize,
    /// Row-major `rows x max_length`; row `i` holds `cur_len` valid ids.
    seqs: Vec<i64>,
    stride: usize,
    cur_len: usize,
    unfinished: Vec<bool>,
    rng: Xoshiro256StarStar,
    beam: Option<BeamSearchScorer>,
    beam_scores: Vec<f32>,
    done: bool,
    /// Between [`process_logits`](GenerationState::process_logits) and
    /// [`select`](GenerationState::select).
    pending: bool,
}

impl GenerationState {
    /// `input_ids`: the prompt, `[batch, prompt_len]` (decoder-only: the tokenized prompt,
    /// left-padded; encoder-decoder: the decoder start ids). Each row is repeated
    /// [`expand_size`](Self::expand_size) times (`num_beams`, or `num_return_sequences` when
    /// sampling), as transformers' `_expand_inputs_for_generation` does: run the model on
    /// inputs repeated the same way (`np.repeat(x, expand_size, axis=0)`).
    ///
    /// `encoder_input_ids`: the ids the encoder-based processors look at (`[batch, len]`; for
    /// decoder-only models pass the prompt as transformers does), or `None` to disable them.
    /// `seed`: the sampling seed (`None`: from the clock). `interrupt`: a flag another thread
    /// may raise to stop at the next step.
    pub fn new(
        config: &GenerationConfig,
        input_ids: Tokens<'_>,
        encoder_input_ids: Option<Tokens<'_>>,
        seed: Option<u64>,
        interrupt: Option<InterruptFlag>,
    ) -> Result<Self> {
        config.validate()?;
        let batch_size = input_ids.rows();
        let prompt_len = input_ids.len();
        if batch_size == 0 {
            return invalid_input("input_ids must hold at least one row");
        }
        if prompt_len == 0 {
            return invalid_input(
                "input_ids must hold at least one token per row (e.g. bos_token_id or \
                 decoder_start_token_id)",
            );
        }
        let cfg = config.resolved(prompt_len);
        if prompt_len >= cfg.max_length {
            return invalid_input(format!(
                "input length is {prompt_len}, but `max_length` is set to {}; increase \
                 `max_length` or, better, set `max_new_tokens`",
                cfg.max_length
            ));
        }
        if let Some(enc) = encoder_input_ids {
            if enc.rows() != batch_size {
                return invalid_input(format!(
                    "encoder_input_ids has {} rows, input_ids has {batch_size}",
                    enc.rows()
                ));
            }
        }
        let processors = LogitsProcessorList::from_config(
            config,
            &BuildContext {
                prompt_length: prompt_len,
                encoder_input_ids,
            },
        )?;
        let mode = DecodingMode::from_config(&cfg);
        let expand = cfg.expand_size();
        let rows = batch_size * expand;
        let stride = cfg.max_length;
        let mut seqs = vec![0i64; rows * stride];
        for b in 0..batch_size {
            for e in 0..expand {
                let r = b * expand + e;
                seqs[r * stride..r * stride + prompt_len].copy_from_slice(input_ids.row(b));
            }
        }
        let beam = if mode.is_beam() {
            Some(BeamSearchScorer::new(
                batch_size,
                cfg.num_beams,
                cfg.length_penalty,
                cfg.early_stopping,
                cfg.num_return_sequences,
                Some(cfg.max_length),
            )?)
        } else {
            None
        };
        // only the first beam of each item is live at the start, so that the first step does
        // not pick the same token num_beams times
        let beam_scores = if mode.is_beam() {
            (0..rows)
                .map(|r| if r % expand == 0 { 0.0 } else { -1e9 })
                .collect()
        } else {
            Vec::new()
        };
        let rng = match seed {
            Some(s) => Xoshiro256StarStar::seed_from_u64(s),
            None => Xoshiro256StarStar::from_entropy(),
        };
        Ok(GenerationState {
            criteria: StoppingCriteria::from_config(&cfg, interrupt),
            cfg,
            processors,
            mode,
            batch_size,
            expand,
            rows,
            prompt_len,
            seqs,
            stride,
            cur_len: prompt_len,
            unfinished: vec![true; rows],
            rng,
            beam,
            beam_scores,
            done: false,
            pending: false,
        })
    }

    pub fn mode(&self) -> DecodingMode {
        self.mode
    }

    /// The resolved config (`max_length` includes `max_new_tokens`, `pad_token_id` defaulted).
    pub fn config(&self) -> &GenerationConfig {
        &self.cfg
    }

    pub fn processors(&self) -> &LogitsProcessorList {
        &self.processors
    }

    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Rows per prompt (`max(num_beams, num_return_sequences)`).
    pub fn expand_size(&self) -> usize {
        self.expand
    }

    /// Running rows (`batch_size * expand_size`): the batch the model runs on.
    pub fn num_rows(&self) -> usize {
        self.rows
    }

    /// Logits rows expected per step: `num_rows`, doubled with classifier-free guidance.
    pub fn logits_rows(&self) -> usize {
        self.rows * self.processors.rows_per_input_row()
    }

    pub fn prompt_len(&self) -> usize {
        self.prompt_len
    }

    pub fn cur_len(&self) -> usize {
        self.cur_len
    }

    pub fn max_length(&self) -> usize {
        self.cfg.max_length
    }

    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The running sequences, `[num_rows, cur_len]` (prompt included).
    pub fn sequences(&self) -> Tokens<'_> {
        Tokens::with_stride(&self.seqs, self.rows, self.cur_len, self.stride)
            .expect("the sequence buffer always covers rows x cur_len")
    }

    /// Per-row "still generating" flags (greedy/sample; all true for beam modes).
    pub fn unfinished(&self) -> &[bool] {
        &self.unfinished
    }

    /// Running beam scores (beam modes; empty otherwise).
    pub fn beam_scores(&self) -> &[f32] {
        &self.beam_scores
    }

    /// Custom stopping criteria said `stop[r]` after the last step. As in transformers: greedy
    /// and sampling rows finish one by one (and get padding from then on when an EOS criterion
    /// exists; without one they keep generating, as there); beam modes stop once every row
    /// says so. Returns whether the generation is now done.
    pub fn stop_rows(&mut self, stop: &[bool]) -> Result<bool> {
        if stop.len() != self.rows {
            return invalid_input(format!(
                "stopping criteria returned {} rows, this generation runs {}",
                stop.len(),
                self.rows
            ));
        }
        if self.mode.is_beam() {
            self.done |= stop.iter().all(|&s| s);
        } else {
            for (u, &s) in self.unfinished.iter_mut().zip(stop) {
                *u = *u && !s;
            }
            self.done |= !self.unfinished.iter().any(|&u| u);
        }
        Ok(self.done)
    }

    /// One decoding step. `logits` are the last-position logits of the step,
    /// `[logits_rows(), vocab]` row-major; they are used as scratch space and hold the
    /// processed scores afterwards.
    pub fn step(&mut self, logits: &mut [f32], vocab: usize) -> Result<StepOutput> {
        self.check_step(logits, vocab)?;
        if self.pending {
            return invalid_input("a split step is in progress: call select()");
        }
        let all = self.processors.len();
        self.prepare(logits, vocab, all)?;
        self.finish(logits, vocab, all)
    }

    /// First half of a step split around custom processors (transformers' list order:
    /// built-in processors, custom processors, sampling warpers). Beam modes turn `logits`
    /// into log-probabilities first, as transformers' beam search does; then the built-in
    /// processors run, in place. Modify `logits[..num_rows]` (the custom processors, given
    /// [`sequences`](Self::sequences) as their `input_ids`), then call
    /// [`select`](Self::select) with the same buffer.
    pub fn process_logits(&mut self, logits: &mut [f32], vocab: usize) -> Result<()> {
        self.check_step(logits, vocab)?;
        if self.pending {
            return invalid_input(
                "process_logits() was already called for this step: call select()",
            );
        }
        let split = self.processors.warpers_start();
        self.prepare(logits, vocab, split)?;
        self.pending = true;
        Ok(())
    }

    /// Second half of a split step: the sampling warpers, then token choice (greedy,
    /// sampling, or beam selection on the running beam scores), as [`step`](Self::step).
    pub fn select(&mut self, logits: &mut [f32], vocab: usize) -> Result<StepOutput> {
        self.check_step(logits, vocab)?;
        if !self.pending {
            return invalid_input("select() needs process_logits() first");
        }
        self.pending = false;
        let split = self.processors.warpers_start();
        self.finish(logits, vocab, split)
    }

    fn check_step(&self, logits: &[f32], vocab: usize) -> Result<()> {
        if self.done {
            return invalid_input("generation is already done: call finalize()");
        }
        check_logits(logits, self.logits_rows(), vocab)
    }

    /// log_softmax (beam modes) and the processors `..upto`.
    fn prepare(&mut self, logits: &mut [f32], vocab: usize, upto: usize) -> Result<()> {
        let ids = Tokens::with_stride(&self.seqs, self.rows, self.cur_len, self.stride)?;
        if self.mode.is_beam() {
            // transformers: log_softmax first, then the processors, then + running beam scores
            for_each_row_over(logits, vocab, LINEAR_PARALLEL_MIN_VALUES, |_, row| {
                log_softmax_in_place(row)
            });
        }
        self.processors.process_range(ids, logits, vocab, 0..upto)?;
        Ok(())
    }

    /// The processors `from..`, then the token choice.
    fn finish(&mut self, logits: &mut [f32], vocab: usize, from: usize) -> Result<StepOutput> {
        if from < self.processors.len() {
            let ids = Tokens::with_stride(&self.seqs, self.rows, self.cur_len, self.stride)?;
            self.processors
                .process_range(ids, logits, vocab, from..self.processors.len())?;
        }
        if self.mode.is_beam() {
            self.beam_select(logits, vocab)
        } else {
            self.sample_select(logits, vocab)
        }
    }

    fn sample_select(&mut self, logits: &mut [f32], vocab: usize) -> Result<StepOutput> {
        let pad = self.cfg.pad_token_id.unwrap_or(0);
        let use_pad = self.criteria.has_eos();
        // finished rows get padding (and draw no random number)
        let next: Vec<i64> = if self.mode == DecodingMode::Sample {
            let mut next = Vec::with_capacity(self.rows);
            for r in 0..self.rows {
                if use_pad && !self.unfinished[r] {
                    next.push(pad);
                    continue;
                }
                let row = &logits[r * vocab..(r + 1) * vocab];
                let t = sample_logits(row, &mut self.rng)
                    .map_err(|e| super::GenerationError::InvalidInput(format!("row {r}: {e}")))?;
                next.push(t as i64);
            }
            next
        } else {
            // greedy rows are independent: in parallel when the batch is large
            let unfinished = &self.unfinished;
            map_rows(&logits[..self.rows * vocab], vocab, |r, row| {
                if use_pad && !unfinished[r] {
                    pad
                } else {
                    argmax(row) as i64
                }
            })
        };
        for (r, &t) in next.iter().enumerate() {
            self.seqs[r * self.stride + self.cur_len] = t;
        }
        self.cur_len += 1;
        let ids = Tokens::with_stride(&self.seqs, self.rows, self.cur_len, self.stride)?;
        let mut stop = vec![false; self.rows];
        self.criteria.check(ids, &mut stop);
        for (u, s) in self.unfinished.iter_mut().zip(stop) {
            *u = *u && !s;
        }
        self.done = !self.unfinished.iter().any(|&u| u);
        Ok(StepOutput {
            next_tokens: next,
            beam_indices: None,
            done: self.done,
        })
    }

    /// `logits` hold the processed log-probabilities: add the running beam scores, pick the
    /// candidates, let the scorer choose the beams.
    fn beam_select(&mut self, logits: &mut [f32], vocab: usize) -> Result<StepOutput> {
        let rows = self.rows;
        let ids = Tokens::with_stride(&self.seqs, rows, self.cur_len, self.stride)?;
        let scores = &mut logits[..rows * vocab];
        let beam_scores = &self.beam_scores;
        for_each_row_over(scores, vocab, LINEAR_PARALLEL_MIN_VALUES, |r, row| {
            let s = beam_scores[r];
            row.iter_mut().for_each(|x| *x += s);
        });
        let beams = self.cfg.num_beams;
        let eos = self.cfg.eos_ids().to_vec();
        let n_keep = 2usize.max(1 + eos.len()) * beams;
        let rng = match self.mode {
            DecodingMode::BeamSample => Some(&mut self.rng),
            _ => None,
        };
        let (cand_scores, cand_idx) =
            select_beam_candidates(scores, self.batch_size, beams * vocab, n_keep, rng)?;
        let cand_tokens: Vec<i64> = cand_idx.iter().map(|&i| (i % vocab) as i64).collect();
        let cand_beams: Vec<usize> = cand_idx.iter().map(|&i| i / vocab).collect();
        let scorer = self.beam.as_mut().expect("beam modes own a scorer");
        let step = scorer.process(
            ids,
            &cand_scores,
            &cand_tokens,
            &cand_beams,
            self.cfg.pad_token_id,
            &eos,
            self.prompt_len,
        )?;
        // reorder the running sequences, then append the chosen tokens
        let len = self.cur_len;
        let old: Vec<i64> = (0..rows)
            .flat_map(|r| self.seqs[r * self.stride..r * self.stride + len].to_vec())
            .collect();
        for r in 0..rows {
            let src = step.indices[r];
            self.seqs[r * self.stride..r * self.stride + len]
                .copy_from_slice(&old[src * len..(src + 1) * len]);
            self.seqs[r * self.stride + len] = step.tokens[r];
        }
        self.cur_len += 1;
        self.beam_scores = step.scores;
        self.done = scorer.is_done() || self.criteria.all_stop(self.cur_len);
        Ok(StepOutput {
            next_tokens: step.tokens,
            beam_indices: Some(step.indices),
            done: self.done,
        })
    }

    /// The generated sequences: greedy/sample, the running rows `[num_rows, cur_len]`; beam
    /// modes, the `num_return_sequences` best hypotheses per prompt with their scores. May be
    /// called before `done` (e.g. after an interrupt); does not change the state.
    pub fn finalize(&self) -> Result<Finalized> {
        match &self.beam {
            Some(scorer) => {
                let mut scorer = scorer.clone();
                scorer.finalize(
                    self.sequences(),
                    &self.beam_scores,
                    Some(self.cfg.max_length),
                    self.cfg.pad_token_id,
                    self.cfg.eos_ids(),
                    self.prompt_len,
                )
            }
            None => {
                let s = self.sequences();
                let mut sequences = Vec::with_capacity(self.rows * self.cur_len);
                for r in 0..self.rows {
                    sequences.extend_from_slice(s.row(r));
                }
                Ok(Finalized {
                    sequences,
                    rows: self.rows,
                    len: self.cur_len,
                    scores: None,
                    beam_indices: None,
                })
            }
        }
    }
}
