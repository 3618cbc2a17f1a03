//! `NormalizedString`: a string being normalized, with a byte-level alignment back to the
//! original text so that token offsets can always be reported in the caller's string.
//!
//! Same model as Hugging Face `tokenizers`: every byte of the normalized string carries the
//! `(start, end)` byte range of the original text it came from. Every transformation is
//! expressed as a stream of `(char, change)` where `change` is `0` (replaces one char), `1`
//! (inserted char) or `-n` (replaces one char and removes the `n` following ones); the
//! alignments are rebuilt from that stream. Reproducing the exact same rules (including
//! their quirks) is what gives offsets identical to `tokenizers`.
use super::pattern::Pattern;
use super::Result;
use unicode_normalization_alignments::UnicodeNormalization;

/// What to do with the delimiter when splitting (`SplitDelimiterBehavior` in `tokenizers`).
///
/// Splitting `the-final--countdown` on `-`:
///  - Removed => `the`, `final`, `countdown`
///  - Isolated => `the`, `-`, `final`, `-`, `-`, `countdown`
///  - MergedWithPrevious => `the-`, `final-`, `-`, `countdown`
///  - MergedWithNext => `the`, `-final`, `-`, `-countdown`
///  - Contiguous => `the`, `-`, `final`, `--`, `countdown`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SplitDelimiterBehavior {
    Removed,
    Isolated,
    MergedWithPrevious,
    MergedWithNext,
    Contiguous,
}

impl SplitDelimiterBehavior {
    /// Parse the tokenizer.json spelling (`"Isolated"`, ...).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "Removed" => Self::Removed,
            "Isolated" => Self::Isolated,
            "MergedWithPrevious" => Self::MergedWithPrevious,
            "MergedWithNext" => Self::MergedWithNext,
            "Contiguous" => Self::Contiguous,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NormalizedString {
    /// Length in bytes of the original text of this piece (the text itself is kept once, by
    /// the `PreTokenizedString`; copying it into every piece only cost allocations).
    original_len: usize,
    normalized: String,
    /// For each byte of `normalized`: the byte range of `original` it comes from.
    alignments: Vec<(usize, usize)>,
    /// Byte offset of `original` inside the full input (this may be a slice of it).
    original_shift: usize,
}

impl From<&str> for NormalizedString {
    fn from(s: &str) -> Self {
        let mut alignments = Vec::with_capacity(s.len());
        for (b, c) in s.char_indices() {
            let len = c.len_utf8();
            alignments.extend(std::iter::repeat_n((b, b + len), len));
        }
        Self {
            original_len: s.len(),
            normalized: s.to_owned(),
            alignments,
            original_shift: 0,
        }
    }
}

impl NormalizedString {
    /// The normalized string.
    #[inline]
    pub fn get(&self) -> &str {
        &self.normalized
    }

    /// Length in bytes of the normalized string.
    #[inline]
    pub fn len(&self) -> usize {
        self.normalized.len()
    }

    pub fn len_original(&self) -> usize {
        self.original_len
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.normalized.is_empty()
    }

    /// Byte span of this piece inside the full original input.
    pub fn offsets_original(&self) -> (usize, usize) {
        (
            self.original_shift,
            self.original_shift + self.len_original(),
        )
    }

    /// Normalized byte range → original byte range (relative to this piece's original).
    /// An empty range maps to itself, like `tokenizers` does.
    pub fn normalized_to_original(
        &self,
        range: std::ops::Range<usize>,
    ) -> Option<std::ops::Range<usize>> {
        if range.start == range.end {
            return Some(range);
        }
        if range.start > range.end {
            return None;
        }
        let al = self.alignments.get(range)?;
        Some(al.first()?.0..al.last()?.1)
    }

    /// Original byte range → normalized byte range (port of `convert_offsets` with an
    /// `Original` range).
    pub fn original_to_normalized(
        &self,
        target: std::ops::Range<usize>,
    ) -> Option<std::ops::Range<usize>> {
        if target.start == target.end {
            return Some(target);
        }
        if target.start > target.end {
            return None;
        }
        let (mut start, mut end) = (None, None);
        for (i, al) in self.alignments.iter().enumerate() {
            if target.end < al.1 {
                break;
            }
            if start.is_none() && target.start <= al.0 && al.0 != al.1 {
                start = Some(i);
            }
            end = Some(i + 1);
        }
        match (start, end) {
            (Some(s), None) => Some(s..s),
            (None, Some(e)) => Some(e..e),
            (Some(s), Some(e)) => Some(s..e),
            _ => None,
        }
    }

