//! Unigram (SentencePiece) model: best-scoring segmentation, same results as `tokenizers`'
//! `Unigram` (its "optimized" encoder, which is SentencePiece's).
//!
//! Viterbi runs over byte positions with one best-path cell per position (score, start, id);
//! the lattice itself is never built. Unknown chars score `min_score - 10` and consecutive
//! unknowns are fused, exactly as `tokenizers` does.
use super::cache::Cache;
use super::trie::Trie;
use super::util::{self, IdTable, Obj};
use super::Model;
use crate::tokenizer::{Error, Result, Token};
use rustc_hash::FxHashMap;
use serde_json::Value;

const UNK_PENALTY: f64 = 10.0;
const CACHE_MAX_PIECE_LEN: usize = 256;
const CACHE_CAPACITY: usize = 10_000;
const NO_ID: u32 = u32::MAX;

/// One output token, as positions into the piece. `byte` tokens (byte fallback) take their
/// string from the vocabulary; the others carry the piece's own text (for unk: the raw text,
/// like `tokenizers`).
#[derive(Debug, Clone, Copy)]
struct Tok {
    id: u32,
    start: u32,
    end: u32,
    byte: bool,
}

#[derive(Debug)]
pub struct Unigram {
    /// `(piece, score)`, id = index.
    vocab: Vec<(String, f64)>,
    token_to_ids: FxHashMap<String, u32>,
    vocab_r: IdTable,
    trie: Trie,
    min_score: f64,
    unk_id: Option<u32>,
    byte_fallback: bool,
    byte_ids: Box<[u32; 256]>,
    cache: Option<Cache<Box<[Tok]>>>,
}

impl Unigram {
    pub fn new(
        vocab: Vec<(String, f64)>,
        unk_id: Option<usize>,
        byte_fallback: bool,
    ) -> Result<Self> {
        if let Some(u) = unk_id {
            if vocab.is_empty() {
                return Err(Error::config(
                    "model (Unigram): the vocabulary is empty but unk_id is set",
                ));
            }
            if u >= vocab.len() {
                return Err(Error::config(format!(
                    "model (Unigram): unk_id {u} is out of the vocabulary (size {})",
                    vocab.len()
                )));
            }
        }
        if vocab.len() >= NO_ID as usize {
            return Err(Error::config("model (Unigram): vocabulary too large"));
        }
        // Later duplicates win, as `tokenizers`' HashMap insert.
        let mut token_to_ids = FxHashMap::with_capacity_and_hasher(vocab.len(), Default::default());
        let mut min_score = f64::INFINITY;
        for (id, (tok, score)) in vocab.iter().enumerate() {
            token_to_ids.insert(tok.clone(), id as u32);
            if *score < min_score {
                min_score = *score;
            }
        }
        let trie = Trie::new(token_to_ids.iter().map(|(t, &id)| (t.as_bytes(), id)));
        let vocab_r = IdTable::new(
            vocab
                .iter()
                .enumerate()
                .map(|(i, (t, _))| (t.as_str(), i as u32)),
        );
        let mut byte_ids = Box::new([NO_ID; 256]);
        for b in 0..256usize {
            if let Some(&id) = token_to_ids.get(&format!("<0x{b:02X}>")) {
                byte_ids[b] = id;
            }
        }
        Ok(Unigram {
            vocab,
            token_to_ids,
            vocab_r,
            trie,
            min_score,
            unk_id: unk_id.map(|u| u as u32),
            byte_fallback,
            byte_ids,
            cache: Some(Cache::new(CACHE_CAPACITY)),
        })
    }

    pub fn from_json(obj: &Obj) -> Result<Self> {
        const CTX: &str = "model (Unigram)";
        let v = obj
            .get("vocab")
            .ok_or_else(|| Error::config(format!("{CTX}: missing \"vocab\"")))?;
        let list = v.as_array().ok_or_else(|| {
            Error::config(format!(
                "{CTX}.vocab: expected a list of [piece, score], got {}",
                util::kind(v)
            ))
        })?;
        let mut vocab = Vec::with_capacity(list.len());
        for (i, e) in list.iter().enumerate() {
            match e.as_array().map(Vec::as_slice) {
                Some([Value::String(p), s]) if s.is_number() => {
                    vocab.push((p.clone(), s.as_f64().unwrap_or(0.0)))
                }
                _ => {
                    return Err(Error::config(format!(
                        "{CTX}.vocab[{i}]: expected [piece, score], got {e}"
                    )))
                }
            }
        }
        let unk_id = util::opt_usize(obj, "unk_id", CTX)?;
        let byte_fallback = util::opt_bool(obj, "byte_fallback", false, CTX)?;
        Unigram::new(vocab, unk_id, byte_fallback)
    }

    /// Replace the result cache with a fresh one of `capacity` entries (0 disables it).
    pub fn set_cache_capacity(&mut self, capacity: usize) {
        self.cache = (capacity > 0).then(|| Cache::new(capacity));
    }

