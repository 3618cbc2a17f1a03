//! The assembled tokenizer: loading tokenizer.json, encode (single, pair, batch), decode.
use super::added_tokens::{AddedToken, AddedVocabulary};
use super::decoders::{self, Decoder, DecoderWrapper};
use super::encoding::{Direction, Encoding};
use super::json::{kind, Obj};
use super::models::{self, Model, ModelWrapper};
use super::normalized::NormalizedString;
use super::normalizers::NormalizerWrapper;
use super::post_processors::PostProcessorWrapper;
use super::pre_tokenized::{CharOffsets, PreTokenizedString};
use super::pre_tokenizers::PreTokenizerWrapper;
use super::{Error, Result};
use rayon::prelude::*;
use serde_json::Value;
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TruncationStrategy {
    #[default]
    LongestFirst,
    OnlyFirst,
    OnlySecond,
}

impl TruncationStrategy {
    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "longest_first" | "LongestFirst" => Some(Self::LongestFirst),
            "only_first" | "OnlyFirst" => Some(Self::OnlyFirst),
            "only_second" | "OnlySecond" => Some(Self::OnlySecond),
            _ => None,
        }
    }
}

/// Per-call truncation (a tokenizer.json's own `truncation` section is never applied here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TruncationParams {
    /// Total length including the special tokens the post-processor adds.
    pub max_length: usize,
    pub strategy: TruncationStrategy,
    pub stride: usize,
    pub direction: Direction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaddingStrategy {
    /// Pad to the longest encoding of the batch.
    Longest,
    /// Pad to this length (longer encodings are left as they are).
    Fixed(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaddingParams {
    pub strategy: PaddingStrategy,
    pub direction: Direction,
    pub pad_to_multiple_of: Option<usize>,
    pub pad_id: u32,
    pub pad_type_id: u32,
    pub pad_token: String,
}

impl Default for PaddingParams {
    fn default() -> Self {
        Self {
            strategy: PaddingStrategy::Longest,
            direction: Direction::Right,
            pad_to_multiple_of: None,
            pad_id: 0,
            pad_type_id: 0,
            pad_token: "[PAD]".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodeOptions {
    pub add_special_tokens: bool,
    pub truncation: Option<TruncationParams>,
    pub padding: Option<PaddingParams>,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        Self {
            add_special_tokens: true,
            truncation: None,
            padding: None,
        }
    }
}

/// Pad a batch (`pad_encodings` of `tokenizers`).
pub fn pad_encodings(encodings: &mut [Encoding], p: &PaddingParams) {
    if encodings.is_empty() {
        return;
    }
    let mut target = match p.strategy {
        PaddingStrategy::Fixed(n) => n,
        PaddingStrategy::Longest => encodings.iter().map(Encoding::len).max().unwrap_or(0),
    };
    if let Some(m) = p.pad_to_multiple_of {
        if m > 0 && target % m > 0 {
            target += m - target % m;
        }
    }
    for e in encodings.iter_mut() {
        e.pad(target, p.pad_id, p.pad_type_id, &p.pad_token, p.direction);
    }
}

/// Truncate a single input or a pair to `p.max_length` tokens in total
/// (`truncate_encodings` of `tokenizers`).
pub fn truncate_encodings(
    mut encoding: Encoding,
    mut pair: Option<Encoding>,
    p: &TruncationParams,
) -> Result<(Encoding, Option<Encoding>)> {
    if p.max_length == 0 {
        encoding.truncate(0, p.stride, p.direction);
        if let Some(o) = pair.as_mut() {
            o.truncate(0, p.stride, p.direction);
        }
        return Ok((encoding, pair));
    }
    let total = encoding.len() + pair.as_ref().map_or(0, Encoding::len);
    if total <= p.max_length {
        return Ok((encoding, pair));
    }
    let to_remove = total - p.max_length;
    // `tokenizers` asserts stride < max_len when it really cuts; an error here, not a panic.
    let cut = |e: &mut Encoding, n: usize| -> Result<()> {
        if n > 0 && n < e.len() && p.stride >= n {
            return Err(Error::Encode(format!(
                "truncation stride ({}) must be smaller than the length kept ({n})",
                p.stride
            )));
        }
        e.truncate(n, p.stride, p.direction);
        Ok(())
    };
    match p.strategy {
        TruncationStrategy::LongestFirst => {
            if let Some(other) = pair.as_mut() {
                let mut n1 = encoding.len();
                let mut n2 = other.len();
                let swap = n1 > n2;
                if swap {
                    std::mem::swap(&mut n1, &mut n2);
                }
                if n1 > p.max_length {
                    n2 = n1;
                } else {
                    n2 = n1.max(p.max_length - n1);
                }
                if n1 + n2 > p.max_length {
                    n1 = p.max_length / 2;
                    n2 = n1 + p.max_length % 2;
                }
                if swap {
                    std::mem::swap(&mut n1, &mut n2);
                }
                cut(&mut encoding, n1)?;
                cut(other, n2)?;
            } else {
                cut(&mut encoding, total - to_remove)?;
            }
        }
        TruncationStrategy::OnlyFirst | TruncationStrategy::OnlySecond => {
            let target = if p.strategy == TruncationStrategy::OnlyFirst {
                &mut encoding
            } else {
                pair.as_mut().ok_or_else(|| {
                    Error::Encode(
                        "truncation strategy only_second needs a pair (second sequence not provided)"
                            .into(),
                    )
                })?
            };
            let n = target.len();
            if n > to_remove {
                cut(target, n - to_remove)?;
            } else {
                return Err(Error::Encode(format!(
                    "truncation: the sequence to truncate ({n} tokens) is too short to fit \
                     max_length={}",
                    p.max_length
                )));
            }
        }
    }
    Ok((encoding, pair))
}

pub struct Tokenizer {
    normalizer: Option<NormalizerWrapper>,
    pre_tokenizer: Option<PreTokenizerWrapper>,
    model: ModelWrapper,
    post_processor: Option<PostProcessorWrapper>,
    decoder: Option<DecoderWrapper>,
    added: AddedVocabulary,
    /// The file's own `truncation` / `padding` sections, kept for the Python facade to read;
    /// never applied by the core.
    pub file_truncation: Value,
    pub file_padding: Value,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer")
            .field("model", &self.model.type_name())
            .field("added", &self.added.len())
            .finish()
    }
}

fn opt_component<'a>(root: &'a serde_json::Map<String, Value>, k: &str) -> Option<&'a Value> {
    root.get(k).filter(|v| !v.is_null())
}

impl Tokenizer {
    /// Load a tokenizer.json document.
    #[allow(clippy::should_implement_trait)] // the name `tokenizers` users know
    pub fn from_str(json: &str) -> Result<Self> {
        let v: Value = serde_json::from_str(json)
            .map_err(|e| Error::config(format!("not valid JSON: {e}")))?;
        Self::from_value(&v)
    }

    pub fn from_file(path: &str) -> Result<Self> {
        let s = std::fs::read_to_string(path)
            .map_err(|e| Error::config(format!("cannot read {path:?}: {e}")))?;
        Self::from_str(&s).map_err(|e| match e {
            Error::Config(m) => Error::Config(format!("{path}: {m}")),
            Error::Regex(m) => Error::Regex(format!("{path}: {m}")),
            other => other,
        })
    }

    pub fn from_value(v: &Value) -> Result<Self> {
        let root = v.as_object().ok_or_else(|| {
            Error::config(format!("the top level must be an object, got {}", kind(v)))
        })?;
        let model = models::from_json(
            root.get("model")
                .ok_or_else(|| Error::config("missing \"model\""))?,
        )?;
        let normalizer = opt_component(root, "normalizer")
            .map(NormalizerWrapper::from_json)
            .transpose()?;
        let pre_tokenizer = opt_component(root, "pre_tokenizer")
            .map(PreTokenizerWrapper::from_json)
            .transpose()?;
        let post_processor = opt_component(root, "post_processor")
            .map(PostProcessorWrapper::from_json)
            .transpose()?;
        let decoder = opt_component(root, "decoder")
            .map(decoders::from_json)
            .transpose()?;
        let mut tokens = vec![];
        if let Some(a) = opt_component(root, "added_tokens") {
            let a = a.as_array().ok_or_else(|| {
                Error::config(format!("added_tokens: expected a list, got {}", kind(a)))
            })?;
            for t in a {
                tokens.push(AddedToken::from_json(t)?.0);
            }
        }
        let added = AddedVocabulary::new(tokens, &model, normalizer.as_ref())?;
        let _ = Obj::new(v, "tokenizer")?;
        Ok(Self {
            normalizer,
            pre_tokenizer,
            model,
            post_processor,
            decoder,
            added,
            file_truncation: root.get("truncation").cloned().unwrap_or(Value::Null),
            file_padding: root.get("padding").cloned().unwrap_or(Value::Null),
        })
    }

    pub fn model(&self) -> &ModelWrapper {
        &self.model
    }

    fn pre_tokenize(&self, text: &str) -> Result<PreTokenizedString> {
        let mut pre = self
            .added
            .extract_and_normalize(self.normalizer.as_ref(), text)?;
        if let Some(p) = &self.pre_tokenizer {
            p.pre_tokenize(&mut pre)?;
        }
        Ok(pre)
    }

    /// Encode one sequence (no special tokens, no truncation): ids, tokens, char offsets,
    /// word ids.
    fn encode_sequence(&self, text: &str, type_id: u32, ids_only: bool) -> Result<Encoding> {
        let mut pre = self.pre_tokenize(text)?;
        if ids_only {
            return pre.into_encoding_ids(type_id, |s, out| self.model.tokenize_ids(s, out));
        }
        pre.tokenize(|n| self.model.tokenize(n.get()))?;
        pre.into_encoding(type_id)
    }

    /// The check `tokenizers` does when truncation is enabled: the stride must fit in
    /// max_length minus the special tokens of a single input.
    fn check_truncation(&self, t: &TruncationParams) -> Result<()> {
        let n_added = self
            .post_processor
            .as_ref()
            .map_or(0, |p| p.added_tokens(false));
        // (A max_length below n_added wraps around in `tokenizers`: no check.)
        if let Some(effective) = t.max_length.checked_sub(n_added) {
            if effective < t.stride {
                return Err(Error::Encode(format!(
                    "truncation stride ({}) is greater than the effective max length {effective} \
                     (= max_length {} - {n_added} special tokens)",
                    t.stride, t.max_length
                )));
            }
        }
        Ok(())
    }

    /// Truncation, then special tokens / type ids / pair merge.
    fn post_process(
        &self,
        encoding: Encoding,
        pair: Option<Encoding>,
        opts: &EncodeOptions,
    ) -> Result<Encoding> {
        let (encoding, pair) = match &opts.truncation {
            Some(t) => {
                self.check_truncation(t)?;
                let n_added = if opts.add_special_tokens {
                    self.post_processor
                        .as_ref()
                        .map_or(0, |p| p.added_tokens(pair.is_some()))
                } else {
                    0
                };
                match t.max_length.checked_sub(n_added) {
                    Some(max_length) => {
                        let params = TruncationParams {
                            max_length,
                            ..t.clone()
                        };
                        truncate_encodings(encoding, pair, &params)?
                    }
                    // A max_length smaller than the special tokens wraps around in `tokenizers`
                    // (usize underflow), i.e. no truncation; do the same.
                    None => (encoding, pair),
                }
            }
            None => (encoding, pair),
        };
        match &self.post_processor {
            Some(p) => p.process(encoding, pair, opts.add_special_tokens),
            None => match pair {
                None => Ok(encoding),
                Some(pair) => {
                    let mut encoding = encoding;
                    let mut pair = pair;
                    encoding.set_sequence_id(0);
                    pair.set_sequence_id(1);
                    Ok(Encoding::merge([encoding, pair], false))
                }
            },
        }
    }

    fn encode_impl(
        &self,
        text: &str,
        pair: Option<&str>,
        opts: &EncodeOptions,
        ids_only: bool,
    ) -> Result<Encoding> {
        let e = self.encode_sequence(text, 0, ids_only)?;
        let p = pair
            .map(|p| self.encode_sequence(p, 1, ids_only))
            .transpose()?;
        self.post_process(e, p, opts)
    }

    /// Ids of one input (no token strings, no padding): what [`Self::encode_batch_ids`] does
    /// per text, for callers that schedule the batch themselves.
    pub fn encode_ids(&self, text: &str, add_special_tokens: bool) -> Result<Vec<u32>> {
        let opts = EncodeOptions {
            add_special_tokens,
            ..Default::default()
        };
        Ok(self.encode_impl(text, None, &opts, true)?.ids)
    }

    /// Encode one input (and optional pair) with special tokens as configured.
    pub fn encode(
        &self,
        text: &str,
        pair: Option<&str>,
        add_special_tokens: bool,
    ) -> Result<Encoding> {
        self.encode_with(
            text,
            pair,
            &EncodeOptions {
                add_special_tokens,
                ..Default::default()
            },
        )
    }

    /// Encode with per-call truncation and padding.
    pub fn encode_with(
        &self,
        text: &str,
        pair: Option<&str>,
        opts: &EncodeOptions,
    ) -> Result<Encoding> {
        let mut e = self.encode_impl(text, pair, opts, false)?;
        if let Some(p) = &opts.padding {
            pad_encodings(std::slice::from_mut(&mut e), p);
        }
        Ok(e)
    }

    /// Encode a batch in parallel (rayon), then pad the batch.
    pub fn encode_batch<S: AsRef<str> + Sync>(
        &self,
        texts: &[S],
        pairs: Option<&[S]>,
        opts: &EncodeOptions,
    ) -> Result<Vec<Encoding>> {
        if let Some(p) = pairs {
            if p.len() != texts.len() {
                return Err(Error::Encode(format!(
                    "got {} texts but {} pairs",
                    texts.len(),
                    p.len()
                )));
            }
        }
        let mut out: Vec<Encoding> = texts
            .par_iter()
            .enumerate()
            .map(|(i, t)| {
                let pair = pairs.map(|p| p[i].as_ref());
                self.encode_impl(t.as_ref(), pair, opts, false)
            })
            .collect::<Result<_>>()?;
        if let Some(p) = &opts.padding {
            pad_encodings(&mut out, p);
        }
        Ok(out)
    }

    /// Ids only (no token strings), in parallel: the fast path for model inputs.
    pub fn encode_batch_ids<S: AsRef<str> + Sync>(
        &self,
        texts: &[S],
        add_special_tokens: bool,
    ) -> Result<Vec<Vec<u32>>> {
        let opts = EncodeOptions {
            add_special_tokens,
            ..Default::default()
        };
        texts
            .par_iter()
            .map(|t| Ok(self.encode_impl(t.as_ref(), None, &opts, true)?.ids))
            .collect()
    }

    /// Like [`Self::encode_batch`] but without token strings (ids, masks, type ids and
    /// offsets are all right; `tokens` are empty strings).
    pub fn encode_batch_fast<S: AsRef<str> + Sync>(
        &self,
        texts: &[S],
        pairs: Option<&[S]>,
        opts: &EncodeOptions,
    ) -> Result<Vec<Encoding>> {
        if let Some(p) = pairs {
            if p.len() != texts.len() {
                return Err(Error::Encode(format!(
                    "got {} texts but {} pairs",
                    texts.len(),
                    p.len()
                )));
            }
        }
        let mut out: Vec<Encoding> = texts
            .par_iter()
            .enumerate()
            .map(|(i, t)| {
                let pair = pairs.map(|p| p[i].as_ref());
                self.encode_impl(t.as_ref(), pair, opts, true)
            })
            .collect::<Result<_>>()?;
        if let Some(p) = &opts.padding {
            pad_encodings(&mut out, p);
        }
        Ok(out)
    }

    /// Token string of an id (added tokens first, then the model).
    pub fn id_to_token(&self, id: u32) -> Option<&str> {
        self.added
            .id_to_token(id)
            .or_else(|| self.model.id_to_token(id))
    }

    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.added
            .token_to_id(token)
            .or_else(|| self.model.token_to_id(token))
    }

    pub fn get_vocab(&self, with_added_tokens: bool) -> HashMap<String, u32> {
        let mut v: HashMap<String, u32> = self.model.get_vocab().into_iter().collect();
        if with_added_tokens {
            for (k, id) in self.added.vocab() {
                v.insert(k.clone(), *id);
            }
        }
        v
    }

    pub fn get_vocab_size(&self, with_added_tokens: bool) -> usize {
        if with_added_tokens {
            self.get_vocab(true).len()
        } else {
            self.model.vocab_size()
        }
    }

    /// `(id, content, special)` of every added token, sorted by id.
    pub fn added_tokens(&self) -> Vec<(u32, &AddedToken)> {
        self.added.tokens_by_id()
    }

    pub fn is_special_token(&self, token: &str) -> bool {
        self.added.is_special_token(token)
    }

    /// Run only the normalizer (what `tokenizer.normalizer.normalize_str` gives).
    pub fn normalize_str(&self, text: &str) -> Result<String> {
        let mut n = NormalizedString::from(text);
        if let Some(nz) = &self.normalizer {
            nz.normalize(&mut n)?;
        }
        Ok(n.get().to_owned())
    }

    /// Run only the pre-tokenizer on the raw text: pieces with char offsets (what
    /// `tokenizer.pre_tokenizer.pre_tokenize_str` gives).
    pub fn pre_tokenize_str(&self, text: &str) -> Result<Vec<(String, (usize, usize))>> {
        let mut pre = PreTokenizedString::from(text);
        if let Some(p) = &self.pre_tokenizer {
            p.pre_tokenize(&mut pre)?;
        }
        let conv = CharOffsets::new(text);
        Ok(pre
            .splits
            .iter()
            .map(|s| {
                let o = s.normalized.offsets_original();
                (s.normalized.get().to_owned(), conv.convert(o).unwrap_or(o))
            })
            .collect())
    }

    /// Ids → text through the decoder chain. An id outside the vocabulary is an error.
    pub fn decode(&self, ids: &[u32], skip_special_tokens: bool) -> Result<String> {
        let mut tokens = Vec::with_capacity(ids.len());
        for &id in ids {
            let t = self.id_to_token(id).ok_or_else(|| {
                Error::Decode(format!(
                    "id {id} is not in the vocabulary (size {})",
                    self.get_vocab_size(true)
                ))
            })?;
            if skip_special_tokens && self.added.is_special_token(t) {
                continue;
            }
            tokens.push(t.to_owned());
        }
        match &self.decoder {
            Some(d) => Ok(d.decode_chain(tokens)?.concat()),
            None => Ok(tokens.join(" ")),
        }
    }

    pub fn decode_batch(
        &self,
        batch: &[Vec<u32>],
        skip_special_tokens: bool,
    ) -> Result<Vec<String>> {
        batch
            .par_iter()
            .map(|ids| self.decode(ids, skip_special_tokens))
            .collect()
    }
}
