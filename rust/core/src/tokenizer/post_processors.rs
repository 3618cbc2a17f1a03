//! Post-processors (the `"post_processor"` section): add special tokens, set type ids,
//! merge the pair, fix byte-level offsets.
use super::encoding::Encoding;
use super::json::{kind, Obj};
use super::{byte_level, Error, Result};
use serde_json::Value;
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Input sequence 0 (`A`) or 1 (`B`).
    Sequence {
        id: usize,
        type_id: u32,
    },
    SpecialToken {
        id: String,
        type_id: u32,
    },
}

#[derive(Debug, Clone)]
pub struct SpecialToken {
    pub ids: Vec<u32>,
    pub tokens: Vec<String>,
}

#[derive(Debug, Clone)]
pub enum PostProcessorWrapper {
    Bert {
        sep: (String, u32),
        cls: (String, u32),
    },
    Roberta {
        sep: (String, u32),
        cls: (String, u32),
        trim_offsets: bool,
        add_prefix_space: bool,
    },
    ByteLevel {
        trim_offsets: bool,
        add_prefix_space: bool,
    },
    Template {
        single: Vec<Piece>,
        pair: Vec<Piece>,
        special_tokens: HashMap<String, SpecialToken>,
    },
    Sequence(Vec<PostProcessorWrapper>),
}

fn token_pair(o: &Obj, k: &str) -> Result<(String, u32)> {
    let v = o.req(k)?;
    let bad = || {
        Error::config(format!(
            "{}.{k}: expected [token, id], got {}",
            o.what,
            kind(v)
        ))
    };
    let a = v.as_array().ok_or_else(bad)?;
    match a.as_slice() {
        [Value::String(s), id] => {
            let id = id
                .as_u64()
                .filter(|x| *x <= u32::MAX as u64)
                .ok_or_else(bad)?;
            Ok((s.clone(), id as u32))
        }
        _ => Err(bad()),
    }
}

/// `"$A"`, `"$B:1"`, `"$0"`, `"[CLS]"`, `"[SEP]:1"` (template strings).
fn parse_piece_str(s: &str) -> Result<Piece> {
    let (name, type_id) = match s.rsplit_once(':') {
        Some((n, t)) if !t.is_empty() && t.chars().all(|c| c.is_ascii_digit()) => {
            let t: u32 = t
                .parse()
                .map_err(|_| Error::config(format!("template piece {s:?}: bad type id")))?;
            (n, Some(t))
        }
        _ => (s, None),
    };
    if let Some(rest) = name.strip_prefix('$') {
        let (id, tid) = match rest {
            "" | "A" | "a" => (0, type_id.unwrap_or(0)),
            "B" | "b" => (1, type_id.unwrap_or(0)),
            digits if digits.chars().all(|c| c.is_ascii_digit()) && type_id.is_none() => (
                0,
                digits
                    .parse()
                    .map_err(|_| Error::config(format!("template piece {s:?}: bad type id")))?,
            ),
            _ => {
                return Err(Error::config(format!(
                    "template piece {s:?}: unknown sequence"
                )))
            }
        };
        Ok(Piece::Sequence { id, type_id: tid })
    } else {
        Ok(Piece::SpecialToken {
            id: name.to_owned(),
            type_id: type_id.unwrap_or(0),
        })
    }
}

fn parse_piece(v: &Value) -> Result<Piece> {
    if let Some(s) = v.as_str() {
        return parse_piece_str(s);
    }
    let bad = || Error::config(format!("post_processor TemplateProcessing: bad piece {v}"));
    let o = v.as_object().ok_or_else(bad)?;
    let type_id = |x: &Value| -> Result<u32> {
        Ok(match x.get("type_id") {
            None | Some(Value::Null) => 0,
            Some(t) => t
                .as_u64()
                .filter(|t| *t <= u32::MAX as u64)
                .ok_or_else(bad)? as u32,
        })
    };
    if let Some(x) = o.get("Sequence") {
        let id = match x.get("id").and_then(Value::as_str) {
            Some("A") => 0,
            Some("B") => 1,
            _ => return Err(bad()),
        };
        return Ok(Piece::Sequence {
            id,
            type_id: type_id(x)?,
        });
    }
    if let Some(x) = o.get("SpecialToken") {
        let id = x.get("id").and_then(Value::as_str).ok_or_else(bad)?;
        return Ok(Piece::SpecialToken {
            id: id.to_owned(),
            type_id: type_id(x)?,
        });
    }
    Err(bad())
}

