//! The generation-config fields the core understands, parsed from a JSON object (a
//! `generation_config.json`, or the dict the Python layer builds) with transformers' defaults,
//! validated with messages that name the field and the accepted values.

use super::{invalid_config, Result};
use serde_json::{Map, Value};

/// `early_stopping`: `true`, `false` (heuristic) or `"never"` (canonical beam search).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum EarlyStopping {
    True,
    #[default]
    False,
    Never,
}

/// Generation options. Defaults are those of transformers' `GenerationConfig` (and of the
/// Transformers.js docs). `None` disables an option the way `None` does in transformers.
#[derive(Clone, Debug, PartialEq)]
pub struct GenerationConfig {
    /// Total length (prompt included). Overridden by `max_new_tokens`.
    pub max_length: usize,
    pub max_new_tokens: Option<usize>,
    pub min_length: usize,
    pub min_new_tokens: Option<usize>,
    pub early_stopping: EarlyStopping,
    /// Seconds.
    pub max_time: Option<f64>,
    pub do_sample: bool,
    pub num_beams: usize,
    pub temperature: Option<f64>,
    pub top_k: Option<usize>,
    pub top_p: Option<f64>,
    pub min_p: Option<f64>,
    pub typical_p: Option<f64>,
    pub epsilon_cutoff: Option<f64>,
    pub eta_cutoff: Option<f64>,
    pub repetition_penalty: Option<f64>,
    pub encoder_repetition_penalty: Option<f64>,
    pub length_penalty: f64,
    pub no_repeat_ngram_size: Option<i64>,
    pub encoder_no_repeat_ngram_size: Option<i64>,
    pub bad_words_ids: Option<Vec<Vec<i64>>>,
    /// `[[token ids], bias]` pairs (transformers' list form of `sequence_bias`).
    pub sequence_bias: Option<Vec<(Vec<i64>, f64)>>,
    pub renormalize_logits: bool,
    pub forced_bos_token_id: Option<i64>,
    pub forced_eos_token_id: Option<Vec<i64>>,
    pub remove_invalid_values: bool,
    /// `(start_index, decay_factor)`.
    pub exponential_decay_length_penalty: Option<(usize, f64)>,
    pub suppress_tokens: Option<Vec<i64>>,
    pub begin_suppress_tokens: Option<Vec<i64>>,
    /// `[[generation index, token id]]`.
    pub forced_decoder_ids: Option<Vec<(usize, i64)>>,
    pub guidance_scale: Option<f64>,
    pub num_return_sequences: usize,
    pub pad_token_id: Option<i64>,
    pub bos_token_id: Option<i64>,
    pub eos_token_id: Option<Vec<i64>>,
    pub decoder_start_token_id: Option<Vec<i64>>,
    /// Whisper: enables the timestamp processor (with `no_timestamps_token_id`).
    pub return_timestamps: bool,
    pub no_timestamps_token_id: Option<i64>,
    pub max_initial_timestamp_index: Option<i64>,
}

impl Default for GenerationConfig {
    fn default() -> Self {
        GenerationConfig {
            max_length: 20,
            max_new_tokens: None,
            min_length: 0,
            min_new_tokens: None,
            early_stopping: EarlyStopping::False,
            max_time: None,
            do_sample: false,
            num_beams: 1,
            temperature: Some(1.0),
            top_k: Some(50),
            top_p: Some(1.0),
            min_p: None,
            typical_p: Some(1.0),
            epsilon_cutoff: Some(0.0),
            eta_cutoff: Some(0.0),
            repetition_penalty: Some(1.0),
            encoder_repetition_penalty: Some(1.0),
            length_penalty: 1.0,
            no_repeat_ngram_size: Some(0),
            encoder_no_repeat_ngram_size: Some(0),
            bad_words_ids: None,
            sequence_bias: None,
            renormalize_logits: false,
            forced_bos_token_id: None,
            forced_eos_token_id: None,
            remove_invalid_values: false,
            exponential_decay_length_penalty: None,
            suppress_tokens: None,
            begin_suppress_tokens: None,
            forced_decoder_ids: None,
            guidance_scale: None,
            num_return_sequences: 1,
            pad_token_id: None,
            bos_token_id: None,
            eos_token_id: None,
            decoder_start_token_id: None,
            return_timestamps: false,
            no_timestamps_token_id: None,
            max_initial_timestamp_index: None,
        }
    }
}

