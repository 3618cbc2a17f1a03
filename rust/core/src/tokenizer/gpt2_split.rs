//! Hand-written matchers for the three split regexes almost every byte-level BPE tokenizer
//! uses (GPT-2, Llama-3, Qwen2). fancy-regex has to run them on its backtracking VM because
//! of the `\s+(?!\S)` look-ahead; these matchers give the same spans without backtracking.
//! Equality with fancy-regex is checked on random strings in the tests below, and with
//! `tokenizers` (Oniguruma) in tests/tokenizers.
use std::sync::OnceLock;

const GPT2: &str = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";
const LLAMA3: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const QWEN2: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FastSplit {
    Gpt2,
    /// Llama-3 (`max_digits` = 3) and Qwen2 (`max_digits` = 1).
    Llama3 {
        max_digits: usize,
    },
}

struct Tables {
    letter: Vec<(u32, u32)>,
    number: Vec<(u32, u32)>,
}

/// `\p{L}` and `\p{N}` from regex-syntax, so that they are exactly fancy-regex's classes.
fn tables() -> &'static Tables {
    static T: OnceLock<Tables> = OnceLock::new();
    T.get_or_init(|| {
        let class = |p: &str| -> Vec<(u32, u32)> {
            use regex_syntax::hir::{Class, HirKind};
            match regex_syntax::parse(p).map(|h| h.kind().clone()) {
                Ok(HirKind::Class(Class::Unicode(c))) => c
                    .ranges()
                    .iter()
                    .map(|r| (r.start() as u32, r.end() as u32))
                    .collect(),
                _ => Vec::new(),
            }
        };
        Tables {
            letter: class(r"\p{L}"),
            number: class(r"\p{N}"),
        }
    })
}

#[inline]
fn in_ranges(t: &[(u32, u32)], c: char) -> bool {
    let c = c as u32;
    t.binary_search_by(|&(lo, hi)| {
        if hi < c {
            std::cmp::Ordering::Less
        } else if lo > c {
            std::cmp::Ordering::Greater
        } else {
            std::cmp::Ordering::Equal
        }
    })
    .is_ok()
}

#[inline]
fn is_l(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphabetic()
    } else {
        in_ranges(&tables().letter, c)
    }
}

#[inline]
fn is_n(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_digit()
    } else {
        in_ranges(&tables().number, c)
    }
}

/// `\s` (Unicode White_Space, same as Rust's `char::is_whitespace`).
#[inline]
fn is_s(c: char) -> bool {
    c.is_whitespace()
}

#[inline]
fn is_other(c: char) -> bool {
    !is_s(c) && !is_l(c) && !is_n(c)
}

#[inline]
fn char_at(s: &str, i: usize) -> Option<char> {
    s[i..].chars().next()
}

/// End of the run of chars satisfying `f` starting at `i`.
#[inline]
fn run(s: &str, i: usize, f: impl Fn(char) -> bool) -> usize {
    match s[i..].char_indices().find(|&(_, c)| !f(c)) {
        Some((k, _)) => i + k,
        None => s.len(),
    }
}

/// `'s|'t|'re|'ve|'m|'ll|'d` at `i` (just after the apostrophe), optionally ignoring case.
fn contraction(s: &str, i: usize, ignore_case: bool) -> Option<usize> {
    let rest = &s[i..];
    let mut chars = rest.chars();
    let fold = |c: char| -> char {
        if !ignore_case {
            return c;
        }
        match c {
            // Unicode simple case folding: U+017F LONG S folds to `s`.
            '\u{17F}' => 's',
            _ => c.to_ascii_lowercase(),
        }
    };
    let a = fold(chars.next()?);
    let a_len = rest.chars().next()?.len_utf8();
    match a {
        's' | 't' | 'm' | 'd' => Some(i + a_len),
        'r' | 'v' | 'l' => {
            let b = chars.next()?;
            let want = if a == 'l' { 'l' } else { 'e' };
            if fold(b) == want {
                Some(i + a_len + b.len_utf8())
            } else {
                None
            }
        }
        _ => None,
    }
}

impl FastSplit {
    pub fn recognise(pattern: &str) -> Option<Self> {
        match pattern {
            GPT2 => Some(FastSplit::Gpt2),
            LLAMA3 => Some(FastSplit::Llama3 { max_digits: 3 }),
            QWEN2 => Some(FastSplit::Llama3 { max_digits: 1 }),
            _ => None,
        }
    }

    /// All matches, left to right (every position starts a match with these patterns).
    pub fn find_iter(&self, s: &str, out: &mut Vec<(usize, usize)>) {
        let mut i = 0;
        while i < s.len() {
            let end = match self {
                FastSplit::Gpt2 => gpt2_at(s, i),
                FastSplit::Llama3 { max_digits } => llama3_at(s, i, *max_digits),
            };
            // Both matchers always consume at least one char; guard anyway.
            let end = if end > i {
                end
            } else {
                i + char_at(s, i).map_or(1, char::len_utf8)
            };
            out.push((i, end));
            i = end;
        }
    }
}

/// `\s+(?!\S)|\s+` at `i` (a whitespace char).
fn trailing_ws(s: &str, i: usize) -> usize {
    let j = run(s, i, is_s);
    if j == s.len() {
        return j;
    }
    // Give back the last whitespace char so that it can lead the next word.
    let last = s[i..j].char_indices().next_back().map_or(i, |(k, _)| i + k);
    if last > i {
        last
    } else {
        j
    }
}

