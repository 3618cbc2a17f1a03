//! Tokenization models: turn one pre-tokenized piece into tokens.
//!
//! [`from_json`] parses the `"model"` section of `tokenizer.json` into a [`ModelWrapper`].
//! Semantics follow Hugging Face `tokenizers` exactly (see each model's module).
use super::{Error, Result, Token};
use serde_json::Value;

pub mod bpe;
mod cache;
pub mod trie;
pub mod unigram;
mod util;
pub mod wordlevel;
pub mod wordpiece;

pub use bpe::Bpe;
pub use unigram::Unigram;
pub use wordlevel::WordLevel;
pub use wordpiece::WordPiece;

/// The interface every model implements. Models are immutable after load and shared across
/// threads (batch encoding runs on rayon).
pub trait Model: Send + Sync {
    /// Tokenize one piece (already normalized and pre-tokenized). Offsets are byte offsets
    /// into `piece`.
    fn tokenize(&self, piece: &str) -> Result<Vec<Token>>;
    fn token_to_id(&self, token: &str) -> Option<u32>;
    fn id_to_token(&self, id: u32) -> Option<&str>;
    /// Size of the model's own vocabulary (without added tokens).
    fn vocab_size(&self) -> usize;

    /// Fast path when only ids and offsets are needed: appends `(id, (start, end))` to `out`
    /// without building the token strings. Same result as [`Model::tokenize`].
    fn tokenize_ids(&self, piece: &str, out: &mut Vec<(u32, (usize, usize))>) -> Result<()> {
        out.extend(self.tokenize(piece)?.into_iter().map(|t| (t.id, t.offsets)));
        Ok(())
    }
}

/// One of the four `tokenizers` models.
#[derive(Debug)]
pub enum ModelWrapper {
    BPE(Bpe),
    WordPiece(WordPiece),
    Unigram(Unigram),
    WordLevel(WordLevel),
}

macro_rules! dispatch {
    ($self:ident, $m:ident => $e:expr) => {
        match $self {
            ModelWrapper::BPE($m) => $e,
            ModelWrapper::WordPiece($m) => $e,
            ModelWrapper::Unigram($m) => $e,
            ModelWrapper::WordLevel($m) => $e,
        }
    };
}

impl Model for ModelWrapper {
    #[inline]
    fn tokenize(&self, piece: &str) -> Result<Vec<Token>> {
        dispatch!(self, m => m.tokenize(piece))
    }
    #[inline]
    fn token_to_id(&self, token: &str) -> Option<u32> {
        dispatch!(self, m => m.token_to_id(token))
    }
    #[inline]
    fn id_to_token(&self, id: u32) -> Option<&str> {
        dispatch!(self, m => m.id_to_token(id))
    }
    fn vocab_size(&self) -> usize {
        dispatch!(self, m => m.vocab_size())
    }
    #[inline]
    fn tokenize_ids(&self, piece: &str, out: &mut Vec<(u32, (usize, usize))>) -> Result<()> {
        dispatch!(self, m => m.tokenize_ids(piece, out))
    }
}

impl ModelWrapper {
    /// `"BPE"`, `"WordPiece"`, `"Unigram"` or `"WordLevel"`.
    pub fn type_name(&self) -> &'static str {
        match self {
            ModelWrapper::BPE(_) => "BPE",
            ModelWrapper::WordPiece(_) => "WordPiece",
            ModelWrapper::Unigram(_) => "Unigram",
            ModelWrapper::WordLevel(_) => "WordLevel",
        }
    }

    /// Every `(token, id)` of the model's vocabulary, sorted by id.
    pub fn get_vocab(&self) -> Vec<(String, u32)> {
        let mut v = dispatch!(self, m => m.get_vocab());
        v.sort_unstable_by_key(|(_, id)| *id);
        v
    }

    /// The unknown token's string, if the model has one configured.
    pub fn unk_token(&self) -> Option<&str> {
        dispatch!(self, m => m.unk_token())
    }

    /// The unknown token's id, if configured and present in the vocabulary.
    pub fn unk_id(&self) -> Option<u32> {
        dispatch!(self, m => m.unk_id())
    }

    /// WordPiece / BPE `continuing_subword_prefix` (used by the WordPiece decoder defaults).
    pub fn continuing_subword_prefix(&self) -> Option<&str> {
        match self {
            ModelWrapper::BPE(m) => m.continuing_subword_prefix(),
            ModelWrapper::WordPiece(m) => Some(m.continuing_subword_prefix()),
            _ => None,
        }
    }

    /// Resize the model's result cache (BPE and Unigram; 0 disables it). Outputs never depend
    /// on it; this only trades memory for speed.
    pub fn set_cache_capacity(&mut self, capacity: usize) {
        match self {
            ModelWrapper::BPE(m) => m.set_cache_capacity(capacity),
            ModelWrapper::Unigram(m) => m.set_cache_capacity(capacity),
            _ => {}
        }
    }

    /// Whether the model maps unknown bytes to `<0xNN>` tokens.
    pub fn byte_fallback(&self) -> bool {
        match self {
            ModelWrapper::BPE(m) => m.byte_fallback(),
            ModelWrapper::Unigram(m) => m.byte_fallback(),
            _ => false,
        }
    }
}

