//! Pre-tokenizers (the `"pre_tokenizer"` section of tokenizer.json): split the normalized
//! text into words before the model.
use super::json::{self, Obj};
use super::normalized::NormalizedString;
use super::normalized::SplitDelimiterBehavior as B;
use super::pattern::{Invert, SysRegex};
use super::pre_tokenized::PreTokenizedString;
use super::unicode_scripts::script_class;
use super::unicode_tables::{in_table, PUNCTUATION};
use super::{byte_level, Error, Result};
use serde_json::Value;
use std::sync::OnceLock;

/// The GPT-2 split pattern used by the ByteLevel pre-tokenizer.
pub const GPT2_PATTERN: &str =
    r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

fn gpt2_regex() -> &'static SysRegex {
    static RE: OnceLock<SysRegex> = OnceLock::new();
    RE.get_or_init(|| SysRegex::new(GPT2_PATTERN).expect("GPT-2 pattern compiles"))
}

fn whitespace_regex() -> &'static SysRegex {
    static RE: OnceLock<SysRegex> = OnceLock::new();
    RE.get_or_init(|| SysRegex::new_plain(r"\w+|[^\w\s]+").expect("Whitespace pattern compiles"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrependScheme {
    Always,
    First,
    Never,
}

#[derive(Debug, Clone)]
pub enum PreTokenizerWrapper {
    ByteLevel {
        add_prefix_space: bool,
        use_regex: bool,
    },
    Whitespace,
    WhitespaceSplit,
    Bert,
    Metaspace {
        replacement: char,
        prepend_scheme: PrependScheme,
        split: bool,
    },
    Split {
        regex: SysRegex,
        behavior: B,
        invert: bool,
    },
    Punctuation(B),
    Digits {
        individual_digits: bool,
    },
    CharDelimiterSplit(char),
    FixedLength(usize),
    UnicodeScripts,
    Sequence(Vec<PreTokenizerWrapper>),
}

fn behavior(o: &Obj, k: &str, default: B) -> Result<B> {
    match o.opt_str(k)? {
        None => Ok(default),
        Some(s) => B::from_name(s).ok_or_else(|| {
            Error::config(format!(
                "{}.{k}: unknown behavior {s:?} (expected Removed, Isolated, \
                 MergedWithPrevious, MergedWithNext or Contiguous)",
                o.what
            ))
        }),
    }
}

impl PreTokenizerWrapper {
    pub fn from_json(v: &Value) -> Result<Self> {
        let o = Obj::new(v, "pre_tokenizer")?;
        let ty = o.type_name()?;
        Ok(match ty {
            "ByteLevel" => PreTokenizerWrapper::ByteLevel {
                add_prefix_space: o.bool_or("add_prefix_space", true)?,
                use_regex: o.bool_or("use_regex", true)?,
            },
            "Whitespace" => PreTokenizerWrapper::Whitespace,
            "WhitespaceSplit" => PreTokenizerWrapper::WhitespaceSplit,
            "BertPreTokenizer" => PreTokenizerWrapper::Bert,
            "Metaspace" => {
                let replacement = o.char_req("replacement")?;
                let add_prefix_space = o.opt_bool("add_prefix_space")?;
                let scheme = match o.opt_str("prepend_scheme")? {
                    None => None,
                    Some("always") => Some(PrependScheme::Always),
                    Some("first") => Some(PrependScheme::First),
                    Some("never") => Some(PrependScheme::Never),
                    Some(other) => {
                        return Err(Error::config(format!(
                            "pre_tokenizer Metaspace.prepend_scheme: unknown value {other:?} \
                             (expected always, first or never)"
                        )))
                    }
                };
                // Older files only have `add_prefix_space`; when both are present they must
                // agree (as `tokenizers` checks).
                let prepend_scheme = match (add_prefix_space, scheme) {
                    (Some(true), Some(PrependScheme::Never)) => {
                        return Err(Error::config(
                            "pre_tokenizer Metaspace: add_prefix_space=true contradicts \
                             prepend_scheme=\"never\"",
                        ))
                    }
                    (_, Some(s)) => s,
                    (Some(false), None) => PrependScheme::Never,
                    _ => PrependScheme::Always,
                };
                PreTokenizerWrapper::Metaspace {
                    replacement,
                    prepend_scheme,
                    split: o.bool_or("split", true)?,
                }
            }
            "Split" => PreTokenizerWrapper::Split {
                regex: json::pattern_regex(o.req("pattern")?, "pre_tokenizer Split.pattern")?,
                behavior: {
                    o.str_req("behavior")?;
                    behavior(&o, "behavior", B::Removed)?
                },
                invert: o.bool_or("invert", false)?,
            },
            "Punctuation" => {
                PreTokenizerWrapper::Punctuation(behavior(&o, "behavior", B::Isolated)?)
            }
            "Digits" => PreTokenizerWrapper::Digits {
                individual_digits: o.bool_or("individual_digits", false)?,
            },
            "CharDelimiterSplit" => {
                PreTokenizerWrapper::CharDelimiterSplit(o.char_req("delimiter")?)
            }
            "FixedLength" => {
                let n = o.opt_u64("length")?.unwrap_or(5) as usize;
                if n == 0 {
                    return Err(Error::config(
                        "pre_tokenizer FixedLength.length must be > 0",
                    ));
                }
                PreTokenizerWrapper::FixedLength(n)
            }
            "UnicodeScripts" => PreTokenizerWrapper::UnicodeScripts,
            "Sequence" => PreTokenizerWrapper::Sequence(
                o.array_req("pretokenizers")?
                    .iter()
                    .map(PreTokenizerWrapper::from_json)
                    .collect::<Result<_>>()?,
            ),
            other => {
                return Err(Error::config(format!(
                    "unknown pre_tokenizer type {other:?} (expected one of ByteLevel, \
                     Whitespace, WhitespaceSplit, BertPreTokenizer, Metaspace, Split, \
                     Punctuation, Digits, CharDelimiterSplit, FixedLength, UnicodeScripts, \
                     Sequence)"
                )))
            }
        })
    }

    pub fn pre_tokenize(&self, pre: &mut PreTokenizedString) -> Result<()> {
        match self {
            PreTokenizerWrapper::ByteLevel {
                add_prefix_space,
                use_regex,
            } => {
                pre.split(|_, mut n| {
                    if *add_prefix_space && !n.get().starts_with(' ') {
                        n.prepend(" ");
                    }
                    if *use_regex {
                        n.split(gpt2_regex(), B::Isolated)
                    } else {
                        Ok(vec![n])
                    }
                })?;
                let table = byte_level::bytes_to_unicode();
                pre.normalize(|n| {
                    n.byte_level(table);
                    Ok(())
                })
            }
            PreTokenizerWrapper::Whitespace => {
                pre.split(|_, n| n.split(&Invert(whitespace_regex()), B::Removed))
            }
            PreTokenizerWrapper::WhitespaceSplit => {
                pre.split(|_, n| n.split(&char::is_whitespace, B::Removed))
            }
            PreTokenizerWrapper::Bert => {
                pre.split(|_, n| n.split(&char::is_whitespace, B::Removed))?;
                pre.split(|_, n| n.split(&is_punctuation, B::Isolated))
            }
            PreTokenizerWrapper::Metaspace {
                replacement,
                prepend_scheme,
                split,
            } => {
                let mut buf = [0u8; 4];
                let rep: &str = replacement.encode_utf8(&mut buf);
                pre.split(|_, mut n| {
                    n.replace(&' ', rep)?;
                    let prepend = match prepend_scheme {
                        PrependScheme::Always => !n.get().starts_with(*replacement),
                        PrependScheme::First => {
                            !n.get().starts_with(*replacement) && n.offsets_original().0 == 0
                        }
                        PrependScheme::Never => false,
                    };
                    if prepend {
                        n.prepend(rep);
                    }
                    if *split {
                        n.split(replacement, B::MergedWithNext)
                    } else {
                        Ok(vec![n])
                    }
                })
            }
            PreTokenizerWrapper::Split {
                regex,
                behavior,
                invert,
            } => {
                if *invert {
                    pre.split(|_, n| n.split(&Invert(regex), *behavior))
                } else {
                    pre.split(|_, n| n.split(regex, *behavior))
                }
            }
            PreTokenizerWrapper::Punctuation(b) => pre.split(|_, n| n.split(&is_punctuation, *b)),
            PreTokenizerWrapper::Digits { individual_digits } => {
                let b = if *individual_digits {
                    B::Isolated
                } else {
                    B::Contiguous
                };
                pre.split(|_, n| n.split(&char::is_numeric, b))
            }
            PreTokenizerWrapper::CharDelimiterSplit(d) => pre.split(|_, n| n.split(d, B::Removed)),
            PreTokenizerWrapper::FixedLength(len) => pre.split(|_, n| {
                let text = n.get();
                let idx: Vec<(usize, char)> = text.char_indices().collect();
                let mut out = Vec::with_capacity(idx.len() / len + 1);
                for chunk in idx.chunks(*len) {
                    let start = chunk[0].0;
                    let (b, c) = chunk[chunk.len() - 1];
                    if let Some(s) = n.slice(start..b + c.len_utf8()) {
                        out.push(s);
                    }
                }
                Ok(out)
            }),
            PreTokenizerWrapper::UnicodeScripts => pre.split(|_, n| Ok(split_scripts(n))),
            PreTokenizerWrapper::Sequence(v) => {
                for p in v {
                    p.pre_tokenize(pre)?;
                }
                Ok(())
            }
        }
    }
}

/// Split where the script changes, as `tokenizers`' UnicodeScripts: Any chars (space,
/// unassigned) never start a piece and do not reset the current script; leading Any chars are
/// dropped, as is a piece made only of them (that is what `tokenizers` does).
fn split_scripts(n: NormalizedString) -> Vec<NormalizedString> {
    let text = n.get();
    let mut cuts = Vec::new();
    let mut last = None;
    for (i, c) in text.char_indices() {
        let class = script_class(c);
        if class != 0 {
            if last != Some(class) {
                cuts.push(i);
            }
            last = Some(class);
        }
    }
    cuts.push(text.len());
    cuts.windows(2)
        .filter_map(|w| n.slice(w[0]..w[1]))
        .collect()
}

/// ASCII punctuation or Unicode P* (frozen table, see `unicode_tables`).
#[inline]
fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation() || in_table(PUNCTUATION, c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scripts(text: &str) -> Vec<String> {
        let mut pre = PreTokenizedString::from(text);
        PreTokenizerWrapper::UnicodeScripts
            .pre_tokenize(&mut pre)
            .unwrap();
        pre.splits
            .iter()
            .map(|s| s.normalized.get().to_owned())
            .collect()
    }

    #[test]
    fn unicode_scripts_like_tokenizers() {
        // Expected pieces are what `tokenizers` 0.22 returns for the same strings.
        assert_eq!(scripts("どこで生れ。Yes"), ["どこで生れ", "。", "Yes"]);
        assert_eq!(
            scripts("Apples are りんご 林檎"),
            ["Apples are ", "りんご 林檎"]
        );
        assert_eq!(scripts(" abc"), ["abc"]); // leading Any chars are dropped
        assert!(scripts("   ").is_empty());
        assert_eq!(scripts("a, b"), ["a", ", ", "b"]);
        assert_eq!(scripts("x\u{378}y"), ["x\u{378}y"]); // unassigned = Any
    }
}