    pub fn get_vocab(&self) -> Vec<(String, u32)> {
        self.token_to_ids
            .iter()
            .map(|(t, &id)| (t.clone(), id))
            .collect()
    }
    /// `(piece, score)` by id.
    pub fn pieces(&self) -> &[(String, f64)] {
        &self.vocab
    }
    pub fn unk_token(&self) -> Option<&str> {
        self.unk_id.map(|u| self.vocab[u as usize].0.as_str())
    }
    pub fn unk_id(&self) -> Option<u32> {
        self.unk_id
    }
    pub fn byte_fallback(&self) -> bool {
        self.byte_fallback
    }
    pub fn min_score(&self) -> f64 {
        self.min_score
    }

    fn missing_unk() -> Error {
        Error::Encode("Unigram: encountered an unknown token but `unk_id` is missing".into())
    }

    /// Best segmentation as `(start, end, node id)`, unknown runs fused (id = unk id).
    fn viterbi(&self, piece: &str) -> Result<Vec<(usize, usize, u32)>> {
        let n = piece.len();
        let bytes = piece.as_bytes();
        let unk_score = self.min_score - UNK_PENALTY;
        // Per end position: best score, start of the last token (usize::MAX = none), its id.
        let mut score = vec![0f64; n + 1];
        let mut start_of = vec![usize::MAX; n + 1];
        let mut id_of = vec![NO_ID; n + 1];
        let mut pos = 0;
        while pos < n {
            let here = score[pos];
            let mblen = utf8_len(bytes[pos]);
            let mut has_single = false;
            self.trie.for_each_prefix(&bytes[pos..], |len, id| {
                let end = pos + len;
                let cand = here + self.vocab[id as usize].1;
                if start_of[end] == usize::MAX || cand > score[end] {
                    score[end] = cand;
                    start_of[end] = pos;
                    id_of[end] = id;
                }
                has_single |= len == mblen;
            });
            if !has_single {
                let end = (pos + mblen).min(n);
                let cand = here + unk_score;
                if start_of[end] == usize::MAX || cand > score[end] {
                    score[end] = cand;
                    start_of[end] = pos;
                    id_of[end] = self.unk_id.ok_or_else(Self::missing_unk)?;
                }
            }
            pos += mblen;
        }
        let mut out = Vec::new();
        let mut end = n;
        let mut unk_end: Option<usize> = None;
        while end > 0 {
            let start = start_of[end];
            if start >= end {
                // Unreachable for valid UTF-8 input; never loop or index out of bounds.
                return Err(Error::Encode("Unigram: no segmentation found".into()));
            }
            let id = id_of[end];
            if Some(id) == self.unk_id {
                // Fuse: keep extending the pending unknown run to the left.
                unk_end.get_or_insert(end);
            } else {
                if let Some(ue) = unk_end.take() {
                    out.push((end, ue, self.unk_id.unwrap_or(NO_ID)));
                }
                out.push((start, end, id));
            }
            end = start;
        }
        if let Some(ue) = unk_end {
            out.push((0, ue, self.unk_id.unwrap_or(NO_ID)));
        }
        out.reverse();
        Ok(out)
    }

    /// Final tokens: string lookup of every span (fused unknown runs may be in the vocab),
    /// then byte fallback, then unk, as `tokenizers`' `Unigram::tokenize`.
    fn encode(&self, piece: &str) -> Result<Vec<Tok>> {
        let mut toks = Vec::new();
        for (start, end, node_id) in self.viterbi(piece)? {
            let s = &piece[start..end];
            let id = if Some(node_id) != self.unk_id {
                node_id
            } else if let Some(&id) = self.token_to_ids.get(s) {
                id
            } else {
                if self.byte_fallback && s.bytes().all(|b| self.byte_ids[b as usize] != NO_ID) {
                    toks.extend(s.bytes().map(|b| Tok {
                        id: self.byte_ids[b as usize],
                        start: start as u32,
                        end: end as u32,
                        byte: true,
                    }));
                    continue;
                }
                self.unk_id.ok_or_else(Self::missing_unk)?
            };
            toks.push(Tok {
                id,
                start: start as u32,
                end: end as u32,
                byte: false,
            });
        }
        Ok(toks)
    }

    fn encode_with<R>(&self, piece: &str, f: impl FnOnce(&[Tok]) -> R) -> Result<R> {
        if piece.len() >= u32::MAX as usize {
            return Err(Error::Encode("Unigram: piece longer than 4 GiB".into()));
        }
        if let (Some(cache), true) = (&self.cache, piece.len() < CACHE_MAX_PIECE_LEN) {
            let mut f = Some(f);
            if let Some(r) = cache.with(piece, |v| (f.take().unwrap())(v)) {
                return Ok(r);
            }
            let toks = self.encode(piece)?;
            let r = (f.take().unwrap())(&toks);
            cache.insert(piece, toks.into_boxed_slice());
            return Ok(r);
        }
        Ok(f(&self.encode(piece)?))
    }
}

