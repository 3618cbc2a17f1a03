//! WordPiece: greedy longest-match-first, as `tokenizers`' `WordPiece`.
//!
//! `tokenizers` tries `piece[start..end]` for decreasing `end` with one hash lookup each
//! (quadratic in the word length); two byte tries give the same longest match in one walk.
use super::trie::Trie;
use super::util::{self, IdTable, Obj};
use super::Model;
use crate::tokenizer::{Error, Result, Token};
use rustc_hash::FxHashMap;

#[derive(Debug)]
pub struct WordPiece {
    vocab: FxHashMap<String, u32>,
    vocab_r: IdTable,
    unk_token: String,
    continuing_subword_prefix: String,
    max_input_chars_per_word: usize,
    /// Every token, for the first subword of a word.
    head: Trie,
    /// Tokens starting with the prefix, keyed without it, for the following subwords.
    tail: Trie,
}

impl WordPiece {
    pub fn new(
        vocab: Vec<(String, u32)>,
        unk_token: String,
        continuing_subword_prefix: String,
        max_input_chars_per_word: usize,
    ) -> Self {
        let vocab_r = IdTable::new(vocab.iter().map(|(t, id)| (t.as_str(), *id)));
        let vocab = util::token_map(&vocab);
        let head = Trie::new(vocab.iter().map(|(t, &id)| (t.as_bytes(), id)));
        let tail = Trie::new(vocab.iter().filter_map(|(t, &id)| {
            t.strip_prefix(continuing_subword_prefix.as_str())
                .map(|r| (r.as_bytes(), id))
        }));
        WordPiece {
            vocab,
            vocab_r,
            unk_token,
            continuing_subword_prefix,
            max_input_chars_per_word,
            head,
            tail,
        }
    }

    pub fn from_json(obj: &Obj) -> Result<Self> {
        const CTX: &str = "model (WordPiece)";
        let vocab = util::vocab_map(obj, CTX)?;
        Ok(WordPiece::new(
            vocab,
            util::opt_str(obj, "unk_token", CTX)?.unwrap_or_else(|| "[UNK]".into()),
            util::opt_str(obj, "continuing_subword_prefix", CTX)?.unwrap_or_else(|| "##".into()),
            util::opt_usize(obj, "max_input_chars_per_word", CTX)?.unwrap_or(100),
        ))
    }

    pub fn get_vocab(&self) -> Vec<(String, u32)> {
        self.vocab.iter().map(|(t, &id)| (t.clone(), id)).collect()
    }
    pub fn unk_token(&self) -> Option<&str> {
        Some(&self.unk_token)
    }
    pub fn unk_id(&self) -> Option<u32> {
        self.vocab.get(&self.unk_token).copied()
    }
    pub fn continuing_subword_prefix(&self) -> &str {
        &self.continuing_subword_prefix
    }
    pub fn max_input_chars_per_word(&self) -> usize {
        self.max_input_chars_per_word
    }

    fn unk(&self, piece: &str) -> Result<Vec<Token>> {
        let id = self.unk_id().ok_or_else(|| {
            Error::Encode(format!(
                "WordPiece cannot tokenize {:?}: unk_token {:?} is not in the vocabulary",
                truncate(piece),
                self.unk_token
            ))
        })?;
        Ok(vec![Token::new(
            id,
            self.unk_token.clone(),
            (0, piece.len()),
        )])
    }
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(40) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

impl WordPiece {
    /// Greedy longest-match: appends `(id, (start, end))` per subword to `out` and returns
    /// true, or leaves `out` as it was and returns false when the word needs the unk token.
    fn split(&self, piece: &str, out: &mut Vec<(u32, (usize, usize))>) -> bool {
        // Cheap bound first: more bytes than allowed chars can still be few chars.
        if piece.len() > self.max_input_chars_per_word
            && piece.chars().count() > self.max_input_chars_per_word
        {
            return false;
        }
        let bytes = piece.as_bytes();
        let mark = out.len();
        let mut start = 0;
        while start < bytes.len() {
            let trie = if start == 0 { &self.head } else { &self.tail };
            let Some((len, id)) = trie.longest_prefix(&bytes[start..]) else {
                out.truncate(mark);
                return false;
            };
            out.push((id, (start, start + len)));
            start += len;
        }
        true
    }
}

impl Model for WordPiece {
    fn tokenize(&self, piece: &str) -> Result<Vec<Token>> {
        let mut spans = Vec::new();
        if !self.split(piece, &mut spans) {
            return self.unk(piece);
        }
        Ok(spans
            .into_iter()
            .map(|(id, (s, e))| {
                // The matched vocabulary string: the text, with the prefix after the first.
                let value = if s == 0 {
                    piece[..e].to_owned()
                } else {
                    let mut v = String::with_capacity(self.continuing_subword_prefix.len() + e - s);
                    v.push_str(&self.continuing_subword_prefix);
                    v.push_str(&piece[s..e]);
                    v
                };
                Token::new(id, value, (s, e))
            })
            .collect())
    }