fn parse_template(v: &Value, what: &str) -> Result<Vec<Piece>> {
    match v {
        Value::String(s) => s.split_whitespace().map(parse_piece_str).collect(),
        Value::Array(a) => a.iter().map(parse_piece).collect(),
        _ => Err(Error::config(format!(
            "post_processor TemplateProcessing.{what}: expected a list, got {}",
            kind(v)
        ))),
    }
}

impl PostProcessorWrapper {
    pub fn from_json(v: &Value) -> Result<Self> {
        let o = Obj::new(v, "post_processor")?;
        let ty = o.type_name()?;
        Ok(match ty {
            "BertProcessing" => PostProcessorWrapper::Bert {
                sep: token_pair(&o, "sep")?,
                cls: token_pair(&o, "cls")?,
            },
            "RobertaProcessing" => PostProcessorWrapper::Roberta {
                sep: token_pair(&o, "sep")?,
                cls: token_pair(&o, "cls")?,
                trim_offsets: o.bool_or("trim_offsets", true)?,
                add_prefix_space: o.bool_or("add_prefix_space", true)?,
            },
            "ByteLevel" => PostProcessorWrapper::ByteLevel {
                trim_offsets: o.bool_or("trim_offsets", true)?,
                add_prefix_space: o.bool_or("add_prefix_space", true)?,
            },
            "TemplateProcessing" => {
                let single = parse_template(o.req("single")?, "single")?;
                let pair = parse_template(o.req("pair")?, "pair")?;
                let mut special_tokens = HashMap::new();
                if let Some(st) = o.get("special_tokens").filter(|x| !x.is_null()) {
                    let st = st.as_object().ok_or_else(|| {
                        Error::config(
                            "post_processor TemplateProcessing.special_tokens: expected an object",
                        )
                    })?;
                    for (name, t) in st {
                        let to = Obj::new(t, "post_processor TemplateProcessing.special_tokens")?;
                        let ids = to
                            .array_req("ids")?
                            .iter()
                            .map(|x| {
                                x.as_u64()
                                    .filter(|x| *x <= u32::MAX as u64)
                                    .map(|x| x as u32)
                            })
                            .collect::<Option<Vec<u32>>>()
                            .ok_or_else(|| {
                                Error::config(format!("special token {name:?}: bad ids"))
                            })?;
                        let tokens = to
                            .array_req("tokens")?
                            .iter()
                            .map(|x| x.as_str().map(str::to_owned))
                            .collect::<Option<Vec<String>>>()
                            .ok_or_else(|| {
                                Error::config(format!("special token {name:?}: bad tokens"))
                            })?;
                        if ids.len() != tokens.len() {
                            return Err(Error::config(format!(
                                "special token {name:?}: ids and tokens differ in length"
                            )));
                        }
                        special_tokens.insert(name.clone(), SpecialToken { ids, tokens });
                    }
                }
                for p in single.iter().chain(pair.iter()) {
                    if let Piece::SpecialToken { id, .. } = p {
                        if !special_tokens.contains_key(id) {
                            return Err(Error::config(format!(
                                "post_processor TemplateProcessing: missing special token {id:?}"
                            )));
                        }
                    }
                }
                PostProcessorWrapper::Template {
                    single,
                    pair,
                    special_tokens,
                }
            }
            "Sequence" => PostProcessorWrapper::Sequence(
                o.array_req("processors")?
                    .iter()
                    .map(PostProcessorWrapper::from_json)
                    .collect::<Result<_>>()?,
            ),
            other => {
                return Err(Error::config(format!(
                    "unknown post_processor type {other:?} (expected one of TemplateProcessing, \
                     BertProcessing, RobertaProcessing, ByteLevel, Sequence)"
                )))
            }
        })
    }