    /// A sub-piece given a normalized byte range, or `None` when the range is not on char
    /// boundaries.
    pub fn slice(&self, range: std::ops::Range<usize>) -> Option<NormalizedString> {
        if range.start > range.end
            || !self.normalized.is_char_boundary(range.start)
            || !self.normalized.is_char_boundary(range.end)
        {
            return None;
        }
        let original_range = self.normalized_to_original(range.clone())?;
        let n_shift = original_range.start;
        Some(Self {
            original_len: if original_range.end <= self.original_len {
                original_range.len()
            } else {
                0
            },
            normalized: self.normalized[range.clone()].to_owned(),
            alignments: self
                .alignments
                .get(range)?
                .iter()
                .map(|&(s, e)| (s.saturating_sub(n_shift), e.saturating_sub(n_shift)))
                .collect(),
            original_shift: self.original_shift + original_range.start,
        })
    }

    /// Apply a `(char, change)` stream to the normalized byte range `n_range` (see the module
    /// docs). `initial_offset` is the number of chars removed at the very start of the range.
    pub fn transform_range<I>(
        &mut self,
        n_range: std::ops::Range<usize>,
        dest: I,
        initial_offset: usize,
    ) where
        I: IntoIterator<Item = (char, isize)>,
    {
        let Some(replaced) = self.normalized.get(n_range.clone()) else {
            return;
        };
        let mut replaced = replaced.chars();
        let initial_removed: usize = (&mut replaced)
            .take(initial_offset)
            .map(char::len_utf8)
            .sum();
        let mut offset = initial_removed + n_range.start;
        let mut alignments = Vec::with_capacity(n_range.len());
        let mut normalized = String::with_capacity(n_range.len());
        // Defensive lookups: a well-formed stream never goes out of bounds, a bad one must
        // not panic.
        let get = |i: usize| -> (usize, usize) {
            self.alignments
                .get(i)
                .or_else(|| self.alignments.last())
                .copied()
                .unwrap_or((0, 0))
        };
        for (c, change) in dest {
            let align = if change > 0 {
                if offset < 1 {
                    (0, 0)
                } else {
                    // An inserted char shares the alignment of the previous one.
                    get(offset - 1)
                }
            } else {
                get(offset)
            };
            if change <= 0 {
                if let Some(r) = replaced.next() {
                    offset += r.len_utf8();
                }
            }
            if change < 0 {
                offset += (&mut replaced)
                    .take(change.unsigned_abs())
                    .map(char::len_utf8)
                    .sum::<usize>();
            }
            alignments.extend(std::iter::repeat_n(align, c.len_utf8()));
            normalized.push(c);
        }
        self.alignments.splice(n_range.clone(), alignments);
        self.normalized.replace_range(n_range, &normalized);
    }

    /// [`Self::transform_range`] over the whole string (the `Original(..)` range of
    /// `tokenizers`, which skips leading zero-width alignments).
    pub fn transform<I>(&mut self, dest: I, initial_offset: usize)
    where
        I: IntoIterator<Item = (char, isize)>,
    {
        let full = 0..self.len_original();
        if let Some(r) = self.original_to_normalized(full) {
            let r = r.start.min(self.len())..r.end.min(self.len());
            self.transform_range(r, dest, initial_offset);
        }
    }

    /// The normalized range that [`Self::transform`] rewrites, when it is a valid one.
    fn transform_target(&self) -> Option<std::ops::Range<usize>> {
        let r = self.original_to_normalized(0..self.len_original())?;
        let r = r.start.min(self.len())..r.end.min(self.len());
        self.normalized.get(r.clone()).map(|_| r)
    }

    /// Fast path of a char-for-char transform (every change `0`): when no char changes, the
    /// generic transform is a no-op; when the changed chars keep their UTF-8 length, every byte
    /// keeps its alignment (all the bytes of a char share one), so only the string is
    /// rewritten. Returns false when the generic path is needed (some length changes).
    fn map_same_len(&mut self, f: &impl Fn(char) -> Option<char>) -> bool {
        // Only when the transform covers the whole string: with leading zero-width
        // alignments it covers less but still consumes the whole char stream (a quirk kept
        // from `tokenizers`), which the generic path reproduces.
        if !self.transform_covers_all() {
            return false;
        }
        let mut changed = false;
        for c in self.normalized.chars() {
            match f(c) {
                None => return false,
                Some(m) if m != c => {
                    if m.len_utf8() != c.len_utf8() {
                        return false;
                    }
                    changed = true;
                }
                Some(_) => {}
            }
        }
        if changed {
            self.normalized = self.normalized.chars().map(|c| f(c).unwrap_or(c)).collect();
        }
        true
    }

