//! Added tokens (special and not): found in the input before the model runs, with one
//! leftmost-longest Aho-Corasick automaton for the tokens matched on the raw text and one
//! for the tokens matched on the normalized text (same as `tokenizers`' AddedVocabulary).
use super::models::Model;
use super::normalized::NormalizedString;
use super::normalizers::NormalizerWrapper;
use super::pre_tokenized::{PreTokenizedString, Split};
use super::{Error, Result, Token};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use serde_json::Value;
use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AddedToken {
    pub content: String,
    pub single_word: bool,
    pub lstrip: bool,
    pub rstrip: bool,
    pub normalized: bool,
    pub special: bool,
}

impl AddedToken {
    /// One entry of tokenizer.json's `added_tokens` (returns the token and its stated id).
    pub fn from_json(v: &Value) -> Result<(Self, Option<u32>)> {
        let o = v
            .as_object()
            .ok_or_else(|| Error::config("added_tokens: each entry must be an object"))?;
        let content = o
            .get("content")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::config("added_tokens: entry without a string \"content\""))?
            .to_owned();
        let flag = |k: &str, default: bool| -> Result<bool> {
            match o.get(k) {
                None | Some(Value::Null) => Ok(default),
                Some(Value::Bool(b)) => Ok(*b),
                Some(_) => Err(Error::config(format!(
                    "added_tokens[{content:?}].{k}: expected a boolean"
                ))),
            }
        };
        let special = flag("special", false)?;
        let tok = AddedToken {
            single_word: flag("single_word", false)?,
            lstrip: flag("lstrip", false)?,
            rstrip: flag("rstrip", false)?,
            // Special tokens are not normalized by default, others are.
            normalized: flag("normalized", !special)?,
            special,
            content,
        };
        let id = o.get("id").and_then(Value::as_u64).map(|x| x as u32);
        Ok((tok, id))
    }
}

struct MatchingSet {
    automaton: Option<AhoCorasick>,
    ids: Vec<u32>,
}

impl MatchingSet {
    fn build<S: AsRef<[u8]>>(patterns: &[S], ids: Vec<u32>) -> Result<Self> {
        if patterns.is_empty() {
            return Ok(Self {
                automaton: None,
                ids,
            });
        }
        let automaton = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .build(patterns)
            .map_err(|e| Error::config(format!("added_tokens: cannot build the matcher: {e}")))?;
        Ok(Self {
            automaton: Some(automaton),
            ids,
        })
    }
}

pub struct AddedVocabulary {
    /// content → id (special and classic).
    map: HashMap<String, u32>,
    /// id → token.
    map_r: HashMap<u32, AddedToken>,
    /// Classic tokens in insertion order.
    added: Vec<AddedToken>,
    /// Special tokens in insertion order.
    special: Vec<AddedToken>,
    special_set: HashSet<String>,
    seen: HashSet<AddedToken>,
    split_raw: MatchingSet,
    split_normalized: MatchingSet,
}

impl std::fmt::Debug for AddedVocabulary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AddedVocabulary")
            .field("len", &self.map.len())
            .finish()
    }
}

impl AddedVocabulary {
    /// Register the tokens in order, with the same id assignment as `tokenizers`
    /// (an existing vocabulary entry keeps its id, new ones go after the vocabulary), then
    /// build the matchers once.
    pub fn new(
        tokens: Vec<AddedToken>,
        model: &dyn Model,
        normalizer: Option<&NormalizerWrapper>,
    ) -> Result<Self> {
        let mut v = Self {
            map: HashMap::new(),
            map_r: HashMap::new(),
            added: vec![],
            special: vec![],
            special_set: HashSet::new(),
            seen: HashSet::new(),
            split_raw: MatchingSet::build::<&str>(&[], vec![])?,
            split_normalized: MatchingSet::build::<&str>(&[], vec![])?,
        };
        let vocab_size = model.vocab_size() as u32;
        for token in tokens {
            if token.special && !token.content.is_empty() && !v.special_set.contains(&token.content)
            {
                v.special.push(token.clone());
                v.special_set.insert(token.content.clone());
            }
            if token.content.is_empty() || v.seen.contains(&token) {
                continue;
            }
            let id = match v
                .map
                .get(&token.content)
                .copied()
                .or_else(|| model.token_to_id(&token.content))
            {
                Some(id) => id,
                None => match v.map.values().copied().max() {
                    None => vocab_size,
                    Some(max) if max >= vocab_size || vocab_size == 0 => max + 1,
                    Some(_) => vocab_size,
                },
            };
            v.map.insert(token.content.clone(), id);
            if let Some(old) = v.map_r.insert(id, token.clone()) {
                v.seen.remove(&old);
            }
            v.seen.insert(token.clone());
            if !v.special_set.contains(&token.content) {
                v.added.push(token);
            }
        }
        v.refresh(model, normalizer)?;
        Ok(v)
    }

