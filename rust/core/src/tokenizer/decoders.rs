//! Decoders: turn token strings back into text, same results as `tokenizers`' decoders.
//!
//! [`from_json`] parses the `"decoder"` section of `tokenizer.json` into a [`DecoderWrapper`].
use super::byte_level::unicode_to_byte;
use super::{Error, Result};
use serde_json::{Map, Value};

pub trait Decoder: Send + Sync {
    /// Transform the token strings; the final text is the concatenation of the result.
    fn decode_chain(&self, tokens: Vec<String>) -> Result<Vec<String>>;

    /// Run the chain and concatenate.
    fn decode(&self, tokens: Vec<String>) -> Result<String> {
        Ok(self.decode_chain(tokens)?.concat())
    }
}

/// When the first token starts with the Metaspace replacement, how the decoder treats it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrependScheme {
    Always,
    Never,
    First,
}

/// Pattern of a `Replace` decoder.
#[derive(Debug)]
pub enum ReplacePattern {
    String(String),
    Regex(fancy_regex::Regex),
}

#[derive(Debug)]
pub enum DecoderWrapper {
    /// GPT-2 byte-level chars → bytes → UTF-8 (lossy).
    ByteLevel,
    WordPiece {
        prefix: String,
        cleanup: bool,
    },
    Metaspace {
        replacement: char,
        prepend_scheme: PrependScheme,
    },
    BPEDecoder {
        suffix: String,
    },
    ByteFallback,
    Fuse,
    Strip {
        content: char,
        start: usize,
        stop: usize,
    },
    Replace {
        pattern: ReplacePattern,
        content: String,
    },
    CTC {
        pad_token: String,
        word_delimiter_token: String,
        cleanup: bool,
    },
    Sequence(Vec<DecoderWrapper>),
}

impl Decoder for DecoderWrapper {
    fn decode_chain(&self, tokens: Vec<String>) -> Result<Vec<String>> {
        Ok(match self {
            DecoderWrapper::ByteLevel => vec![byte_level(&tokens)],
            DecoderWrapper::WordPiece {
                prefix,
                cleanup: clean,
            } => tokens
                .into_iter()
                .enumerate()
                .map(|(i, t)| {
                    let t = if i == 0 {
                        t
                    } else if let Some(rest) = t.strip_prefix(prefix.as_str()) {
                        rest.to_owned()
                    } else {
                        format!(" {t}")
                    };
                    if *clean {
                        cleanup(&t)
                    } else {
                        t
                    }
                })
                .collect(),
            DecoderWrapper::Metaspace {
                replacement,
                prepend_scheme,
            } => tokens
                .into_iter()
                .enumerate()
                .map(|(i, t)| {
                    // `tokenizers` drops every replacement char of the first token (not only a
                    // leading one) unless the scheme is Never.
                    let drop = i == 0 && *prepend_scheme != PrependScheme::Never;
                    t.chars()
                        .filter_map(|c| {
                            if c == *replacement {
                                (!drop).then_some(' ')
                            } else {
                                Some(c)
                            }
                        })
                        .collect()
                })
                .collect(),
            DecoderWrapper::BPEDecoder { suffix } => {
                let n = tokens.len().saturating_sub(1);
                tokens
                    .into_iter()
                    .enumerate()
                    .map(|(i, t)| t.replace(suffix.as_str(), if i == n { "" } else { " " }))
                    .collect()
            }
            DecoderWrapper::ByteFallback => byte_fallback(tokens),
            DecoderWrapper::Fuse => vec![tokens.concat()],
            DecoderWrapper::Strip {
                content,
                start,
                stop,
            } => tokens
                .into_iter()
                .map(|t| strip(&t, *content, *start, *stop))
                .collect(),
            DecoderWrapper::Replace { pattern, content } => tokens
                .into_iter()
                .map(|t| replace(&t, pattern, content))
                .collect::<Result<_>>()?,
            DecoderWrapper::CTC {
                pad_token,
                word_delimiter_token,
                cleanup: clean,
            } => {
                let mut out = Vec::with_capacity(tokens.len());
                let mut prev: Option<String> = None;
                for t in tokens {
                    // Consecutive duplicates collapse first (CTC), then pads disappear.
                    if prev.as_deref() == Some(t.as_str()) {
                        continue;
                    }
                    let mut r = t.replace(pad_token.as_str(), "");
                    if *clean {
                        r = cleanup(&r).replace(word_delimiter_token.as_str(), " ");
                    }
                    if !r.is_empty() {
                        out.push(r);
                    }
                    prev = Some(t);
                }
                out
            }
            DecoderWrapper::Sequence(ds) => {
                let mut tokens = tokens;
                for d in ds {
                    tokens = d.decode_chain(tokens)?;
                }
                tokens
            }
        })
    }
}