/// Parse the `"model"` section of `tokenizer.json`.
///
/// Accepts every serialisation `tokenizers` reads: `type` tagged models, BPE merges as
/// `"a b"` strings or `["a", "b"]` pairs, and the old type-less models whose kind is inferred
/// from their fields (like `tokenizers` and the Transformers.js `LegacyTokenizerModel`).
pub fn from_json(v: &Value) -> Result<ModelWrapper> {
    let obj = v.as_object().ok_or_else(|| {
        Error::config(format!("model: expected an object, got {}", util::kind(v)))
    })?;
    let ty = match obj.get("type") {
        None | Some(Value::Null) => infer_type(obj)?,
        Some(Value::String(s)) => s.as_str(),
        Some(other) => {
            return Err(Error::config(format!(
                "model.type: expected a string, got {}",
                util::kind(other)
            )))
        }
    };
    match ty {
        "BPE" => Ok(ModelWrapper::BPE(Bpe::from_json(obj)?)),
        "WordPiece" => Ok(ModelWrapper::WordPiece(WordPiece::from_json(obj)?)),
        "Unigram" => Ok(ModelWrapper::Unigram(Unigram::from_json(obj)?)),
        "WordLevel" => Ok(ModelWrapper::WordLevel(WordLevel::from_json(obj)?)),
        other => Err(Error::config(format!(
            "unknown model type {other:?} (expected BPE, WordPiece, Unigram or WordLevel)"
        ))),
    }
}

/// Type-less legacy model, inferred like `tokenizers` does (it tries BPE, WordPiece, WordLevel,
/// Unigram in turn): merges → BPE; unk token + subword prefix + max chars → WordPiece; a list
/// vocab → Unigram; another map vocab → WordLevel (also without an unk token, which
/// `tokenizers` rejects but Transformers.js' `LegacyTokenizerModel` accepts).
fn infer_type(obj: &serde_json::Map<String, Value>) -> Result<&'static str> {
    match obj.get("vocab") {
        Some(Value::Array(_)) => Ok("Unigram"),
        Some(Value::Object(_)) => {
            let has = |k: &str| obj.get(k).is_some_and(|v| !v.is_null());
            if obj.contains_key("merges") {
                Ok("BPE")
            } else if has("unk_token")
                && has("continuing_subword_prefix")
                && has("max_input_chars_per_word")
            {
                Ok("WordPiece")
            } else {
                Ok("WordLevel")
            }
        }
        Some(other) => Err(Error::config(format!(
            "model.vocab: expected an object or a list, got {}",
            util::kind(other)
        ))),
        None => Err(Error::config(
            "model: no \"type\" and no \"vocab\", cannot tell which model this is",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_type_names_the_type() {
        let e = from_json(&json!({"type": "Foo", "vocab": {}})).unwrap_err();
        assert!(
            matches!(&e, Error::Config(m) if m.contains("\"Foo\"")),
            "{e}"
        );
        assert!(matches!(from_json(&json!([1])), Err(Error::Config(_))));
        assert!(matches!(
            from_json(&json!({"type": 3})),
            Err(Error::Config(_))
        ));
        assert!(matches!(from_json(&json!({})), Err(Error::Config(_))));
        assert!(matches!(
            from_json(&json!({"vocab": 3})),
            Err(Error::Config(_))
        ));
    }

    #[test]
    fn legacy_models_are_inferred() {
        let cases = [
            (json!({"vocab": {"a": 0}, "merges": []}), "BPE"),
            (
                json!({"vocab": {"a": 0}, "unk_token": "a", "continuing_subword_prefix": "##",
                       "max_input_chars_per_word": 100}),
                "WordPiece",
            ),
            // As `tokenizers`: without max_input_chars_per_word it is a WordLevel.
            (
                json!({"vocab": {"a": 0}, "unk_token": "a", "continuing_subword_prefix": "##"}),
                "WordLevel",
            ),
            (json!({"vocab": {"a": 0}}), "WordLevel"),
            (json!({"vocab": {"a": 0}, "unk_token": "a"}), "WordLevel"),
            (json!({"vocab": [["a", 0.0]], "unk_id": 0}), "Unigram"),
        ];
        for (v, ty) in cases {
            assert_eq!(from_json(&v).unwrap().type_name(), ty);
        }
    }

    #[test]
    fn accessors() {
        let m = from_json(&json!({"type": "WordPiece", "vocab": {"[UNK]": 1, "a": 0, "##b": 2}}))
            .unwrap();
        assert_eq!(
            m.get_vocab(),
            [("a".into(), 0), ("[UNK]".into(), 1), ("##b".into(), 2)]
        );
        assert_eq!(m.unk_token(), Some("[UNK]"));
        assert_eq!(m.unk_id(), Some(1));
        assert_eq!(m.continuing_subword_prefix(), Some("##"));
        assert_eq!(m.vocab_size(), 3);
        assert_eq!(m.token_to_id("##b"), Some(2));
        assert_eq!(m.id_to_token(2), Some("##b"));
        assert_eq!(m.id_to_token(7), None);
        let u = from_json(&json!({"type": "Unigram", "vocab": [["<unk>", 0.0], ["a", -1.0]], "unk_id": 0, "byte_fallback": true})).unwrap();
        assert_eq!(
            (u.unk_token(), u.unk_id(), u.byte_fallback()),
            (Some("<unk>"), Some(0), true)
        );
        let b = from_json(
            &json!({"type": "BPE", "vocab": {"a": 0}, "merges": [], "unk_token": "<unk>"}),
        )
        .unwrap();
        // Configured but absent from the vocabulary.
        assert_eq!((b.unk_token(), b.unk_id()), (Some("<unk>"), None));
    }

    #[test]
    fn sparse_ids_do_not_allocate_huge_tables() {
        let m = from_json(&json!({"type": "WordLevel", "vocab": {"a": 0, "b": 4_000_000_000u32}, "unk_token": "a"}))
            .unwrap();
        assert_eq!(m.id_to_token(4_000_000_000), Some("b"));
        assert_eq!(m.tokenize("b").unwrap()[0].id, 4_000_000_000);
    }
}
