//! The SentencePiece `Precompiled` normalizer: a `precompiled_charsmap` (base64) holding a
//! double-array trie from input strings to offsets in a blob of NUL-terminated replacement
//! strings. Port of the `spm_precompiled` logic used by `tokenizers`, quirks included.
use super::normalized::NormalizedString;
use super::{Error, Result};
use unicode_segmentation::UnicodeSegmentation;

#[derive(Debug, Clone, Default)]
pub struct Precompiled {
    /// Double-array units (empty = no-op normalizer).
    array: Vec<u32>,
    normalized: Vec<u8>,
    /// Bit `b` set when the ASCII char `b` has a replacement (most have none: then an ASCII
    /// text needs no trie lookups at all).
    ascii_mapped: u128,
}

fn base64_decode(s: &str) -> Result<Vec<u8>> {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => (c - b'A') as u32,
            b'a'..=b'z' => (c - b'a' + 26) as u32,
            b'0'..=b'9' => (c - b'0' + 52) as u32,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        })
    }
    let bytes: Vec<u8> = s
        .bytes()
        .filter(|b| !b.is_ascii_whitespace() && *b != b'=')
        .collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            let v = val(c).ok_or_else(|| {
                Error::config("normalizer Precompiled.precompiled_charsmap: invalid base64")
            })?;
            acc |= v << (18 - 6 * i);
        }
        let n = match chunk.len() {
            4 => 3,
            3 => 2,
            2 => 1,
            _ => {
                return Err(Error::config(
                    "normalizer Precompiled.precompiled_charsmap: truncated base64",
                ))
            }
        };
        for i in 0..n {
            out.push((acc >> (16 - 8 * i)) as u8);
        }
    }
    Ok(out)
}

#[inline]
fn has_leaf(unit: u32) -> bool {
    (unit >> 8) & 1 == 1
}
#[inline]
fn value(unit: u32) -> u32 {
    unit & ((1 << 31) - 1)
}
#[inline]
fn label(unit: u32) -> u32 {
    unit & ((1 << 31) | 0xFF)
}
#[inline]
fn offset(unit: u32) -> usize {
    ((unit >> 10) << ((unit & (1 << 9)) >> 6)) as usize
}

impl Precompiled {
    pub fn from_base64(s: &str) -> Result<Self> {
        if s.is_empty() {
            return Ok(Self::default());
        }
        Self::from_bytes(&base64_decode(s)?)
    }

    pub fn from_bytes(b: &[u8]) -> Result<Self> {
        let bad = || Error::config("normalizer Precompiled.precompiled_charsmap: corrupt data");
        let size = u32::from_le_bytes(b.get(0..4).ok_or_else(bad)?.try_into().map_err(|_| bad())?)
            as usize;
        let trie = b
            .get(4..4usize.checked_add(size).ok_or_else(bad)?)
            .ok_or_else(bad)?;
        let array = trie
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let mut p = Self {
            array,
            normalized: b[4 + size..].to_vec(),
            ascii_mapped: 0,
        };
        for b in 0..128u8 {
            if p.transform(std::str::from_utf8(&[b]).unwrap_or_default())
                .is_some()
            {
                p.ascii_mapped |= 1 << b;
            }
        }
        Ok(p)
    }

    /// Value of the shortest key that is a prefix of `key`: the first result of
    /// `spm_precompiled`'s common prefix search, without collecting the others (that search
    /// allocated a vector per lookup, i.e. per char of the input).
    fn shortest_prefix_value(&self, key: &[u8]) -> Option<usize> {
        let mut pos = offset(*self.array.first()?);
        for &c in key {
            if c == 0 {
                return None;
            }
            pos ^= c as usize;
            let unit = *self.array.get(pos)?;
            if label(unit) != c as u32 {
                return None;
            }
            pos ^= offset(unit);
            if has_leaf(unit) {
                return self.array.get(pos).map(|&u| value(u) as usize);
            }
        }
        None
    }

    /// Replacement of `chunk`, from the first (shortest) prefix key, as `spm_precompiled`.
    fn transform(&self, chunk: &str) -> Option<&str> {
        let index = self.shortest_prefix_value(chunk.as_bytes())?;
        let rest = self.normalized.get(index..)?;
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        std::str::from_utf8(&rest[..end]).ok()
    }

    pub fn normalize(&self, n: &mut NormalizedString) {
        if self.array.is_empty() {
            return;
        }
        let text = n.get();
        // ASCII without `\r` (so without the two-char grapheme `\r\n`): every grapheme is one
        // char, and when none of them has a replacement the text is left as it is.
        if text.is_ascii()
            && !text.contains('\r')
            && !text.bytes().any(|b| self.ascii_mapped & (1 << b) != 0)
        {
            return;
        }
        let mut t: Vec<(char, isize)> = Vec::with_capacity(n.len());
        let mut modified = false;
        for g in text.graphemes(true) {
            // Whole grapheme first when short, then char by char (as `tokenizers`).
            if g.len() < 6 {
                if let Some(norm) = self.transform(g) {
                    modified = true;
                    replace(&mut t, g, norm);
                    continue;
                }
                let mut cs = g.chars();
                if let (Some(c), None) = (cs.next(), cs.next()) {
                    // One char: the per-char lookup below is the one that just missed.
                    t.push((c, 0));
                    continue;
                }
            }
            for (i, c) in g.char_indices() {
                let part = &g[i..i + c.len_utf8()];
                if let Some(norm) = self.transform(part) {
                    modified = true;
                    replace(&mut t, part, norm);
                } else {
                    t.push((c, 0));
                }
            }
        }
        if modified {
            n.transform(t, 0);
        }
    }
}

fn replace(t: &mut Vec<(char, isize)>, old: &str, new: &str) {
    let diff = new.chars().count() as isize - old.chars().count() as isize;
    t.extend(new.chars().map(|c| (c, 0)));
    if diff > 0 {
        for x in t.iter_mut().rev().take(diff as usize) {
            x.1 = 1;
        }
    } else if diff < 0 {
        if let Some(x) = t.last_mut() {
            x.1 += diff;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64() {
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64_decode("aGk").unwrap(), b"hi");
        assert!(base64_decode("a$==").is_err());
    }

    #[test]
    fn corrupt_is_error_not_panic() {
        assert!(Precompiled::from_bytes(&[1, 2]).is_err());
        assert!(Precompiled::from_bytes(&[255, 255, 255, 255, 0]).is_err());
        let p = Precompiled::from_bytes(&[4, 0, 0, 0, 255, 255, 255, 255]).unwrap();
        let mut n = NormalizedString::from("abc");
        p.normalize(&mut n);
    }
}