    /// Whether [`Self::transform`] rewrites the whole string (else its quirks apply).
    fn transform_covers_all(&self) -> bool {
        self.transform_target() == Some(0..self.len())
    }

    pub fn nfd(&mut self) -> &mut Self {
        // Chars below U+00C0 have no canonical decomposition and combining class 0: NFD is
        // the identity there (most of Latin text) and the transform a no-op.
        if self.normalized.chars().all(|c| c < '\u{C0}') && self.transform_covers_all() {
            return self;
        }
        let t: Vec<_> = self.normalized.nfd().collect();
        self.transform(t, 0);
        self
    }

    pub fn nfkd(&mut self) -> &mut Self {
        let t: Vec<_> = self.normalized.nfkd().collect();
        self.transform(t, 0);
        self
    }

    pub fn nfc(&mut self) -> &mut Self {
        let t: Vec<_> = self.normalized.nfc().collect();
        self.transform(t, 0);
        self
    }

    pub fn nfkc(&mut self) -> &mut Self {
        let t: Vec<_> = self.normalized.nfkc().collect();
        self.transform(t, 0);
        self
    }

    /// The ByteLevel transform: every byte becomes `table[byte]`. Same result as the generic
    /// transform with changes `(0, 1, 1..)` per char, computed in one pass (all the bytes of a
    /// char always share one alignment, so every new char takes that alignment).
    pub fn byte_level(&mut self, table: &[char; 256]) {
        if self
            .normalized
            .bytes()
            .all(|b| b.is_ascii() && table[b as usize] as u32 == b as u32)
        {
            return; // identity (printable ASCII)
        }
        if self.alignments.first().is_some_and(|a| a.0 == a.1) {
            // Leading zero-width alignments: the generic path has a quirk there, use it.
            let t: Vec<(char, isize)> = self
                .normalized
                .chars()
                .flat_map(|c| {
                    let mut buf = [0u8; 4];
                    let n = c.encode_utf8(&mut buf).len();
                    (0..n).map(move |i| (table[buf[i] as usize], isize::from(i > 0)))
                })
                .collect();
            self.transform(t, 0);
            return;
        }
        let mut normalized = String::with_capacity(self.normalized.len() * 2);
        let mut alignments = Vec::with_capacity(self.normalized.len() * 2);
        for (b, c) in self.normalized.char_indices() {
            let align = self.alignments[b];
            for &byte in &self.normalized.as_bytes()[b..b + c.len_utf8()] {
                let nc = table[byte as usize];
                normalized.push(nc);
                alignments.extend(std::iter::repeat_n(align, nc.len_utf8()));
            }
        }
        self.normalized = normalized;
        self.alignments = alignments;
    }

    /// Keep only the chars for which `keep` is true.
    pub fn filter<F: Fn(char) -> bool>(&mut self, keep: F) -> &mut Self {
        // Removed chars are attached (as a negative change) to the kept char before them;
        // those at the very start become the initial offset.
        let mut removed: isize = 0;
        let mut filtered: Vec<(char, isize)> = Vec::with_capacity(self.normalized.len());
        let mut any_removed = false;
        for c in self.normalized.chars().rev() {
            if keep(c) {
                filtered.push((c, -removed));
                removed = 0;
            } else {
                removed += 1;
                any_removed = true;
            }
        }
        if !any_removed {
            return self;
        }
        filtered.reverse();
        self.transform(filtered, removed as usize);
        self
    }

    /// Prepend `s` (aligned with the first char).
    pub fn prepend(&mut self, s: &str) -> &mut Self {
        if let Some(next) = self.normalized.chars().next() {
            let t: Vec<(char, isize)> = s
                .chars()
                .enumerate()
                .map(|(i, c)| (c, if i == 0 { 0 } else { 1 }))
                .chain(std::iter::once((next, 1)))
                .collect();
            self.transform_range(0..next.len_utf8(), t, 0);
        }
        self
    }

