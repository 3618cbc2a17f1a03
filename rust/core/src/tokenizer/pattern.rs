//! Patterns used to split / replace inside a [`NormalizedString`](super::normalized).
//!
//! `find_matches` returns a list of `((start, end), is_match)` byte spans covering the whole
//! input, exactly like `tokenizers`' `Pattern` trait (an empty input gives one empty
//! non-match).
use super::{Error, Result};

pub type Matches = Vec<((usize, usize), bool)>;

pub trait Pattern {
    fn find_matches(&self, inside: &str) -> Result<Matches>;
}

impl Pattern for char {
    fn find_matches(&self, inside: &str) -> Result<Matches> {
        let c = *self;
        (move |x: char| x == c).find_matches(inside)
    }
}

impl Pattern for str {
    fn find_matches(&self, inside: &str) -> Result<Matches> {
        if self.is_empty() {
            // An empty pattern matches nothing (as in `tokenizers`).
            return Ok(vec![((0, inside.len()), false)]);
        }
        if inside.is_empty() {
            return Ok(vec![((0, 0), false)]);
        }
        let mut out = Vec::new();
        let mut prev = 0;
        for (start, m) in inside.match_indices(self) {
            if prev != start {
                out.push(((prev, start), false));
            }
            out.push(((start, start + m.len()), true));
            prev = start + m.len();
        }
        if prev != inside.len() {
            out.push(((prev, inside.len()), false));
        }
        Ok(out)
    }
}

impl<F: Fn(char) -> bool> Pattern for F {
    fn find_matches(&self, inside: &str) -> Result<Matches> {
        if inside.is_empty() {
            return Ok(vec![((0, 0), false)]);
        }
        let mut out = Vec::new();
        let mut last_offset = 0;
        let mut last_seen = 0;
        for (b, c) in inside.char_indices() {
            last_seen = b + c.len_utf8();
            if self(c) {
                if last_offset < b {
                    out.push(((last_offset, b), false));
                }
                out.push(((b, last_seen), true));
                last_offset = last_seen;
            }
        }
        if last_seen > last_offset {
            out.push(((last_offset, last_seen), false));
        }
        Ok(out)
    }
}

/// Flip the `is_match` flag of another pattern.
pub struct Invert<'a, P: ?Sized>(pub &'a P);

impl<P: Pattern + ?Sized> Pattern for Invert<'_, P> {
    fn find_matches(&self, inside: &str) -> Result<Matches> {
        Ok(self
            .0
            .find_matches(inside)?
            .into_iter()
            .map(|(o, m)| (o, !m))
            .collect())
    }
}

/// A compiled regex with Oniguruma-compatible syntax (what `tokenizers` uses). Backed by
/// `fancy-regex` (look-around, possessive/atomic groups); the GPT-2 family of split
/// patterns is recognised and served by a hand-written matcher (see [`super::gpt2_split`]).
#[derive(Debug, Clone)]
pub struct SysRegex {
    source: String,
    imp: std::sync::Arc<RegexImpl>,
}

#[derive(Debug)]
enum RegexImpl {
    Fancy(Box<fancy_regex::Regex>),
    Fast(super::gpt2_split::FastSplit),
}

impl SysRegex {
    pub fn new(pattern: &str) -> Result<Self> {
        if let Some(fast) = super::gpt2_split::FastSplit::recognise(pattern) {
            return Ok(Self {
                source: pattern.to_owned(),
                imp: std::sync::Arc::new(RegexImpl::Fast(fast)),
            });
        }
        let translated = translate_onig(pattern);
        let re = fancy_regex::RegexBuilder::new(&translated)
            .backtrack_limit(10_000_000)
            .build()
            .map_err(|e| Error::Regex(format!("pattern {pattern:?} does not compile: {e}")))?;
        Ok(Self {
            source: pattern.to_owned(),
            imp: std::sync::Arc::new(RegexImpl::Fancy(Box::new(re))),
        })
    }