fn byte_level(tokens: &[String]) -> String {
    let mut bytes = Vec::with_capacity(tokens.iter().map(String::len).sum());
    for t in tokens {
        // A token with any char outside the table is kept as its raw UTF-8 (as `tokenizers`).
        let start = bytes.len();
        let mut ok = true;
        for c in t.chars() {
            match unicode_to_byte(c) {
                Some(b) => bytes.push(b),
                None => {
                    ok = false;
                    break;
                }
            }
        }
        if !ok {
            bytes.truncate(start);
            bytes.extend_from_slice(t.as_bytes());
        }
    }
    match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

/// `tokenizers`' `wordpiece::cleanup`: undo the spaces BERT-style tokenization puts around
/// punctuation and English contractions.
pub fn cleanup(s: &str) -> String {
    s.replace(" .", ".")
        .replace(" ?", "?")
        .replace(" !", "!")
        .replace(" ,", ",")
        .replace(" ' ", "'")
        .replace(" n't", "n't")
        .replace(" 'm", "'m")
        .replace(" do not", " don't")
        .replace(" 's", "'s")
        .replace(" 've", "'ve")
        .replace(" 're", "'re")
}

/// `<0xNN>` tokens → bytes; a run of them becomes its UTF-8 string, or one U+FFFD per byte
/// when the run is not valid UTF-8 (as `tokenizers`).
fn byte_fallback(tokens: Vec<String>) -> Vec<String> {
    fn flush(run: &mut Vec<u8>, out: &mut Vec<String>) {
        if run.is_empty() {
            return;
        }
        match String::from_utf8(std::mem::take(run)) {
            Ok(s) => out.push(s),
            Err(e) => out.extend(std::iter::repeat_n(
                "\u{FFFD}".to_owned(),
                e.as_bytes().len(),
            )),
        }
    }
    let mut out = Vec::with_capacity(tokens.len());
    let mut run = Vec::new();
    for t in tokens {
        let byte = if t.len() == 6 && t.starts_with("<0x") && t.ends_with('>') {
            // Same parser as `tokenizers` (`from_str_radix`, which also takes a leading '+').
            u8::from_str_radix(&t[3..5], 16).ok()
        } else {
            None
        };
        match byte {
            Some(b) => run.push(b),
            None => {
                flush(&mut run, &mut out);
                out.push(t);
            }
        }
    }
    flush(&mut run, &mut out);
    out
}

fn strip(t: &str, content: char, start: usize, stop: usize) -> String {
    let chars: Vec<char> = t.chars().collect();
    let mut start_cut = 0;
    for (i, &c) in chars.iter().enumerate().take(start) {
        if c != content {
            break;
        }
        start_cut = i + 1;
    }
    let mut stop_cut = chars.len();
    for i in 0..stop.min(chars.len()) {
        let idx = chars.len() - i - 1;
        if chars[idx] != content {
            break;
        }
        stop_cut = idx;
    }
    // Start and stop cuts can cross on an all-`content` token; `tokenizers` would panic there.
    if start_cut >= stop_cut {
        return String::new();
    }
    chars[start_cut..stop_cut].iter().collect()
}

fn replace(t: &str, pattern: &ReplacePattern, content: &str) -> Result<String> {
    match pattern {
        ReplacePattern::String(p) if p.is_empty() => Ok(t.to_owned()),
        ReplacePattern::String(p) => Ok(t.replace(p.as_str(), content)),
        ReplacePattern::Regex(re) => {
            let mut out = String::with_capacity(t.len());
            let mut last = 0;
            for m in re.find_iter(t) {
                let m = m.map_err(|e| Error::Regex(format!("Replace decoder: {e}")))?;
                // Empty matches replace nothing (as `tokenizers`' find_matches skips them).
                if m.start() == m.end() {
                    continue;
                }
                out.push_str(&t[last..m.start()]);
                out.push_str(content);
                last = m.end();
            }
            out.push_str(&t[last..]);
            Ok(out)
        }
    }
}

type Obj = Map<String, Value>;

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn opt_string(o: &Obj, key: &str, ty: &str) -> Result<Option<String>> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v) => Err(Error::config(format!(
            "decoder ({ty}).{key}: expected a string, got {}",
            kind(v)
        ))),
    }
}