    /// Number of special tokens added for a single input or a pair.
    pub fn added_tokens(&self, is_pair: bool) -> usize {
        match self {
            PostProcessorWrapper::Bert { .. } | PostProcessorWrapper::Roberta { .. } => {
                if is_pair {
                    if matches!(self, PostProcessorWrapper::Bert { .. }) {
                        3
                    } else {
                        4
                    }
                } else {
                    2
                }
            }
            PostProcessorWrapper::ByteLevel { .. } => 0,
            PostProcessorWrapper::Template {
                single,
                pair,
                special_tokens,
            } => {
                let t = if is_pair { pair } else { single };
                t.iter()
                    .map(|p| match p {
                        Piece::Sequence { .. } => 0,
                        Piece::SpecialToken { id, .. } => {
                            special_tokens.get(id).map_or(0, |s| s.ids.len())
                        }
                    })
                    .sum()
            }
            PostProcessorWrapper::Sequence(v) => v.iter().map(|p| p.added_tokens(is_pair)).sum(),
        }
    }

    /// Process one input (and its pair): the `PostProcessor::process` of `tokenizers`.
    pub fn process(
        &self,
        encoding: Encoding,
        pair: Option<Encoding>,
        add_special_tokens: bool,
    ) -> Result<Encoding> {
        let mut encodings = vec![encoding];
        encodings.extend(pair);
        for (i, e) in encodings.iter_mut().enumerate() {
            e.set_sequence_id(i);
            for o in &mut e.overflowing {
                o.set_sequence_id(i);
            }
            e.set_type_ids(i as u32);
        }
        let encodings = self.process_encodings(encodings, add_special_tokens)?;
        Ok(Encoding::merge(encodings, false))
    }

    fn process_encodings(
        &self,
        mut encodings: Vec<Encoding>,
        add_special_tokens: bool,
    ) -> Result<Vec<Encoding>> {
        match self {
            PostProcessorWrapper::ByteLevel {
                trim_offsets,
                add_prefix_space,
            } => {
                if *trim_offsets {
                    for e in encodings.iter_mut() {
                        process_offsets(e, *add_prefix_space);
                        for o in &mut e.overflowing {
                            process_offsets(o, *add_prefix_space);
                        }
                    }
                }
                for (i, e) in encodings.iter_mut().enumerate() {
                    e.set_sequence_id(i);
                }
                Ok(encodings)
            }
            PostProcessorWrapper::Bert { sep, cls } => {
                if !add_special_tokens {
                    return Ok(encodings);
                }
                Ok(encodings
                    .into_iter()
                    .enumerate()
                    .map(|(i, mut e)| {
                        let overflowing = std::mem::take(&mut e.overflowing);
                        let wrap = |e: Encoding| {
                            if i == 0 {
                                surround(e, Some((cls, 0)), (sep, 0), 0)
                            } else {
                                surround(e, None, (sep, 1), 1)
                            }
                        };
                        let mut out = wrap(e);
                        out.overflowing = overflowing.into_iter().map(wrap).collect();
                        out
                    })
                    .collect())
            }
            PostProcessorWrapper::Roberta {
                sep,
                cls,
                trim_offsets,
                add_prefix_space,
            } => {
                if *trim_offsets {
                    for e in encodings.iter_mut() {
                        process_offsets(e, *add_prefix_space);
                        for o in &mut e.overflowing {
                            process_offsets(o, *add_prefix_space);
                        }
                    }
                }
                // RoBERTa: every token has type id 0.
                for e in encodings.iter_mut() {
                    e.set_type_ids(0);
                }
                if !add_special_tokens {
                    return Ok(encodings);
                }
                Ok(encodings
                    .into_iter()
                    .enumerate()
                    .map(|(i, mut e)| {
                        let overflowing = std::mem::take(&mut e.overflowing);
                        let wrap = |mut e: Encoding| {
                            e.set_type_ids(0);
                            if i == 0 {
                                surround(e, Some((cls, 0)), (sep, 0), 0)
                            } else {
                                surround(e, Some((sep, 0)), (sep, 0), 1)
                            }
                        };
                        let mut out = wrap(e);
                        out.overflowing = overflowing.into_iter().map(wrap).collect();
                        out
                    })
                    .collect())
            }
            PostProcessorWrapper::Template {
                single,
                pair,
                special_tokens,
            } => {
                let template = if encodings.len() == 2 { pair } else { single };
                let mut out = Vec::with_capacity(template.len());
                for piece in template {
                    match piece {
                        Piece::Sequence { id, type_id } => {
                            let Some(e) = encodings.get_mut(*id) else {
                                return Err(Error::Encode(
                                    "template refers to a pair sequence that was not given".into(),
                                ));
                            };
                            e.set_type_ids(*type_id);
                            e.set_sequence_id(*id);
                            out.push(e.clone());
                        }
                        Piece::SpecialToken { id, type_id } => {
                            if add_special_tokens {
                                let Some(t) = special_tokens.get(id) else {
                                    return Err(Error::Encode(format!(
                                        "template special token {id:?} not defined"
                                    )));
                                };
                                out.push(Encoding::special(
                                    t.ids.clone(),
                                    t.tokens.clone(),
                                    *type_id,
                                ));
                            }
                        }
                    }
                }
                Ok(out)
            }
            PostProcessorWrapper::Sequence(v) => {
                for p in v {
                    encodings = p.process_encodings(encodings, add_special_tokens)?;
                }
                Ok(encodings)
            }
        }
    }
}