    /// A pattern with the `regex` crate's semantics (no Oniguruma translation, no fast
    /// path): what `tokenizers` uses for its own built-in patterns such as Whitespace.
    pub fn new_plain(pattern: &str) -> Result<Self> {
        let re = fancy_regex::Regex::new(pattern)
            .map_err(|e| Error::Regex(format!("pattern {pattern:?} does not compile: {e}")))?;
        Ok(Self {
            source: pattern.to_owned(),
            imp: std::sync::Arc::new(RegexImpl::Fancy(Box::new(re))),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Non-overlapping matches, left to right, as byte spans.
    pub fn find_iter(&self, inside: &str, out: &mut Vec<(usize, usize)>) -> Result<()> {
        match &*self.imp {
            RegexImpl::Fast(f) => {
                f.find_iter(inside, out);
                Ok(())
            }
            RegexImpl::Fancy(re) => {
                for m in re.find_iter(inside) {
                    let m = m.map_err(|e| {
                        Error::Regex(format!("pattern {:?} failed: {e}", self.source))
                    })?;
                    out.push((m.start(), m.end()));
                }
                Ok(())
            }
        }
    }
}

/// `\w` as Oniguruma (UTF-8) has it, written for the `regex` crate: the `regex` `\w` minus
/// Join_Control (ZWNJ/ZWJ), plus the Latin-1 digits/fractions `²³¹¼½¾` (outside a class only;
/// inside a class Oniguruma uses the plain Unicode definition). Checked over every code point
/// against `tokenizers` in tests/tokenizers/test_unicode_tables.py.
const ONIG_WORD: &str = r"\p{Alphabetic}\p{M}\p{Nd}\p{Pc}";
const ONIG_WORD_LATIN1: &str = r"\u{B2}\u{B3}\u{B9}\u{BC}-\u{BE}";

/// Small syntax/semantic differences between Oniguruma (Ruby syntax, what `tokenizers` uses
/// for user patterns) and fancy-regex/regex.
fn translate_onig(p: &str) -> String {
    let mut out = String::with_capacity(p.len() + 16);
    let mut chars = p.chars().peekable();
    let mut depth = 0usize; // character class nesting
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(n) = chars.next() else {
                    out.push('\\');
                    break;
                };
                match n {
                    // `\h` is a hex digit in Oniguruma.
                    'h' if depth > 0 => out.push_str("0-9a-fA-F"),
                    'h' => out.push_str("[0-9a-fA-F]"),
                    'w' if depth > 0 => out.push_str(ONIG_WORD),
                    'w' => {
                        out.push('[');
                        out.push_str(ONIG_WORD);
                        out.push_str(ONIG_WORD_LATIN1);
                        out.push(']');
                    }
                    'W' if depth == 0 => {
                        out.push_str("[^");
                        out.push_str(ONIG_WORD);
                        out.push_str(ONIG_WORD_LATIN1);
                        out.push(']');
                    }
                    _ => {
                        out.push('\\');
                        out.push(n);
                    }
                }
            }
            '[' => {
                depth += 1;
                out.push(c);
                // A `]` right after `[` or `[^` is a literal.
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                if chars.peek() == Some(&']') {
                    out.push_str("\\]");
                    chars.next();
                }
            }
            ']' if depth > 0 => {
                depth -= 1;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

impl Pattern for SysRegex {
    fn find_matches(&self, inside: &str) -> Result<Matches> {
        if inside.is_empty() {
            return Ok(vec![((0, 0), false)]);
        }
        let mut found = Vec::new();
        self.find_iter(inside, &mut found)?;
        let mut out = Vec::with_capacity(found.len() * 2 + 1);
        let mut prev = 0;
        for (start, end) in found {
            if prev != start {
                out.push(((prev, start), false));
            }
            out.push(((start, end), true));
            prev = end;
        }
        if prev != inside.len() {
            out.push(((prev, inside.len()), false));
        }
        Ok(out)
    }
}

/// Escape a literal string for use as a regex (like `regex::escape`).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '.'
                | '+'
                | '*'
                | '?'
                | '('
                | ')'
                | '|'
                | '['
                | ']'
                | '{'
                | '}'
                | '^'
                | '$'
                | '#'
                | '&'
                | '-'
                | '~'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_matches_cover_input() {
        let re = SysRegex::new(r"\s+").unwrap();
        let m = re.find_matches("a  b c").unwrap();
        assert_eq!(
            m,
            vec![
                ((0, 1), false),
                ((1, 3), true),
                ((3, 4), false),
                ((4, 5), true),
                ((5, 6), false)
            ]
        );
        assert_eq!(re.find_matches("").unwrap(), vec![((0, 0), false)]);
    }

    #[test]
    fn bad_regex_is_error() {
        assert!(matches!(SysRegex::new("(unclosed"), Err(Error::Regex(_))));
    }

    #[test]
    fn str_and_char() {
        assert_eq!(
            "--".find_matches("a--b").unwrap(),
            vec![((0, 1), false), ((1, 3), true), ((3, 4), false)]
        );
        assert_eq!("".find_matches("ab").unwrap(), vec![((0, 2), false)]);
        assert_eq!(
            'é'.find_matches("aéb").unwrap(),
            vec![((0, 1), false), ((1, 3), true), ((3, 4), false)]
        );
    }
}