    fn tokenize_ids(&self, piece: &str, out: &mut Vec<(u32, (usize, usize))>) -> Result<()> {
        if !self.split(piece, out) {
            out.extend(self.unk(piece)?.into_iter().map(|t| (t.id, t.offsets)));
        }
        Ok(())
    }

    fn token_to_id(&self, token: &str) -> Option<u32> {
        self.vocab.get(token).copied()
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

    fn wp(toks: &[&str], max: usize) -> WordPiece {
        let v = toks
            .iter()
            .enumerate()
            .map(|(i, t)| (t.to_string(), i as u32))
            .collect();
        WordPiece::new(v, "[UNK]".into(), "##".into(), max)
    }

    #[test]
    fn greedy_longest_match() {
        let m = wp(&["[UNK]", "ba", "##na", "##n", "##a", "b"], 100);
        let t = m.tokenize("banana").unwrap();
        let got: Vec<_> = t.iter().map(|t| (t.value.as_str(), t.offsets)).collect();
        assert_eq!(got, [("ba", (0, 2)), ("##na", (2, 4)), ("##na", (4, 6))]);
        // A word that cannot be covered is one unk over the whole piece.
        assert_eq!(
            m.tokenize("nab").unwrap(),
            vec![Token::new(0, "[UNK]".into(), (0, 3))]
        );
        assert!(m.tokenize("").unwrap().is_empty());
    }

    #[test]
    fn multibyte_offsets_are_char_boundaries() {
        let m = wp(&["[UNK]", "日", "##本", "##語"], 100);
        let t = m.tokenize("日本語").unwrap();
        assert_eq!(
            t.iter().map(|t| t.offsets).collect::<Vec<_>>(),
            [(0, 3), (3, 6), (6, 9)]
        );
        assert_eq!(t[2].value, "##語");
    }

    #[test]
    fn max_chars_counts_chars_not_bytes() {
        let m = wp(&["[UNK]", "é", "##é"], 3);
        assert_eq!(m.tokenize("ééé").unwrap().len(), 3);
        assert_eq!(
            m.tokenize("éééé").unwrap(),
            vec![Token::new(0, "[UNK]".into(), (0, 8))]
        );
    }

    #[test]
    fn missing_unk_is_an_error() {
        let m = wp(&["a"], 100);
        assert!(matches!(m.tokenize("b"), Err(Error::Encode(_))));
        assert!(m.tokenize("a").is_ok());
    }

    #[test]
    fn long_piece_is_linear() {
        // 100k chars with an unlimited max: one trie walk per subword, not a quadratic scan.
        let m = wp(&["[UNK]", "a", "##a", "##aa"], usize::MAX);
        let t = m.tokenize(&"a".repeat(100_001)).unwrap();
        assert_eq!(t.len(), 50_001);
        let m = wp(&["[UNK]", "a"], usize::MAX);
        assert_eq!(m.tokenize(&"a".repeat(100_000)).unwrap().len(), 1);
    }
}