fn gpt2_at(s: &str, i: usize) -> usize {
    let Some(c) = char_at(s, i) else {
        return s.len();
    };
    let cl = c.len_utf8();
    if c == '\'' {
        if let Some(e) = contraction(s, i + 1, false) {
            return e;
        }
    }
    let next = char_at(s, i + cl);
    if c == ' ' {
        if let Some(n) = next {
            if is_l(n) {
                return run(s, i + 1, is_l);
            }
            if is_n(n) {
                return run(s, i + 1, is_n);
            }
            if is_other(n) {
                return run(s, i + 1, is_other);
            }
        }
    }
    if is_l(c) {
        return run(s, i, is_l);
    }
    if is_n(c) {
        return run(s, i, is_n);
    }
    if !is_s(c) {
        return run(s, i, is_other);
    }
    trailing_ws(s, i)
}

fn llama3_at(s: &str, i: usize, max_digits: usize) -> usize {
    let Some(c) = char_at(s, i) else {
        return s.len();
    };
    let cl = c.len_utf8();
    if c == '\'' {
        if let Some(e) = contraction(s, i + 1, true) {
            return e;
        }
    }
    // [^\r\n\p{L}\p{N}]?\p{L}+
    if is_l(c) {
        return run(s, i, is_l);
    }
    let next = char_at(s, i + cl);
    if c != '\r' && c != '\n' && !is_n(c) && next.is_some_and(is_l) {
        return run(s, i + cl, is_l);
    }
    // \p{N}{1,n}
    if is_n(c) {
        let mut end = i;
        for (k, ch) in s[i..].char_indices().take(max_digits) {
            if !is_n(ch) {
                break;
            }
            end = i + k + ch.len_utf8();
        }
        return end;
    }
    //  ?[^\s\p{L}\p{N}]+[\r\n]*
    let other_start = if c == ' ' && next.is_some_and(is_other) {
        Some(i + 1)
    } else if is_other(c) {
        Some(i)
    } else {
        None
    };
    if let Some(st) = other_start {
        let j = run(s, st, is_other);
        return run(s, j, |x| x == '\r' || x == '\n');
    }
    // \s*[\r\n]+ : up to the last \r or \n of the whitespace run.
    let j = run(s, i, is_s);
    if let Some((k, ch)) = s[i..j]
        .char_indices()
        .rev()
        .find(|&(_, x)| x == '\r' || x == '\n')
    {
        return i + k + ch.len_utf8();
    }
    trailing_ws(s, i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenizer::pattern::SysRegex;

    fn fancy(re: &fancy_regex::Regex, s: &str) -> Vec<(usize, usize)> {
        re.find_iter(s)
            .map(|m| {
                let m = m.unwrap();
                (m.start(), m.end())
            })
            .collect()
    }

    fn fast(f: FastSplit, s: &str) -> Vec<(usize, usize)> {
        let mut out = vec![];
        f.find_iter(s, &mut out);
        out
    }

    const ALPHABET: &[&str] = &[
        " ", " ", "  ", "\t", "\n", "\r", "\r\n", "\u{a0}", "\u{3000}", "'", "'s", "'S", "'re",
        "'RE", "'Ll", "'ve", "'m", "'d", "'t", "'\u{17F}", "a", "Z", "word", "é", "東京", "ß", "1",
        "23", "456", "²", "½", "٣", "Ⅻ", "!", "?!", "...", "-", "_", "😀", "👍🏽", "\u{200d}",
        "\u{301}", "$", "(", ")", "🇫🇷", "\u{0}", "\u{7f}",
    ];

    /// Tiny deterministic PRNG (no dev-dependency needed).
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 33) as usize
        }
    }

    #[test]
    fn same_as_fancy_regex_on_random_strings() {
        let mut rng = Lcg(42);
        for (p, f) in [
            (GPT2, FastSplit::Gpt2),
            (LLAMA3, FastSplit::Llama3 { max_digits: 3 }),
            (QWEN2, FastSplit::Llama3 { max_digits: 1 }),
        ] {
            assert_eq!(FastSplit::recognise(p), Some(f));
            let re = fancy_regex::Regex::new(p).unwrap();
            for _ in 0..20_000 {
                let n = rng.next() % 12;
                let s: String = (0..n)
                    .map(|_| ALPHABET[rng.next() % ALPHABET.len()])
                    .collect();
                assert_eq!(fast(f, &s), fancy(&re, &s), "pattern {p:?} on {s:?}");
            }
        }
    }

    #[test]
    fn sysregex_uses_fast_path() {
        let re = SysRegex::new(GPT2).unwrap();
        let mut out = vec![];
        re.find_iter("Hello world  !", &mut out).unwrap();
        assert_eq!(out, vec![(0, 5), (5, 11), (11, 12), (12, 14)]);
    }
}

#[cfg(test)]
mod bench {
    use super::*;

    /// `cargo test --release -p onnxformers-core split_speed -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn split_speed() {
        let base = "The committee met on Tuesday, it's 3.5% higher!  Café naïve 東京 😀\n    code(x) = y;  ";
        let text: String = base.repeat(20_000);
        for (name, p, f) in [
            ("gpt2", GPT2, FastSplit::Gpt2),
            ("llama3", LLAMA3, FastSplit::Llama3 { max_digits: 3 }),
        ] {
            let re = fancy_regex::Regex::new(p).unwrap();
            let t = std::time::Instant::now();
            let n1 = re.find_iter(&text).count();
            let slow = t.elapsed();
            let t = std::time::Instant::now();
            let mut out = Vec::new();
            f.find_iter(&text, &mut out);
            let fast = t.elapsed();
            assert_eq!(n1, out.len());
            let mb = text.len() as f64 / 1e6;
            println!(
                "{name}: fancy-regex {:.1} MB/s, hand-written {:.1} MB/s ({:.1}x)",
                mb / slow.as_secs_f64(),
                mb / fast.as_secs_f64(),
                slow.as_secs_f64() / fast.as_secs_f64()
            );
        }
    }
}