    fn refresh(&mut self, model: &dyn Model, normalizer: Option<&NormalizerWrapper>) -> Result<()> {
        let mut raw: Vec<&str> = vec![];
        let mut raw_ids = vec![];
        let mut norm: Vec<String> = vec![];
        let mut norm_ids = vec![];
        for t in self.special.iter().chain(self.added.iter()) {
            let Some(id) = self
                .map
                .get(&t.content)
                .copied()
                .or_else(|| model.token_to_id(&t.content))
            else {
                continue;
            };
            if t.normalized {
                let mut n = NormalizedString::from(t.content.as_str());
                if let Some(nz) = normalizer {
                    nz.normalize(&mut n)?;
                }
                norm.push(n.get().to_owned());
                norm_ids.push(id);
            } else {
                raw.push(&t.content);
                raw_ids.push(id);
            }
        }
        self.split_raw = MatchingSet::build(&raw, raw_ids)?;
        self.split_normalized = MatchingSet::build(&norm, norm_ids)?;
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.map.get(token).copied()
    }

    pub fn id_to_token(&self, id: u32) -> Option<&str> {
        self.map_r.get(&id).map(|t| t.content.as_str())
    }

    pub fn is_special_token(&self, token: &str) -> bool {
        self.special_set.contains(token)
    }

    /// content → id of every added token.
    pub fn vocab(&self) -> &HashMap<String, u32> {
        &self.map
    }

    /// `(id, token)` sorted by id.
    pub fn tokens_by_id(&self) -> Vec<(u32, &AddedToken)> {
        let mut v: Vec<(u32, &AddedToken)> = self.map_r.iter().map(|(i, t)| (*i, t)).collect();
        v.sort_unstable_by_key(|(i, _)| *i);
        v
    }

    /// Spans of `sentence` that are added tokens (with their id), covering the whole input.
    fn find_matches(
        &self,
        sentence: &str,
        set: &MatchingSet,
    ) -> Vec<(Option<u32>, (usize, usize))> {
        if sentence.is_empty() {
            return vec![(None, (0, 0))];
        }
        let Some(ac) = &set.automaton else {
            return vec![(None, (0, sentence.len()))];
        };
        let mut start_offset = 0;
        let mut splits = vec![];
        for m in ac.find_iter(sentence) {
            let mut start = m.start();
            let mut stop = m.end();
            let id = set.ids[m.pattern().as_usize()];
            let Some(tok) = self.map_r.get(&id) else {
                continue;
            };
            if tok.single_word {
                let start_space = start == 0 || !ends_with_word(&sentence[..start]);
                let stop_space = stop == sentence.len() || !starts_with_word(&sentence[stop..]);
                if !stop_space || !start_space {
                    continue;
                }
            }
            if tok.lstrip {
                // Whitespace already consumed by the previous match is not taken twice.
                let newstart = space_leftmost_at_end(&sentence[..start]);
                start = newstart.max(start_offset);
            }
            if tok.rstrip {
                stop += space_rightmost_at_start(&sentence[stop..]);
            }
            if start_offset < start {
                splits.push((None, (start_offset, start)));
            }
            splits.push((Some(id), (start, stop)));
            start_offset = stop;
        }
        if start_offset != sentence.len() {
            splits.push((None, (start_offset, sentence.len())));
        }
        splits
    }

    fn split_with_indices(
        &self,
        sentence: NormalizedString,
        set: &MatchingSet,
    ) -> Result<Vec<Split>> {
        if set.automaton.is_none() {
            return Ok(vec![Split {
                normalized: sentence,
                tokens: None,
            }]);
        }
        let mut out = vec![];
        for (id, (s, e)) in self.find_matches(sentence.get(), set) {
            let slice = sentence
                .slice(s..e)
                .ok_or_else(|| Error::Encode("added token split off a char boundary".into()))?;
            let tokens = id.map(|id| {
                let value = slice.get().to_owned();
                let len = value.len();
                vec![Token::new(id, value, (0, len))]
            });
            out.push(Split {
                normalized: slice,
                tokens,
            });
        }
        Ok(out)
    }

    /// Split off the added tokens, normalizing the rest along the way.
    pub fn extract_and_normalize(
        &self,
        normalizer: Option<&NormalizerWrapper>,
        sequence: &str,
    ) -> Result<PreTokenizedString> {
        let mut pre = PreTokenizedString::from(sequence);
        pre.split_with_tokens(|_, s| self.split_with_indices(s, &self.split_raw))?;
        pre.split_with_tokens(|_, mut s| {
            if let Some(n) = normalizer {
                n.normalize(&mut s)?;
            }
            self.split_with_indices(s, &self.split_normalized)
        })?;
        Ok(pre)
    }
}

/// `\w` of the `regex` crate (Unicode word character), what `tokenizers` uses here.
#[inline]
fn is_word(c: char) -> bool {
    regex_syntax::try_is_word_character(c).unwrap_or(false)
}

fn ends_with_word(s: &str) -> bool {
    s.chars().next_back().is_some_and(is_word)
}

fn starts_with_word(s: &str) -> bool {
    s.chars().next().is_some_and(is_word)
}

/// Start of the trailing whitespace run (`\s*$`).
fn space_leftmost_at_end(s: &str) -> usize {
    let trimmed = s.trim_end_matches(char::is_whitespace);
    trimmed.len()
}

/// Length of the leading whitespace run (`^\s*`).
fn space_rightmost_at_start(s: &str) -> usize {
    s.len() - s.trim_start_matches(char::is_whitespace).len()
}