#[inline]
fn utf8_len(first: u8) -> usize {
    match first {
        0x00..=0x7F => 1,
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

impl Model for Unigram {
    fn tokenize(&self, piece: &str) -> Result<Vec<Token>> {
        if piece.is_empty() {
            return Ok(vec![]);
        }
        self.encode_with(piece, |toks| {
            toks.iter()
                .map(|t| {
                    let (s, e) = (t.start as usize, t.end as usize);
                    let value = if t.byte {
                        self.vocab_r.get(t.id).unwrap_or_default().to_owned()
                    } else {
                        piece[s..e].to_owned()
                    };
                    Token::new(t.id, value, (s, e))
                })
                .collect()
        })
    }

    fn tokenize_ids(&self, piece: &str, out: &mut Vec<(u32, (usize, usize))>) -> Result<()> {
        if piece.is_empty() {
            return Ok(());
        }
        self.encode_with(piece, |toks| {
            out.extend(
                toks.iter()
                    .map(|t| (t.id, (t.start as usize, t.end as usize))),
            );
        })
    }

    fn token_to_id(&self, token: &str) -> Option<u32> {
        self.token_to_ids.get(token).copied()
    }

    fn id_to_token(&self, id: u32) -> Option<&str> {
        self.vocab_r.get(id)
    }

    fn vocab_size(&self) -> usize {
        self.vocab.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(v: &[(&str, f64)], unk: Option<usize>, bf: bool) -> Unigram {
        Unigram::new(
            v.iter().map(|(t, s)| (t.to_string(), *s)).collect(),
            unk,
            bf,
        )
        .unwrap()
    }
    const DOC: &[(&str, f64)] = &[
        ("<unk>", 0.0),
        ("a", 0.0),
        ("b", 0.0),
        ("c", 0.0),
        ("d", 0.0),
        ("cd", 1.0),
        ("ab", 2.0),
        ("abc", 5.0),
        ("abcd", 10.0),
    ];

    #[test]
    fn best_path_and_fused_unk() {
        // The example of `tokenizers`' documentation.
        let m = model(DOC, Some(0), false);
        let t = m.tokenize("abcdacdxx").unwrap();
        let got: Vec<_> = t
            .iter()
            .map(|t| (t.id, t.value.as_str(), t.offsets))
            .collect();
        assert_eq!(
            got,
            [
                (8, "abcd", (0, 4)),
                (1, "a", (4, 5)),
                (5, "cd", (5, 7)),
                (0, "xx", (7, 9))
            ]
        );
        assert!(m.tokenize("").unwrap().is_empty());
    }

    #[test]
    fn unknown_without_unk_id_is_an_error() {
        let m = model(DOC, None, false);
        assert!(matches!(m.tokenize("ax"), Err(Error::Encode(_))));
        assert_eq!(m.tokenize("ab").unwrap().len(), 1);
    }

    #[test]
    fn byte_fallback_spans_whole_unknown_run() {
        let mut v: Vec<(String, f64)> = vec![("<unk>".into(), 0.0), ("a".into(), -1.0)];
        v.extend((0..256).map(|b| (format!("<0x{b:02X}>"), -5.0)));
        let m = Unigram::new(v, Some(0), true).unwrap();
        let t = m.tokenize("aé").unwrap();
        assert_eq!(
            t,
            vec![
                Token::new(1, "a".into(), (0, 1)),
                Token::new(2 + 0xC3, "<0xC3>".into(), (1, 3)),
                Token::new(2 + 0xA9, "<0xA9>".into(), (1, 3)),
            ]
        );
    }

    #[test]
    fn long_piece_is_linear() {
        let m = model(DOC, Some(0), false);
        let s = "abcdx".repeat(20_000);
        let t = m.tokenize(&s).unwrap();
        assert_eq!(t.len(), 40_000);
        assert_eq!(t.last().unwrap().offsets, (99_999, 100_000));
    }

    #[test]
    fn bad_configs() {
        use serde_json::json;
        let cases = [
            json!({"type": "Unigram", "vocab": [["a", 0.0]], "unk_id": 3}),
            json!({"type": "Unigram", "vocab": [], "unk_id": 0}),
            json!({"type": "Unigram", "vocab": [["a"]], "unk_id": null}),
            json!({"type": "Unigram", "vocab": [["a", "x"]]}),
            json!({"type": "Unigram", "vocab": {"a": 0.0}}),
            json!({"type": "Unigram"}),
        ];
        for c in cases {
            let r = crate::tokenizer::models::from_json(&c);
            assert!(matches!(r, Err(Error::Config(_))), "{c}: {r:?}");
        }
    }
}