    /// Append `s` (aligned with the last char).
    pub fn append(&mut self, s: &str) -> &mut Self {
        if let Some((b, prev)) = self.normalized.char_indices().last() {
            let t: Vec<(char, isize)> = std::iter::once((prev, 0))
                .chain(s.chars().map(|c| (c, 1)))
                .collect();
            let len = self.len();
            self.transform_range(b..len, t, 0);
        }
        self
    }

    /// Map every char to one char.
    pub fn map<F: Fn(char) -> char>(&mut self, f: F) -> &mut Self {
        if self.map_same_len(&|c| Some(f(c))) {
            return self;
        }
        let t: Vec<(char, isize)> = self.normalized.chars().map(|c| (f(c), 0)).collect();
        self.transform(t, 0);
        self
    }

    pub fn lowercase(&mut self) -> &mut Self {
        let one = |c: char| {
            let mut l = c.to_lowercase();
            match (l.next(), l.next()) {
                (Some(x), None) => Some(x),
                _ => None,
            }
        };
        if self.map_same_len(&one) {
            return self;
        }
        let mut t: Vec<(char, isize)> = Vec::with_capacity(self.normalized.len());
        for c in self.normalized.chars() {
            for (i, lc) in c.to_lowercase().enumerate() {
                t.push((lc, if i > 0 { 1 } else { 0 }));
            }
        }
        self.transform(t, 0);
        self
    }

    /// Replace every match of `pattern` with `content`.
    ///
    /// One pass that builds the new string and alignments: the same result as applying
    /// [`Self::transform_range`] match by match (see `replace_per_match` in the tests), where
    /// every inserted char takes the alignment of the last byte of its match (`(0, 0)` for an
    /// empty match at the start), but linear instead of one splice of the whole alignment
    /// vector per match (quadratic: a SentencePiece `" " -> "▁"` over a long text).
    pub fn replace<P: Pattern + ?Sized>(&mut self, pattern: &P, content: &str) -> Result<()> {
        let matches = pattern.find_matches(&self.normalized)?;
        if !matches.iter().any(|&(_, m)| m) {
            return Ok(());
        }
        let mut normalized = String::with_capacity(self.normalized.len() + content.len());
        let mut alignments = Vec::with_capacity(self.alignments.len() + content.len());
        let mut done = 0;
        for ((start, end), is_match) in matches {
            if !is_match || start < done || self.normalized.get(start..end).is_none() {
                continue;
            }
            normalized.push_str(&self.normalized[done..start]);
            alignments.extend_from_slice(&self.alignments[done..start]);
            let align = if end < 1 {
                (0, 0)
            } else {
                self.alignments
                    .get(end - 1)
                    .or_else(|| self.alignments.last())
                    .copied()
                    .unwrap_or((0, 0))
            };
            for c in content.chars() {
                alignments.extend(std::iter::repeat_n(align, c.len_utf8()));
            }
            normalized.push_str(content);
            done = end;
        }
        normalized.push_str(&self.normalized[done..]);
        alignments.extend_from_slice(&self.alignments[done..]);
        self.normalized = normalized;
        self.alignments = alignments;
        Ok(())
    }

    /// The previous, per-match implementation of [`Self::replace`] (the reference in tests).
    #[cfg(test)]
    pub(crate) fn replace_per_match<P: Pattern + ?Sized>(
        &mut self,
        pattern: &P,
        content: &str,
    ) -> Result<()> {
        let matches = pattern.find_matches(&self.normalized)?;
        let mut shift: isize = 0;
        for ((start, end), is_match) in matches {
            if !is_match {
                continue;
            }
            let s = (start as isize + shift).max(0) as usize;
            let e = (end as isize + shift).max(0) as usize;
            let Some(old) = self.normalized.get(s..e) else {
                continue;
            };
            let removed_chars = old.chars().count();
            self.transform_range(s..e, content.chars().map(|c| (c, 1)), removed_chars);
            shift += content.len() as isize - (end - start) as isize;
        }
        Ok(())
    }