/// `[first] e last` with the sequence range covering `e` only.
fn surround(
    e: Encoding,
    first: Option<(&(String, u32), u32)>,
    last: (&(String, u32), u32),
    seq_id: usize,
) -> Encoding {
    let mut out = Encoding::with_capacity(e.len() + 2);
    if let Some(((tok, id), type_id)) = first {
        out.merge_with(
            Encoding::special(vec![*id], vec![tok.clone()], type_id),
            false,
        );
    }
    let start = out.len();
    let n = e.len();
    out.ids.extend(e.ids);
    out.type_ids.extend(e.type_ids);
    out.tokens.extend(e.tokens);
    out.words.extend(e.words);
    out.offsets.extend(e.offsets);
    out.special_tokens_mask.extend(std::iter::repeat_n(0, n));
    out.attention_mask.extend(std::iter::repeat_n(1, n));
    let ((tok, id), type_id) = last;
    out.merge_with(
        Encoding::special(vec![*id], vec![tok.clone()], type_id),
        false,
    );
    out.sequence_ranges.clear();
    out.sequence_ranges.insert(seq_id, start..start + n);
    out
}

/// Trim the leading/trailing spaces (`Ġ` or whitespace) out of byte-level token offsets.
pub(crate) fn process_offsets(e: &mut Encoding, add_prefix_space: bool) {
    let space = byte_level::bytes_to_unicode()[b' ' as usize];
    let is_space = |c: &char| *c == space || c.is_whitespace();
    for (i, (token, offsets)) in e.tokens.iter().zip(e.offsets.iter_mut()).enumerate() {
        let mut leading = token.chars().take_while(is_space).count();
        let trailing = token.chars().rev().take_while(is_space).count();
        if leading > 0 || trailing > 0 {
            if leading > 0 {
                let is_first = i == 0 || offsets.0 == 0;
                if is_first && add_prefix_space && leading == 1 {
                    // The one space we added ourselves is not trimmed.
                    leading = 0;
                }
                offsets.0 = (offsets.0 + leading).min(offsets.1);
            }
            if trailing > 0 && offsets.1 >= trailing {
                offsets.1 = (offsets.1 - trailing).max(offsets.0);
            }
        }
    }
}