fn err<T>(key: &str, expected: &str, got: &Value) -> Result<T> {
    invalid_config(format!(
        "generation config: `{key}` must be {expected}, got {got}"
    ))
}

fn as_int(key: &str, v: &Value) -> Result<i64> {
    if let Some(i) = v.as_i64() {
        return Ok(i);
    }
    // integral floats (`4.0`) are accepted: JSON writers are not always careful
    match v.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(f as i64),
        _ => err(key, "an integer", v),
    }
}

fn as_count(key: &str, v: &Value, min: i64) -> Result<usize> {
    let i = as_int(key, v)?;
    if i < min {
        return err(key, &format!("an integer >= {min}"), v);
    }
    Ok(i as usize)
}

fn as_float(key: &str, v: &Value) -> Result<f64> {
    match v.as_f64() {
        Some(f) if !f.is_nan() => Ok(f),
        _ => err(key, "a number", v),
    }
}

fn as_bool(key: &str, v: &Value) -> Result<bool> {
    v.as_bool().map_or_else(|| err(key, "true or false", v), Ok)
}

fn as_token(key: &str, v: &Value) -> Result<i64> {
    let i = as_int(key, v)?;
    if i < 0 {
        return err(key, "a non-negative token id", v);
    }
    Ok(i)
}

/// An id or a list of ids (`eos_token_id: 2` or `[2, 32000]`).
fn as_ids(key: &str, v: &Value) -> Result<Vec<i64>> {
    match v {
        Value::Array(items) => items.iter().map(|x| as_int(key, x)).collect(),
        _ => Ok(vec![as_int(key, v)?]),
    }
}

fn as_token_list(key: &str, v: &Value) -> Result<Vec<i64>> {
    match v {
        Value::Array(items) => items.iter().map(|x| as_token(key, x)).collect(),
        _ => err(key, "a list of token ids", v),
    }
}

fn as_token_lists(key: &str, v: &Value) -> Result<Vec<Vec<i64>>> {
    match v {
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|x| {
                let seq = as_token_list(key, x)?;
                if seq.is_empty() {
                    return err(key, "a list of non-empty lists of token ids", v);
                }
                Ok(seq)
            })
            .collect(),
        _ => err(key, "a non-empty list of lists of token ids", v),
    }
}