    /// Split on `pattern`, treating the delimiters according to `behavior`.
    pub fn split<P: Pattern + ?Sized>(
        &self,
        pattern: &P,
        behavior: SplitDelimiterBehavior,
    ) -> Result<Vec<NormalizedString>> {
        let matches = pattern.find_matches(&self.normalized)?;
        use SplitDelimiterBehavior::*;
        let splits: Vec<((usize, usize), bool)> = match behavior {
            Isolated => matches.into_iter().map(|(o, _)| (o, false)).collect(),
            Removed => matches,
            Contiguous => {
                let mut prev = false;
                let mut acc: Vec<((usize, usize), bool)> = Vec::with_capacity(matches.len());
                for (o, m) in matches {
                    match acc.last_mut() {
                        Some(((_, end), _)) if m == prev => *end = o.1,
                        _ => acc.push((o, false)),
                    }
                    prev = m;
                }
                acc
            }
            MergedWithPrevious => {
                let mut prev = false;
                let mut acc: Vec<((usize, usize), bool)> = Vec::with_capacity(matches.len());
                for (o, m) in matches {
                    match acc.last_mut() {
                        Some(((_, end), _)) if m && !prev => *end = o.1,
                        _ => acc.push((o, false)),
                    }
                    prev = m;
                }
                acc
            }
            MergedWithNext => {
                let mut prev = false;
                let mut acc: Vec<((usize, usize), bool)> = Vec::with_capacity(matches.len());
                for (o, m) in matches.into_iter().rev() {
                    match acc.last_mut() {
                        Some(((start, _), _)) if m && !prev => *start = o.0,
                        _ => acc.push((o, false)),
                    }
                    prev = m;
                }
                acc.reverse();
                acc
            }
        };
        let mut out = Vec::with_capacity(splits.len());
        for ((s, e), remove) in splits {
            if remove {
                continue;
            }
            match self.slice(s..e) {
                Some(n) => out.push(n),
                None => {
                    return Err(super::Error::Regex(format!(
                        "split produced a range {s}..{e} that is not on char boundaries"
                    )))
                }
            }
        }
        Ok(out)
    }

    pub fn lstrip(&mut self) -> &mut Self {
        self.lrstrip(true, false)
    }

    pub fn rstrip(&mut self) -> &mut Self {
        self.lrstrip(false, true)
    }

    pub fn strip(&mut self) -> &mut Self {
        self.lrstrip(true, true)
    }

    /// Strip leading/trailing whitespace (Rust `char::is_whitespace`, as `tokenizers`).
    pub fn lrstrip(&mut self, left: bool, right: bool) -> &mut Self {
        let leading = if left {
            self.normalized
                .chars()
                .take_while(|c| c.is_whitespace())
                .count()
        } else {
            0
        };
        let trailing = if right {
            self.normalized
                .chars()
                .rev()
                .take_while(|c| c.is_whitespace())
                .count()
        } else {
            0
        };
        if leading > 0 || trailing > 0 {
            let len = self.normalized.chars().count();
            let t: Vec<(char, isize)> = self
                .normalized
                .chars()
                .enumerate()
                .filter_map(|(i, c)| {
                    if i < leading || i + trailing >= len {
                        None
                    } else if i + trailing + 1 == len {
                        Some((c, -(trailing as isize)))
                    } else {
                        Some((c, 0))
                    }
                })
                .collect();
            self.transform(t, leading);
        }
        self
    }

