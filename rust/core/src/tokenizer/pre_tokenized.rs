//! `PreTokenizedString`: the input split into pieces (each a [`NormalizedString`] slice of
//! the original), some already tokenized (added tokens), the rest waiting for the model.
use super::encoding::Encoding;
use super::normalized::NormalizedString;
use super::{Result, Token};

#[derive(Debug, Clone)]
pub struct Split {
    pub normalized: NormalizedString,
    pub tokens: Option<Vec<Token>>,
}

#[derive(Debug, Clone)]
pub struct PreTokenizedString {
    original: String,
    pub splits: Vec<Split>,
}

impl From<&str> for PreTokenizedString {
    fn from(s: &str) -> Self {
        Self {
            original: s.to_owned(),
            splits: vec![Split {
                normalized: NormalizedString::from(s),
                tokens: None,
            }],
        }
    }
}

impl PreTokenizedString {
    /// Split every piece that has no tokens yet; empty results are dropped.
    pub fn split<F>(&mut self, mut f: F) -> Result<()>
    where
        F: FnMut(usize, NormalizedString) -> Result<Vec<NormalizedString>>,
    {
        let mut new_splits = Vec::with_capacity(self.splits.len());
        for (i, split) in std::mem::take(&mut self.splits).into_iter().enumerate() {
            if split.tokens.is_some() {
                new_splits.push(split);
                continue;
            }
            new_splits.extend(
                f(i, split.normalized)?
                    .into_iter()
                    .filter(|n| !n.is_empty())
                    .map(|normalized| Split {
                        normalized,
                        tokens: None,
                    }),
            );
        }
        self.splits = new_splits;
        Ok(())
    }

    /// Like [`Self::split`] but the closure may attach tokens to the pieces it produces.
    pub fn split_with_tokens<F>(&mut self, mut f: F) -> Result<()>
    where
        F: FnMut(usize, NormalizedString) -> Result<Vec<Split>>,
    {
        let mut new_splits = Vec::with_capacity(self.splits.len());
        for (i, split) in std::mem::take(&mut self.splits).into_iter().enumerate() {
            if split.tokens.is_some() {
                new_splits.push(split);
                continue;
            }
            new_splits.extend(
                f(i, split.normalized)?
                    .into_iter()
                    .filter(|s| !s.normalized.is_empty()),
            );
        }
        self.splits = new_splits;
        Ok(())
    }

    /// Apply `f` to every piece without tokens.
    pub fn normalize<F>(&mut self, f: F) -> Result<()>
    where
        F: Fn(&mut NormalizedString) -> Result<()>,
    {
        for s in self.splits.iter_mut().filter(|s| s.tokens.is_none()) {
            f(&mut s.normalized)?;
        }
        Ok(())
    }

    /// Run the model on every piece without tokens.
    pub fn tokenize<F>(&mut self, f: F) -> Result<()>
    where
        F: Fn(&NormalizedString) -> Result<Vec<Token>>,
    {
        for s in self.splits.iter_mut().filter(|s| s.tokens.is_none()) {
            s.tokens = Some(f(&s.normalized)?);
        }
        Ok(())
    }

    pub fn original(&self) -> &str {
        &self.original
    }

    /// Build the [`Encoding`]: offsets in chars of the original input (what the Python
    /// `tokenizers` reports), word index = piece index.
    pub fn into_encoding(self, type_id: u32) -> Result<Encoding> {
        let conv = CharOffsets::new(&self.original);
        let n: usize = self
            .splits
            .iter()
            .map(|s| s.tokens.as_ref().map_or(0, Vec::len))
            .sum();
        let mut enc = Encoding::with_capacity(n);
        for (idx, split) in self.splits.into_iter().enumerate() {
            let Some(tokens) = split.tokens else {
                return Err(super::Error::Encode(
                    "internal: a piece was not tokenized".into(),
                ));
            };
            let normalized = split.normalized;
            let (shift, _) = normalized.offsets_original();
            for t in tokens {
                let offsets = to_original(&normalized, shift, t.offsets, &conv);
                enc.push_token(t.id, t.value, offsets, Some(idx as u32), type_id);
            }
        }
        Ok(enc)
    }

    /// Same as [`Self::into_encoding`] but with the models' ids-only path: the token strings
    /// are left empty.
    pub fn into_encoding_ids<F>(self, type_id: u32, tokenize_ids: F) -> Result<Encoding>
    where
        F: Fn(&str, &mut Vec<(u32, (usize, usize))>) -> Result<()>,
    {
        let conv = CharOffsets::new(&self.original);
        let mut enc = Encoding::with_capacity(self.splits.len());
        let mut buf = Vec::new();
        for (idx, split) in self.splits.into_iter().enumerate() {
            let normalized = split.normalized;
            let (shift, _) = normalized.offsets_original();
            match split.tokens {
                Some(tokens) => {
                    for t in tokens {
                        let offsets = to_original(&normalized, shift, t.offsets, &conv);
                        enc.push_token(t.id, String::new(), offsets, Some(idx as u32), type_id);
                    }
                }
                None => {
                    buf.clear();
                    tokenize_ids(normalized.get(), &mut buf)?;
                    for &(id, o) in &buf {
                        let offsets = to_original(&normalized, shift, o, &conv);
                        enc.push_token(id, String::new(), offsets, Some(idx as u32), type_id);
                    }
                }
            }
        }
        Ok(enc)
    }
}

#[inline]
fn to_original(
    normalized: &NormalizedString,
    shift: usize,
    o: (usize, usize),
    conv: &CharOffsets,
) -> (usize, usize) {
    let bytes = normalized
        .normalized_to_original(o.0..o.1)
        .map_or(o, |r| (shift + r.start, shift + r.end));
    conv.convert(bytes).unwrap_or(bytes)
}

/// Byte offsets → char offsets in the original input (`BytesToCharOffsetConverter`).
pub(crate) struct CharOffsets {
    /// `None` when the text is ASCII (byte offset == char offset).
    map: Option<Vec<usize>>,
    len: usize,
}

impl CharOffsets {
    pub(crate) fn new(s: &str) -> Self {
        if s.is_ascii() {
            return Self {
                map: None,
                len: s.len(),
            };
        }
        let mut map = Vec::with_capacity(s.len());
        for (i, c) in s.chars().enumerate() {
            map.extend(std::iter::repeat_n(i, c.len_utf8()));
        }
        Self {
            map: Some(map),
            len: s.len(),
        }
    }

    fn get(&self, b: usize) -> Option<usize> {
        match &self.map {
            None => (b < self.len).then_some(b),
            Some(m) => m.get(b).copied(),
        }
    }

    /// Same rules as `tokenizers`: the end may be one past the last byte; a start outside
    /// the text gives `None` (and the caller keeps byte offsets, as `tokenizers` does).
    pub(crate) fn convert(&self, (s, e): (usize, usize)) -> Option<(usize, usize)> {
        let start = self.get(s)?;
        match self.get(e) {
            Some(end) => Some((start, end)),
            None => {
                let last = e
                    .checked_sub(1)
                    .and_then(|x| self.get(x))
                    .unwrap_or(start + 1);
                Some((start, last + 1))
            }
        }
    }
}