impl GenerationConfig {
    /// Parses a JSON object; unknown keys are ignored (model configs carry many), `null` means
    /// "unset" (transformers' `None`).
    pub fn from_json(value: &Value) -> Result<Self> {
        let Value::Object(map) = value else {
            return invalid_config(format!(
                "generation config must be a JSON object / dict, got {value}"
            ));
        };
        let cfg = Self::from_map(map)?;
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn from_json_str(s: &str) -> Result<Self> {
        let v: Value = serde_json::from_str(s).map_err(|e| {
            super::GenerationError::InvalidConfig(format!("generation config is not JSON: {e}"))
        })?;
        Self::from_json(&v)
    }

    fn from_map(map: &Map<String, Value>) -> Result<Self> {
        let mut c = GenerationConfig::default();
        for (key, v) in map {
            let k = key.as_str();
            let null = v.is_null();
            match k {
                "max_length" if !null => c.max_length = as_count(k, v, 0)?,
                "max_new_tokens" => {
                    c.max_new_tokens = if null { None } else { Some(as_count(k, v, 1)?) }
                }
                "min_length" if !null => c.min_length = as_count(k, v, 0)?,
                "min_new_tokens" => {
                    c.min_new_tokens = if null { None } else { Some(as_count(k, v, 0)?) }
                }
                "early_stopping" if !null => {
                    c.early_stopping = match v {
                        Value::Bool(true) => EarlyStopping::True,
                        Value::Bool(false) => EarlyStopping::False,
                        Value::String(s) if s == "never" => EarlyStopping::Never,
                        _ => return err(k, "true, false or \"never\"", v),
                    }
                }
                "max_time" => c.max_time = if null { None } else { Some(as_float(k, v)?) },
                "do_sample" if !null => c.do_sample = as_bool(k, v)?,
                "num_beams" if !null => c.num_beams = as_count(k, v, 1)?,
                "num_beam_groups" if !null && as_count(k, v, 1)? > 1 => {
                    return invalid_config(
                        "generation config: group (diverse) beam search (`num_beam_groups` > 1) \
                         is not supported",
                    );
                }
                "force_words_ids" | "constraints" if !null => {
                    return invalid_config(format!(
                        "generation config: constrained beam search (`{k}`) is not supported"
                    ));
                }
                "temperature" => c.temperature = if null { None } else { Some(as_float(k, v)?) },
                "top_k" => c.top_k = if null { None } else { Some(as_count(k, v, 0)?) },
                "top_p" => c.top_p = if null { None } else { Some(as_float(k, v)?) },
                "min_p" => c.min_p = if null { None } else { Some(as_float(k, v)?) },
                "typical_p" => c.typical_p = if null { None } else { Some(as_float(k, v)?) },
                "epsilon_cutoff" => {
                    c.epsilon_cutoff = if null { None } else { Some(as_float(k, v)?) }
                }
                "eta_cutoff" => c.eta_cutoff = if null { None } else { Some(as_float(k, v)?) },
                "repetition_penalty" => {
                    c.repetition_penalty = if null { None } else { Some(as_float(k, v)?) }
                }
                "encoder_repetition_penalty" => {
                    c.encoder_repetition_penalty = if null { None } else { Some(as_float(k, v)?) }
                }
                "length_penalty" if !null => c.length_penalty = as_float(k, v)?,
                "no_repeat_ngram_size" => {
                    c.no_repeat_ngram_size = if null { None } else { Some(as_int(k, v)?) }
                }
                "encoder_no_repeat_ngram_size" => {
                    c.encoder_no_repeat_ngram_size = if null { None } else { Some(as_int(k, v)?) }
                }
                "bad_words_ids" => {
                    c.bad_words_ids = if null {
                        None
                    } else {
                        Some(as_token_lists(k, v)?)
                    }
                }
                "sequence_bias" => {
                    c.sequence_bias = if null {
                        None
                    } else {
                        Some(parse_sequence_bias(v)?)
                    }
                }
                "renormalize_logits" if !null => c.renormalize_logits = as_bool(k, v)?,
                "forced_bos_token_id" => {
                    c.forced_bos_token_id = if null { None } else { Some(as_token(k, v)?) }
                }
                "forced_eos_token_id" => {
                    c.forced_eos_token_id = if null { None } else { Some(as_ids(k, v)?) }
                }
                "remove_invalid_values" if !null => c.remove_invalid_values = as_bool(k, v)?,
                "exponential_decay_length_penalty" => {
                    c.exponential_decay_length_penalty = if null {
                        None
                    } else {
                        match v.as_array().map(Vec::as_slice) {
                            Some([start, factor]) => {
                                Some((as_count(k, start, 0)?, as_float(k, factor)?))
                            }
                            _ => return err(k, "a pair [start_index, decay_factor]", v),
                        }
                    }
                }
                "suppress_tokens" => {
                    c.suppress_tokens = if null {
                        None
                    } else {
                        Some(as_token_list(k, v)?)
                    }
                }
                "begin_suppress_tokens" => {
                    c.begin_suppress_tokens = if null {
                        None
                    } else {
                        Some(as_token_list(k, v)?)
                    }
                }
                "forced_decoder_ids" => {
                    c.forced_decoder_ids = if null {
                        None
                    } else {
                        Some(parse_forced_decoder_ids(v)?)
                    }
                }
                "guidance_scale" => {
                    c.guidance_scale = if null { None } else { Some(as_float(k, v)?) }
                }
                "num_return_sequences" if !null => c.num_return_sequences = as_count(k, v, 1)?,
                "pad_token_id" => c.pad_token_id = if null { None } else { Some(as_int(k, v)?) },
                "bos_token_id" => c.bos_token_id = if null { None } else { Some(as_int(k, v)?) },
                "eos_token_id" => c.eos_token_id = if null { None } else { Some(as_ids(k, v)?) },
                "decoder_start_token_id" => {
                    c.decoder_start_token_id = if null { None } else { Some(as_ids(k, v)?) }
                }
                "return_timestamps" if !null => c.return_timestamps = as_bool(k, v)?,
                "no_timestamps_token_id" => {
                    c.no_timestamps_token_id = if null { None } else { Some(as_token(k, v)?) }
                }
                "max_initial_timestamp_index" => {
                    c.max_initial_timestamp_index = if null { None } else { Some(as_int(k, v)?) }
                }
                _ => {}
            }
        }
        Ok(c)
    }

    /// The checks transformers makes (in `GenerationConfig.validate` and the processors'
    /// constructors) that would otherwise surface mid-generation.
    pub fn validate(&self) -> Result<()> {
        let bad = |msg: String| invalid_config::<()>(format!("generation config: {msg}"));
        if self.num_beams == 0 {
            return bad("`num_beams` must be >= 1, got 0".into());
        }
        if self.num_return_sequences == 0 {
            return bad("`num_return_sequences` must be >= 1, got 0".into());
        }
        if self.num_beams == 1 && !self.do_sample && self.num_return_sequences != 1 {
            return bad(format!(
                "greedy search (num_beams=1, do_sample=false) returns one sequence per input; \
                 `num_return_sequences` is {} (use do_sample=true or num_beams >= {})",
                self.num_return_sequences, self.num_return_sequences
            ));
        }
        if self.num_beams > 1 && self.num_return_sequences > self.num_beams {
            return bad(format!(
                "`num_return_sequences` ({}) must be <= `num_beams` ({}) with beam search",
                self.num_return_sequences, self.num_beams
            ));
        }
        if let Some(p) = self.top_p {
            if !(p > 0.0 && p <= 1.0) {
                return bad(format!("`top_p` must be in (0, 1], got {p}"));
            }
        }
        if self.do_sample {
            if let Some(t) = self.temperature {
                if t.is_nan() || t <= 0.0 {
                    return bad(format!(
                        "`temperature` must be > 0 when sampling, got {t} (for greedy decoding set \
                         do_sample=false)"
                    ));
                }
            }
            if let Some(m) = self.typical_p {
                if m <= 0.0 {
                    return bad(format!("`typical_p` must be in (0, 1], got {m}"));
                }
            }
            if let Some(m) = self.min_p {
                if !(0.0..=1.0).contains(&m) {
                    return bad(format!("`min_p` must be in [0, 1], got {m}"));
                }
            }
        }
        for (name, p) in [
            ("repetition_penalty", self.repetition_penalty),
            (
                "encoder_repetition_penalty",
                self.encoder_repetition_penalty,
            ),
        ] {
            if let Some(p) = p {
                if p <= 0.0 {
                    return bad(format!("`{name}` must be > 0, got {p}"));
                }
            }
        }
        if let Some(t) = self.max_time {
            if t < 0.0 {
                return bad(format!("`max_time` must be >= 0 seconds, got {t}"));
            }
        }
        Ok(())
    }

    /// The eos ids (empty when unset).
    pub fn eos_ids(&self) -> &[i64] {
        self.eos_token_id.as_deref().unwrap_or(&[])
    }

    /// What `generate()` does before its loop (`_prepare_generated_length`,
    /// `_prepare_special_tokens`): `max_new_tokens` / `min_new_tokens` become absolute lengths
    /// for a prompt of `input_len` tokens, and `pad_token_id` falls back to the first eos id.
    /// Unlike transformers 4.57 (but like the Transformers.js docs), a default `max_length` of 20
    /// is *not* turned into 20 new tokens.
    pub fn resolved(&self, input_len: usize) -> GenerationConfig {
        let mut c = self.clone();
        if let Some(n) = c.max_new_tokens {
            c.max_length = n + input_len;
        }
        if let Some(n) = c.min_new_tokens {
            c.min_length = n + input_len;
        }
        if c.pad_token_id.is_none() {
            c.pad_token_id = c.eos_ids().first().copied();
        }
        c
    }

    /// Rows per prompt in the loop: `max(num_beams, num_return_sequences)` (transformers'
    /// `expand_size`).
    pub fn expand_size(&self) -> usize {
        self.num_beams.max(self.num_return_sequences)
    }
}

fn parse_sequence_bias(v: &Value) -> Result<Vec<(Vec<i64>, f64)>> {
    let k = "sequence_bias";
    let Value::Array(items) = v else {
        return err(k, "a list of [[token ids], bias] pairs", v);
    };
    if items.is_empty() {
        return err(k, "a non-empty list of [[token ids], bias] pairs", v);
    }
    items
        .iter()
        .map(|item| match item.as_array().map(Vec::as_slice) {
            Some([ids, bias]) => {
                let ids = as_token_list(k, ids)?;
                if ids.is_empty() {
                    return err(k, "pairs with a non-empty token list", item);
                }
                Ok((ids, as_float(k, bias)?))
            }
            _ => err(k, "a list of [[token ids], bias] pairs", item),
        })
        .collect()
}

fn parse_forced_decoder_ids(v: &Value) -> Result<Vec<(usize, i64)>> {
    let k = "forced_decoder_ids";
    let Value::Array(items) = v else {
        return err(k, "a list of [index, token id] pairs", v);
    };
    items
        .iter()
        .map(|item| match item.as_array().map(Vec::as_slice) {
            Some([idx, tok]) => Ok((as_count(k, idx, 0)?, as_token(k, tok)?)),
            _ => err(k, "a list of [index, token id] pairs", item),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn generation_config_defaults_and_parsing() {
        let c = GenerationConfig::from_json(&json!({})).unwrap();
        assert_eq!(c, GenerationConfig::default());
        let c = GenerationConfig::from_json(&json!({
            "max_new_tokens": 5, "eos_token_id": [2, 3], "early_stopping": "never",
            "num_beams": 4.0, "top_k": null, "unknown_key": {"x": 1},
            "forced_decoder_ids": [[1, 50259], [2, 50359]],
            "exponential_decay_length_penalty": [3, 1.5],
        }))
        .unwrap();
        assert_eq!(c.max_new_tokens, Some(5));
        assert_eq!(c.eos_token_id, Some(vec![2, 3]));
        assert_eq!(c.early_stopping, EarlyStopping::Never);
        assert_eq!(c.num_beams, 4);
        assert_eq!(c.top_k, None);
        assert_eq!(c.forced_decoder_ids, Some(vec![(1, 50259), (2, 50359)]));
        assert_eq!(c.exponential_decay_length_penalty, Some((3, 1.5)));
        let r = c.resolved(7);
        assert_eq!(r.max_length, 12);
        assert_eq!(r.pad_token_id, Some(2));
        assert_eq!(c.expand_size(), 4);
    }

    #[test]
    fn generation_config_rejects_bad_values() {
        let bad = [
            json!({"do_sample": true, "temperature": 0.0}),
            json!({"do_sample": true, "temperature": -1}),
            json!({"top_p": 0.0}),
            json!({"top_p": 1.5}),
            json!({"top_k": -1}),
            json!({"num_beams": 0}),
            json!({"num_beams": 2, "num_return_sequences": 3}),
            json!({"num_return_sequences": 2}),
            json!({"early_stopping": "sometimes"}),
            json!({"max_new_tokens": 0}),
            json!({"bad_words_ids": []}),
            json!({"bad_words_ids": [[1], []]}),
            json!({"repetition_penalty": 0}),
            json!({"num_beam_groups": 2}),
            json!({"force_words_ids": [[1]]}),
            json!({"eos_token_id": "x"}),
            json!([1, 2]),
        ];
        for b in bad {
            let e = GenerationConfig::from_json(&b);
            assert!(e.is_err(), "{b} should be rejected");
        }
        // sampling-only checks do not fire for greedy search, and sampling may return many
        assert!(GenerationConfig::from_json(&json!({"temperature": 0.0})).is_ok());
        assert!(GenerationConfig::from_json(
            &json!({"do_sample": true, "num_return_sequences": 3})
        )
        .is_ok());
        let e = GenerationConfig::from_json(&json!({"top_k": 2.5})).unwrap_err();
        assert!(e.to_string().contains("`top_k`"), "{e}");
    }
}
