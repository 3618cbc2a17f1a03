//! Shared helpers for the models: JSON field access with clear errors, the id → token table.
use crate::tokenizer::{Error, Result};
use rustc_hash::FxHashMap;
use serde_json::{Map, Value};

pub(crate) type Obj = Map<String, Value>;

/// A short name of a JSON value's kind, for error messages.
pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Optional string field (`null` or missing → `None`).
pub(crate) fn opt_str(obj: &Obj, key: &str, ctx: &str) -> Result<Option<String>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v) => Err(Error::config(format!(
            "{ctx}.{key}: expected a string, got {}",
            kind(v)
        ))),
    }
}

/// Optional boolean field with a default.
pub(crate) fn opt_bool(obj: &Obj, key: &str, default: bool, ctx: &str) -> Result<bool> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(v) => Err(Error::config(format!(
            "{ctx}.{key}: expected a boolean, got {}",
            kind(v)
        ))),
    }
}

/// Optional non-negative integer field.
pub(crate) fn opt_usize(obj: &Obj, key: &str, ctx: &str) -> Result<Option<usize>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64() {
            Some(n) => Ok(Some(usize::try_from(n).unwrap_or(usize::MAX))),
            None => Err(Error::config(format!(
                "{ctx}.{key}: expected a non-negative integer, got {v}"
            ))),
        },
    }
}

/// Optional float field.
pub(crate) fn opt_f64(obj: &Obj, key: &str, ctx: &str) -> Result<Option<f64>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_f64().map(Some).ok_or_else(|| {
            Error::config(format!("{ctx}.{key}: expected a number, got {}", kind(v)))
        }),
    }
}

/// A `{"token": id, ...}` vocabulary.
pub(crate) fn vocab_map(obj: &Obj, ctx: &str) -> Result<Vec<(String, u32)>> {
    let v = obj
        .get("vocab")
        .ok_or_else(|| Error::config(format!("{ctx}: missing \"vocab\"")))?;
    let m = v.as_object().ok_or_else(|| {
        Error::config(format!(
            "{ctx}.vocab: expected an object {{token: id}}, got {}",
            kind(v)
        ))
    })?;
    let mut out = Vec::with_capacity(m.len());
    for (tok, id) in m {
        let id = id
            .as_u64()
            .filter(|&n| n <= u32::MAX as u64)
            .ok_or_else(|| Error::config(format!("{ctx}.vocab[{tok:?}]: invalid id {id}")))?;
        out.push((tok.clone(), id as u32));
    }
    Ok(out)
}

/// Id → token string. Dense vector when ids are reasonably packed (the normal case), a hash
/// map otherwise so a hostile id like 4e9 cannot make us allocate gigabytes.
#[derive(Debug, Clone)]
pub(crate) enum IdTable {
    Dense(Vec<Option<Box<str>>>),
    Sparse(FxHashMap<u32, Box<str>>),
}

impl IdTable {
    /// Later entries win on duplicate ids (deterministic, unlike a hash map's order).
    pub(crate) fn new<'a>(entries: impl Iterator<Item = (&'a str, u32)> + Clone) -> Self {
        let (n, max) = entries
            .clone()
            .fold((0usize, None::<u32>), |(n, m), (_, id)| {
                (n + 1, Some(m.map_or(id, |m: u32| m.max(id))))
            });
        match max {
            Some(max) if (max as usize) > n.saturating_mul(4) + 65_536 => {
                IdTable::Sparse(entries.map(|(t, id)| (id, Box::from(t))).collect())
            }
            _ => {
                let mut v = vec![None; max.map_or(0, |m| m as usize + 1)];
                for (t, id) in entries {
                    v[id as usize] = Some(Box::from(t));
                }
                IdTable::Dense(v)
            }
        }
    }

    #[inline]
    pub(crate) fn get(&self, id: u32) -> Option<&str> {
        match self {
            IdTable::Dense(v) => v.get(id as usize).and_then(|s| s.as_deref()),
            IdTable::Sparse(m) => m.get(&id).map(|s| &**s),
        }
    }
}

/// Build the token → id map; on duplicate tokens the last entry wins (as a `HashMap` insert
/// in `tokenizers` does).
pub(crate) fn token_map(entries: &[(String, u32)]) -> FxHashMap<String, u32> {
    let mut m = FxHashMap::with_capacity_and_hasher(entries.len(), Default::default());
    for (t, id) in entries {
        m.insert(t.clone(), *id);
    }
    m
}