    /// Empty the normalized string.
    pub fn clear(&mut self) -> usize {
        let len = self.len();
        let n = self.normalized.chars().count();
        self.transform(std::iter::empty(), n);
        len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_pass_replace_equals_per_match_replace() {
        use crate::tokenizer::pattern::SysRegex;
        let mut rnd = crate::test_util::xorshift_indices(0x2545_F491_4F6C_DD1Du64);
        let alphabet = [' ', ' ', 'a', 'b', 'é', '\u{301}', '▁', '\u{200B}', '😀'];
        let regexes = [
            SysRegex::new(" +").unwrap(),
            SysRegex::new("b*").unwrap(), // empty matches everywhere
            SysRegex::new("a|é").unwrap(),
        ];
        for _ in 0..400 {
            let len = rnd(30);
            let text: String = (0..len).map(|_| alphabet[rnd(alphabet.len())]).collect();
            let mut base = NormalizedString::from(text.as_str());
            // Non-trivial alignments first: removed, decomposed and inserted chars.
            match rnd(4) {
                0 => {
                    base.nfd();
                }
                1 => {
                    base.filter(|c| c != '\u{200B}');
                }
                2 => {
                    base.prepend("▁");
                }
                _ => {}
            }
            let content = ["", "▁", "XY", "é"][rnd(4)];
            let mut a = base.clone();
            let mut b = base.clone();
            match rnd(4) {
                0 => {
                    a.replace(" ", content).unwrap();
                    b.replace_per_match(" ", content).unwrap();
                }
                r => {
                    let re = &regexes[r - 1];
                    a.replace(re, content).unwrap();
                    b.replace_per_match(re, content).unwrap();
                }
            }
            assert_eq!(a, b, "{text:?} -> {content:?}");
        }
    }

    #[test]
    fn fast_char_maps_equal_generic_transforms() {
        use crate::tokenizer::pattern::SysRegex;
        let mut rnd = crate::test_util::xorshift_indices(0x0123_4567_89AB_CDEFu64);
        let alphabet = [
            'a', 'B', ' ', '\t', 'é', 'É', 'İ', 'Σ', 'Ａ', '\u{301}', '中', '\u{3000}', 'ß', 'ǅ',
        ];
        let empty_at_start = SysRegex::new("x*").unwrap();
        for _ in 0..600 {
            let len = rnd(12);
            let text: String = (0..len).map(|_| alphabet[rnd(alphabet.len())]).collect();
            let mut base = NormalizedString::from(text.as_str());
            match rnd(4) {
                // Leading chars with zero-width alignments (the transform range quirk).
                0 => base.replace(&empty_at_start, "_").unwrap(),
                1 => {
                    base.prepend("▁");
                }
                2 => {
                    base.filter(|c| c != ' ');
                }
                _ => {}
            }
            let (mut fast, mut slow) = (base.clone(), base.clone());
            match rnd(4) {
                0 => {
                    fast.lowercase();
                    let mut t = vec![];
                    for c in slow.normalized.chars() {
                        for (i, lc) in c.to_lowercase().enumerate() {
                            t.push((lc, isize::from(i > 0)));
                        }
                    }
                    slow.transform(t, 0);
                }
                1 => {
                    fast.nfd();
                    let t: Vec<_> = slow.normalized.nfd().collect();
                    slow.transform(t, 0);
                }
                r => {
                    let f = move |c: char| match (r, c) {
                        (2, '\t') => ' ',       // same length
                        (_, '\u{3000}') => ' ', // shorter
                        (3, 'a') => 'á',        // longer
                        _ => c,
                    };
                    fast.map(f);
                    let t: Vec<_> = slow.normalized.chars().map(|c| (f(c), 0)).collect();
                    slow.transform(t, 0);
                }
            }
            assert_eq!(fast, slow, "{text:?}");
        }
    }

    #[test]
    fn nfd_alignments() {
        let mut n = NormalizedString::from("élégant");
        n.nfd();
        assert_eq!(n.get(), "e\u{301}le\u{301}gant");
        assert_eq!(n.normalized_to_original(0..3), Some(0..2));
        assert_eq!(n.normalized_to_original(3..4), Some(2..3));
    }

    #[test]
    fn filter_and_lowercase() {
        let mut n = NormalizedString::from("Hello\u{200B} World");
        n.filter(|c| c != '\u{200B}').lowercase();
        assert_eq!(n.get(), "hello world");
        assert_eq!(n.normalized_to_original(6..11), Some(9..14));
    }

    #[test]
    fn prepend_append_strip() {
        let mut n = NormalizedString::from("  abc  ");
        n.strip();
        assert_eq!(n.get(), "abc");
        assert_eq!(n.normalized_to_original(0..3), Some(2..5));
        n.prepend("▁").append("!");
        assert_eq!(n.get(), "▁abc!");
        assert_eq!(n.normalized_to_original(0..3), Some(2..3));
    }

    #[test]
    fn split_behaviors() {
        let n = NormalizedString::from("the-final--countdown");
        let get = |b| {
            n.split(&'-', b)
                .unwrap()
                .iter()
                .map(|s| s.get().to_owned())
                .collect::<Vec<_>>()
        };
        use SplitDelimiterBehavior::*;
        assert_eq!(get(Removed), ["the", "final", "countdown"]);
        assert_eq!(get(Isolated), ["the", "-", "final", "-", "-", "countdown"]);
        assert_eq!(
            get(MergedWithPrevious),
            ["the-", "final-", "-", "countdown"]
        );
        assert_eq!(get(MergedWithNext), ["the", "-final", "-", "-countdown"]);
        assert_eq!(get(Contiguous), ["the", "-", "final", "--", "countdown"]);
    }

    #[test]
    fn slice_keeps_original_offsets() {
        let n = NormalizedString::from("aé b");
        let s = n.slice(1..3).unwrap();
        assert_eq!(s.get(), "é");
        assert_eq!(s.offsets_original(), (1, 3));
        assert!(n.slice(2..3).is_none());
    }
}
