//! Small helpers to read tokenizer.json components with errors that name the field.
use super::pattern::{escape, SysRegex};
use super::{Error, Result};
use serde_json::{Map, Value};

/// A JSON object of one component (`what` names it in error messages).
pub(crate) struct Obj<'a> {
    pub map: &'a Map<String, Value>,
    pub what: &'a str,
}

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

impl<'a> Obj<'a> {
    pub fn new(v: &'a Value, what: &'a str) -> Result<Self> {
        match v.as_object() {
            Some(map) => Ok(Self { map, what }),
            None => Err(Error::config(format!(
                "{what}: expected an object, got {}",
                kind(v)
            ))),
        }
    }

    pub fn type_name(&self) -> Result<&'a str> {
        match self.map.get("type") {
            Some(Value::String(s)) => Ok(s),
            Some(other) => Err(Error::config(format!(
                "{}.type: expected a string, got {}",
                self.what,
                kind(other)
            ))),
            None => Err(Error::config(format!("{}: missing \"type\"", self.what))),
        }
    }

    pub fn get(&self, k: &str) -> Option<&'a Value> {
        self.map.get(k)
    }

    pub fn req(&self, k: &str) -> Result<&'a Value> {
        match self.map.get(k) {
            Some(v) if !v.is_null() => Ok(v),
            _ => Err(Error::config(format!("{}: missing field {k:?}", self.what))),
        }
    }

    fn bad(&self, k: &str, expected: &str, v: &Value) -> Error {
        Error::config(format!(
            "{}.{k}: expected {expected}, got {}",
            self.what,
            kind(v)
        ))
    }

    pub fn opt_bool(&self, k: &str) -> Result<Option<bool>> {
        match self.map.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(self.bad(k, "a boolean", v)),
        }
    }

    pub fn bool_or(&self, k: &str, default: bool) -> Result<bool> {
        Ok(self.opt_bool(k)?.unwrap_or(default))
    }

    pub fn opt_str(&self, k: &str) -> Result<Option<&'a str>> {
        match self.map.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(self.bad(k, "a string", v)),
        }
    }

    pub fn str_req(&self, k: &str) -> Result<&'a str> {
        match self.map.get(k) {
            Some(Value::String(s)) => Ok(s),
            Some(v) if !v.is_null() => Err(self.bad(k, "a string", v)),
            _ => Err(Error::config(format!("{}: missing field {k:?}", self.what))),
        }
    }

    pub fn opt_u64(&self, k: &str) -> Result<Option<u64>> {
        match self.map.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| self.bad(k, "a non-negative integer", v)),
        }
    }

    pub fn array_req(&self, k: &str) -> Result<&'a Vec<Value>> {
        match self.map.get(k) {
            Some(Value::Array(a)) => Ok(a),
            Some(v) if !v.is_null() => Err(self.bad(k, "a list", v)),
            _ => Err(Error::config(format!("{}: missing field {k:?}", self.what))),
        }
    }

    /// A single char given as a one-char string.
    pub fn char_req(&self, k: &str) -> Result<char> {
        let s = self.str_req(k)?;
        let mut it = s.chars();
        match (it.next(), it.next()) {
            (Some(c), None) => Ok(c),
            _ => Err(Error::config(format!(
                "{}.{k}: expected a single character, got {s:?}",
                self.what
            ))),
        }
    }
}

/// Build the regex of a `{"String": s}` / `{"Regex": r}` pattern object (a bare string is
/// taken as a literal, like old serialisations).
pub(crate) fn pattern_regex(pattern: &Value, what: &str) -> Result<SysRegex> {
    if let Some(s) = pattern.as_str() {
        return SysRegex::new(&escape(s));
    }
    let o = pattern.as_object();
    if let Some(s) = o.and_then(|o| o.get("String")).and_then(Value::as_str) {
        return SysRegex::new(&escape(s));
    }
    if let Some(r) = o.and_then(|o| o.get("Regex")).and_then(Value::as_str) {
        return SysRegex::new(r);
    }
    Err(Error::config(format!(
        "{what}: expected {{\"String\": ..}} or {{\"Regex\": ..}}, got {}",
        kind(pattern)
    )))
}