fn opt_bool(o: &Obj, key: &str, default: bool, ty: &str) -> Result<bool> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(v) => Err(Error::config(format!(
            "decoder ({ty}).{key}: expected a boolean, got {}",
            kind(v)
        ))),
    }
}

fn opt_usize(o: &Obj, key: &str, default: usize, ty: &str) -> Result<usize> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v.as_u64().map(|n| n as usize).ok_or_else(|| {
            Error::config(format!(
                "decoder ({ty}).{key}: expected a non-negative integer, got {v}"
            ))
        }),
    }
}

/// A field that must hold exactly one char (`tokenizers` deserializes it as a `char`).
fn one_char(o: &Obj, key: &str, default: Option<char>, ty: &str) -> Result<char> {
    match opt_string(o, key, ty)? {
        None => default.ok_or_else(|| Error::config(format!("decoder ({ty}): missing \"{key}\""))),
        Some(s) => {
            let mut cs = s.chars();
            match (cs.next(), cs.next()) {
                (Some(c), None) => Ok(c),
                _ => Err(Error::config(format!(
                    "decoder ({ty}).{key}: expected a single character, got {s:?}"
                ))),
            }
        }
    }
}

/// Parse the `"decoder"` section of `tokenizer.json`.
pub fn from_json(v: &Value) -> Result<DecoderWrapper> {
    let o = v
        .as_object()
        .ok_or_else(|| Error::config(format!("decoder: expected an object, got {}", kind(v))))?;
    let ty = match o.get("type") {
        Some(Value::String(s)) => s.as_str(),
        Some(other) => {
            return Err(Error::config(format!(
                "decoder.type: expected a string, got {}",
                kind(other)
            )))
        }
        None => return Err(Error::config("decoder: missing \"type\"")),
    };
    Ok(match ty {
        "ByteLevel" => DecoderWrapper::ByteLevel,
        "WordPiece" => DecoderWrapper::WordPiece {
            prefix: opt_string(o, "prefix", ty)?.unwrap_or_else(|| "##".into()),
            cleanup: opt_bool(o, "cleanup", true, ty)?,
        },
        "Metaspace" => {
            let replacement = one_char(o, "replacement", Some('▁'), ty)?;
            let prepend_scheme = match opt_string(o, "prepend_scheme", ty)?.as_deref() {
                Some("always") => PrependScheme::Always,
                Some("never") => PrependScheme::Never,
                Some("first") => PrependScheme::First,
                Some(other) => {
                    return Err(Error::config(format!(
                        "decoder (Metaspace).prepend_scheme: unknown value {other:?} (expected \"always\", \"never\" or \"first\")"
                    )))
                }
                // Older files: only `add_prefix_space` (default true).
                None => {
                    if opt_bool(o, "add_prefix_space", true, ty)? {
                        PrependScheme::Always
                    } else {
                        PrependScheme::Never
                    }
                }
            };
            DecoderWrapper::Metaspace {
                replacement,
                prepend_scheme,
            }
        }
        "BPEDecoder" => DecoderWrapper::BPEDecoder {
            suffix: opt_string(o, "suffix", ty)?.unwrap_or_else(|| "</w>".into()),
        },
        "ByteFallback" => DecoderWrapper::ByteFallback,
        "Fuse" => DecoderWrapper::Fuse,
        "Strip" => DecoderWrapper::Strip {
            content: one_char(o, "content", None, ty)?,
            start: opt_usize(o, "start", 0, ty)?,
            stop: opt_usize(o, "stop", 0, ty)?,
        },
        "Replace" => {
            let pat = o
                .get("pattern")
                .ok_or_else(|| Error::config("decoder (Replace): missing \"pattern\""))?;
            let pattern = match pat.as_object().map(|p| (p.get("String"), p.get("Regex"))) {
                Some((Some(Value::String(s)), _)) => ReplacePattern::String(s.clone()),
                Some((_, Some(Value::String(r)))) => ReplacePattern::Regex(
                    fancy_regex::Regex::new(r).map_err(|e| {
                        Error::Regex(format!("decoder (Replace): invalid pattern {r:?}: {e}"))
                    })?,
                ),
                _ => {
                    return Err(Error::config(format!(
                        "decoder (Replace).pattern: expected {{\"String\": ...}} or {{\"Regex\": ...}}, got {pat}"
                    )))
                }
            };
            let content = opt_string(o, "content", ty)?
                .ok_or_else(|| Error::config("decoder (Replace): missing \"content\""))?;
            DecoderWrapper::Replace { pattern, content }
        }
        "CTC" => DecoderWrapper::CTC {
            pad_token: opt_string(o, "pad_token", ty)?.unwrap_or_else(|| "<pad>".into()),
            word_delimiter_token: opt_string(o, "word_delimiter_token", ty)?
                .unwrap_or_else(|| "|".into()),
            cleanup: opt_bool(o, "cleanup", true, ty)?,
        },
        "Sequence" => {
            let list = o
                .get("decoders")
                .and_then(Value::as_array)
                .ok_or_else(|| Error::config("decoder (Sequence): \"decoders\" must be a list"))?;
            DecoderWrapper::Sequence(list.iter().map(from_json).collect::<Result<_>>()?)
        }
        other => {
            return Err(Error::config(format!(
                "unknown decoder type {other:?} (expected one of ByteLevel, WordPiece, Metaspace, \
                 BPEDecoder, ByteFallback, Fuse, Strip, Replace, CTC, Sequence)"
            )))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dec(v: Value, toks: &[&str]) -> String {
        from_json(&v)
            .unwrap()
            .decode(toks.iter().map(|s| s.to_string()).collect())
            .unwrap()
    }

    #[test]
    fn hand_checked() {
        assert_eq!(
            dec(json!({"type": "ByteLevel"}), &["Hello", "Ġw", "Ã©"]),
            "Hello wé"
        );
        // Invalid UTF-8 is replaced, not an error.
        assert_eq!(dec(json!({"type": "ByteLevel"}), &["Ã"]), "\u{FFFD}");
        assert_eq!(
            dec(
                json!({"type": "WordPiece"}),
                &["un", "##aff", "##able", "!"]
            ),
            "unaffable!"
        );
        assert_eq!(
            dec(
                json!({"type": "Metaspace", "replacement": "▁"}),
                &["▁Hey", "▁you"]
            ),
            "Hey you"
        );
        assert_eq!(
            dec(json!({"type": "BPEDecoder"}), &["hel", "lo</w>", "x</w>"]),
            "hello x"
        );
        assert_eq!(
            dec(json!({"type": "ByteFallback"}), &["<0xC3>", "<0xA9>", "a"]),
            "éa"
        );
        assert_eq!(
            dec(
                json!({"type": "Strip", "content": "x", "start": 9, "stop": 9}),
                &["xxx"]
            ),
            ""
        );
        assert_eq!(
            dec(json!({"type": "CTC"}), &["a", "a", "<pad>", "a", "|", "b"]),
            "aa b"
        );
        assert_eq!(
            dec(json!({"type": "Sequence", "decoders": []}), &["a", "b"]),
            "ab"
        );
        assert_eq!(dec(json!({"type": "BPEDecoder"}), &[]), "");
    }

    #[test]
    fn legacy_metaspace_without_prefix_space_is_never() {
        // `tokenizers` >= 0.19 refuses this old form; reading it as "never" keeps old files working.
        let v = json!({"type": "Metaspace", "replacement": "▁", "add_prefix_space": false});
        assert_eq!(dec(v, &["▁a", "▁b"]), " a b");
    }

    #[test]
    fn bad_configs() {
        let cases = [
            json!({"type": "Nope"}),
            json!({}),
            json!("ByteLevel"),
            json!({"type": "Metaspace", "replacement": "ab"}),
            json!({"type": "Metaspace", "prepend_scheme": "sometimes"}),
            json!({"type": "Strip", "start": 1}),
            json!({"type": "Strip", "content": " ", "start": -1}),
            json!({"type": "Replace", "pattern": {"Foo": "a"}, "content": ""}),
            json!({"type": "Replace", "pattern": {"String": "a"}}),
            json!({"type": "Sequence"}),
            json!({"type": "Sequence", "decoders": [{"type": "Nope"}]}),
            json!({"type": "WordPiece", "cleanup": "yes"}),
        ];
        for c in cases {
            let r = from_json(&c);
            assert!(matches!(r, Err(Error::Config(_))), "{c}: {r:?}");
        }
        let r = from_json(&json!({"type": "Replace", "pattern": {"Regex": "("}, "content": ""}));
        assert!(matches!(r, Err(Error::Regex(_))));
        let e = from_json(&json!({"type": "Nope"})).unwrap_err();
        assert!(e.to_string().contains("\"Nope\""));
    }
}
