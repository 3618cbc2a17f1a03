//! WordLevel: the whole piece is one vocabulary entry, else the unk token.
use super::util::{self, IdTable, Obj};
use super::Model;
use crate::tokenizer::{Error, Result, Token};
use rustc_hash::FxHashMap;

#[derive(Debug)]
pub struct WordLevel {
    vocab: FxHashMap<String, u32>,
    vocab_r: IdTable,
    unk_token: String,
}

impl WordLevel {
    pub fn new(vocab: Vec<(String, u32)>, unk_token: String) -> Self {
        let vocab_r = IdTable::new(vocab.iter().map(|(t, id)| (t.as_str(), *id)));
        WordLevel {
            vocab: util::token_map(&vocab),
            vocab_r,
            unk_token,
        }
    }

    pub fn from_json(obj: &Obj) -> Result<Self> {
        const CTX: &str = "model (WordLevel)";
        let vocab = util::vocab_map(obj, CTX)?;
        let unk = util::opt_str(obj, "unk_token", CTX)?.unwrap_or_else(|| "<unk>".into());
        Ok(WordLevel::new(vocab, unk))
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
}

impl Model for WordLevel {
    fn tokenize(&self, piece: &str) -> Result<Vec<Token>> {
        if let Some(&id) = self.vocab.get(piece) {
            return Ok(vec![Token::new(id, piece.to_owned(), (0, piece.len()))]);
        }
        match self.unk_id() {
            Some(id) => Ok(vec![Token::new(
                id,
                self.unk_token.clone(),
                (0, piece.len()),
            )]),
            None => Err(Error::Encode(format!(
                "WordLevel: {piece:?} is not in the vocabulary and the unk_token {:?} is missing",
                self.unk_token
            ))),
        }
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

    #[test]
    fn lookup_and_unk() {
        let m = WordLevel::new(vec![("hi".into(), 0), ("<unk>".into(), 1)], "<unk>".into());
        assert_eq!(
            m.tokenize("hi").unwrap(),
            vec![Token::new(0, "hi".into(), (0, 2))]
        );
        assert_eq!(
            m.tokenize("héllo").unwrap(),
            vec![Token::new(1, "<unk>".into(), (0, 6))]
        );
        assert_eq!(m.id_to_token(1), Some("<unk>"));
        let m = WordLevel::new(vec![("hi".into(), 0)], "<unk>".into());
        assert!(matches!(m.tokenize("x"), Err(Error::Encode(_))));
    }
}
