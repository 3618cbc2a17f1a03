//! Normalizers (the `"normalizer"` section of tokenizer.json).
use super::json::{self, Obj};
use super::normalized::NormalizedString;
use super::pattern::SysRegex;
use super::precompiled::Precompiled;
use super::unicode_tables::{in_table, BERT_CONTROL, MARK_NONSPACING};
use super::{byte_level, Error, Result};
use serde_json::Value;

#[derive(Debug, Clone)]
pub enum NormalizerWrapper {
    Bert {
        clean_text: bool,
        handle_chinese_chars: bool,
        strip_accents: bool,
        lowercase: bool,
    },
    Strip {
        left: bool,
        right: bool,
    },
    StripAccents,
    Nfc,
    Nfd,
    Nfkc,
    Nfkd,
    Lowercase,
    Nmt,
    Replace {
        regex: SysRegex,
        content: String,
    },
    Prepend(String),
    Precompiled(Box<Precompiled>),
    ByteLevel,
    Sequence(Vec<NormalizerWrapper>),
}

impl NormalizerWrapper {
    /// Parse a `"normalizer"` value (`null` is handled by the caller).
    pub fn from_json(v: &Value) -> Result<Self> {
        let o = Obj::new(v, "normalizer")?;
        let ty = o.type_name()?;
        Ok(match ty {
            "BertNormalizer" => {
                let lowercase = o.bool_or("lowercase", true)?;
                NormalizerWrapper::Bert {
                    clean_text: o.bool_or("clean_text", true)?,
                    handle_chinese_chars: o.bool_or("handle_chinese_chars", true)?,
                    // `null` follows `lowercase`, as in BERT's original code.
                    strip_accents: o.opt_bool("strip_accents")?.unwrap_or(lowercase),
                    lowercase,
                }
            }
            "Strip" => NormalizerWrapper::Strip {
                left: o.bool_or("strip_left", true)?,
                right: o.bool_or("strip_right", true)?,
            },
            "StripAccents" => NormalizerWrapper::StripAccents,
            "NFC" => NormalizerWrapper::Nfc,
            "NFD" => NormalizerWrapper::Nfd,
            "NFKC" => NormalizerWrapper::Nfkc,
            "NFKD" => NormalizerWrapper::Nfkd,
            "Lowercase" => NormalizerWrapper::Lowercase,
            "Nmt" => NormalizerWrapper::Nmt,
            "ByteLevel" => NormalizerWrapper::ByteLevel,
            "Replace" => NormalizerWrapper::Replace {
                regex: json::pattern_regex(o.req("pattern")?, "normalizer Replace.pattern")?,
                content: o.str_req("content")?.to_owned(),
            },
            "Prepend" => NormalizerWrapper::Prepend(o.str_req("prepend")?.to_owned()),
            "Precompiled" => {
                // `precompiled_charsmap` may be null/empty (then it is a no-op).
                let map =
                    match o.get("precompiled_charsmap") {
                        None | Some(Value::Null) => String::new(),
                        Some(Value::String(s)) => s.clone(),
                        Some(_) => return Err(Error::config(
                            "normalizer Precompiled.precompiled_charsmap: expected a base64 string",
                        )),
                    };
                NormalizerWrapper::Precompiled(Box::new(Precompiled::from_base64(&map)?))
            }
            "Sequence" => {
                let items = o.array_req("normalizers")?;
                NormalizerWrapper::Sequence(
                    items
                        .iter()
                        .map(NormalizerWrapper::from_json)
                        .collect::<Result<_>>()?,
                )
            }
            other => {
                return Err(Error::config(format!(
                    "unknown normalizer type {other:?} (expected one of BertNormalizer, Strip, \
                     StripAccents, NFC, NFD, NFKC, NFKD, Lowercase, Nmt, Replace, Prepend, \
                     Precompiled, ByteLevel, Sequence)"
                )))
            }
        })
    }

    pub fn normalize(&self, n: &mut NormalizedString) -> Result<()> {
        match self {
            NormalizerWrapper::Bert {
                clean_text,
                handle_chinese_chars,
                strip_accents,
                lowercase,
            } => {
                if *clean_text {
                    n.filter(|c| !(c == '\0' || c == '\u{fffd}' || is_bert_control(c)))
                        .map(|c| if is_bert_whitespace(c) { ' ' } else { c });
                }
                if *handle_chinese_chars && n.get().chars().any(is_chinese_char) {
                    let mut t: Vec<(char, isize)> = Vec::with_capacity(n.len() + 8);
                    for c in n.get().chars() {
                        if is_chinese_char(c) {
                            t.extend([(' ', 0), (c, 1), (' ', 1)]);
                        } else {
                            t.push((c, 0));
                        }
                    }
                    n.transform(t, 0);
                }
                if *strip_accents {
                    n.nfd().filter(|c| !in_table(MARK_NONSPACING, c));
                }
                if *lowercase {
                    n.lowercase();
                }
            }
            NormalizerWrapper::Strip { left, right } => {
                n.lrstrip(*left, *right);
            }
            NormalizerWrapper::StripAccents => {
                n.filter(|c| !unicode_normalization_alignments::char::is_combining_mark(c));
            }
            NormalizerWrapper::Nfc => {
                n.nfc();
            }
            NormalizerWrapper::Nfd => {
                n.nfd();
            }
            NormalizerWrapper::Nfkc => {
                n.nfkc();
            }
            NormalizerWrapper::Nfkd => {
                n.nfkd();
            }
            NormalizerWrapper::Lowercase => {
                n.lowercase();
            }
            NormalizerWrapper::Nmt => {
                n.filter(|c| {
                    !matches!(
                        c as u32,
                        0x0001..=0x0008 | 0x000B | 0x000E..=0x001F | 0x007F | 0x008F | 0x009F
                    )
                })
                .map(|c| match c as u32 {
                    0x0009
                    | 0x000A
                    | 0x000C
                    | 0x000D
                    | 0x1680
                    | 0x200B..=0x200F
                    | 0x2028
                    | 0x2029
                    | 0x2581
                    | 0xFEFF
                    | 0xFFFD => ' ',
                    _ => c,
                });
            }
            NormalizerWrapper::Replace { regex, content } => n.replace(regex, content)?,
            NormalizerWrapper::Prepend(p) => {
                if !n.is_empty() {
                    n.prepend(p);
                }
            }
            NormalizerWrapper::Precompiled(p) => p.normalize(n),
            NormalizerWrapper::ByteLevel => {
                n.byte_level(byte_level::bytes_to_unicode());
            }
            NormalizerWrapper::Sequence(v) => {
                for x in v {
                    x.normalize(n)?;
                }
            }
        }
        Ok(())
    }
}

#[inline]
fn is_bert_whitespace(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || c.is_whitespace()
}

#[inline]
fn is_bert_control(c: char) -> bool {
    !matches!(c, '\t' | '\n' | '\r') && in_table(BERT_CONTROL, c)
}

#[inline]
pub(crate) fn is_chinese_char(c: char) -> bool {
    matches!(
        c as u32,
        0x4E00..=0x9FFF
            | 0x3400..=0x4DBF
            | 0x20000..=0x2A6DF
            | 0x2A700..=0x2B73F
            | 0x2B740..=0x2B81F
            | 0x2B920..=0x2CEAF
            | 0xF900..=0xFAFF
            | 0x2F800..=0x2FA1F
    )
}
