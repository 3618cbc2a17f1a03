//! The output of encoding one input (or one pair): ids and everything aligned with them.
use std::collections::BTreeMap;
use std::ops::Range;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Encoding {
    pub ids: Vec<u32>,
    pub type_ids: Vec<u32>,
    pub tokens: Vec<String>,
    /// Index of the word (pre-tokenized piece) each token comes from; `None` for special
    /// and padding tokens.
    pub words: Vec<Option<u32>>,
    /// Char offsets into the original input string.
    pub offsets: Vec<(usize, usize)>,
    pub special_tokens_mask: Vec<u32>,
    pub attention_mask: Vec<u32>,
    /// The parts cut off by truncation (each one a full encoding).
    pub overflowing: Vec<Encoding>,
    /// Token range of each input sequence (0 = first, 1 = pair).
    pub sequence_ranges: BTreeMap<usize, Range<usize>>,
}

impl Encoding {
    pub fn with_capacity(n: usize) -> Self {
        Self {
            ids: Vec::with_capacity(n),
            type_ids: Vec::with_capacity(n),
            tokens: Vec::with_capacity(n),
            words: Vec::with_capacity(n),
            offsets: Vec::with_capacity(n),
            special_tokens_mask: Vec::with_capacity(n),
            attention_mask: Vec::with_capacity(n),
            overflowing: vec![],
            sequence_ranges: BTreeMap::new(),
        }
    }

    /// An encoding made only of special tokens (what post-processors insert).
    pub fn special(ids: Vec<u32>, tokens: Vec<String>, type_id: u32) -> Self {
        let n = ids.len();
        Self {
            ids,
            type_ids: vec![type_id; n],
            tokens,
            words: vec![None; n],
            offsets: vec![(0, 0); n],
            special_tokens_mask: vec![1; n],
            attention_mask: vec![1; n],
            overflowing: vec![],
            sequence_ranges: BTreeMap::new(),
        }
    }

    #[inline]
    pub(crate) fn push_token(
        &mut self,
        id: u32,
        token: String,
        offsets: (usize, usize),
        word: Option<u32>,
        type_id: u32,
    ) {
        self.ids.push(id);
        self.tokens.push(token);
        self.offsets.push(offsets);
        self.words.push(word);
        self.type_ids.push(type_id);
        self.special_tokens_mask.push(0);
        self.attention_mask.push(1);
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn set_sequence_id(&mut self, id: usize) {
        let len = self.len();
        self.sequence_ranges.insert(id, 0..len);
    }

    pub fn set_type_ids(&mut self, type_id: u32) {
        let n = self.len();
        self.type_ids = vec![type_id; n];
    }

    /// Sequence index of every token (`None` for special tokens), like `Encoding.sequence_ids`.
    pub fn sequence_ids(&self) -> Vec<Option<usize>> {
        if self.sequence_ranges.is_empty() {
            return vec![Some(0); self.len()];
        }
        let mut out = vec![None; self.len()];
        for (&id, r) in &self.sequence_ranges {
            for x in out.get_mut(r.clone()).into_iter().flatten() {
                *x = Some(id);
            }
        }
        out
    }

    fn part(&self, r: Range<usize>) -> Encoding {
        Encoding {
            ids: self.ids[r.clone()].to_vec(),
            type_ids: self.type_ids[r.clone()].to_vec(),
            tokens: self.tokens[r.clone()].to_vec(),
            words: self.words[r.clone()].to_vec(),
            offsets: self.offsets[r.clone()].to_vec(),
            special_tokens_mask: self.special_tokens_mask[r.clone()].to_vec(),
            attention_mask: self.attention_mask[r].to_vec(),
            overflowing: vec![],
            sequence_ranges: BTreeMap::new(),
        }
    }

    /// Cut to `max_len` tokens; the rest goes to `overflowing` in windows of `max_len` that
    /// overlap by `stride` (same windows as `tokenizers`). `stride` must be `< max_len`.
    pub fn truncate(&mut self, max_len: usize, stride: usize, direction: Direction) {
        let n = self.len();
        if max_len >= n {
            return;
        }
        if max_len == 0 {
            let o = std::mem::replace(self, Encoding::with_capacity(0));
            self.overflowing.push(o);
            return;
        }
        // Callers validate stride; clamp so that a bad value can never loop forever.
        let stride = stride.min(max_len - 1);
        self.sequence_ranges.clear();
        let step = max_len - stride;
        let mut parts: Vec<(usize, usize)> = Vec::new();
        match direction {
            Direction::Right => {
                let mut start = 0;
                loop {
                    let stop = (start + max_len).min(n);
                    parts.push((start, stop));
                    if stop == n {
                        break;
                    }
                    start += step;
                }
            }
            Direction::Left => {
                // Windows end at n, n - step, ...; mirror of the right case.
                let mut stop = n;
                loop {
                    let start = stop.saturating_sub(max_len);
                    parts.push((start, stop));
                    if start == 0 || stop <= step {
                        break;
                    }
                    stop -= step;
                }
            }
        }
        let mut first = self.part(parts[0].0..parts[0].1);
        for &(s, e) in &parts[1..] {
            first.overflowing.push(self.part(s..e));
        }
        *self = first;
    }

    /// Concatenate several encodings (see [`Self::merge_with`]).
    pub fn merge<I: IntoIterator<Item = Encoding>>(encodings: I, growing_offsets: bool) -> Self {
        let mut e = Encoding::default();
        for sub in encodings {
            e.merge_with(sub, growing_offsets);
        }
        e
    }

    /// Append `pair` to `self`; overflowing parts are combined pairwise like `tokenizers`.
    pub fn merge_with(&mut self, pair: Encoding, growing_offsets: bool) {
        let mut overflowings = vec![];
        for self_o in &self.overflowing {
            let mut n = self_o.clone();
            n.merge_with(pair.clone(), growing_offsets);
            overflowings.push(n);
            for other_o in &pair.overflowing {
                let mut n = self_o.clone();
                n.merge_with(other_o.clone(), growing_offsets);
                overflowings.push(n);
            }
        }
        for other_o in &pair.overflowing {
            let mut n = self.clone();
            n.merge_with(other_o.clone(), growing_offsets);
            overflowings.push(n);
        }

        let len = self.len();
        self.sequence_ranges.extend(
            pair.sequence_ranges
                .into_iter()
                .map(|(id, r)| (id, len + r.start..len + r.end)),
        );
        self.ids.extend(pair.ids);
        self.type_ids.extend(pair.type_ids);
        self.tokens.extend(pair.tokens);
        self.words.extend(pair.words);
        let shift = if growing_offsets {
            self.offsets.last().map_or(0, |o| o.1)
        } else {
            0
        };
        self.offsets.extend(
            pair.offsets
                .into_iter()
                .map(|(s, e)| (s + shift, e + shift)),
        );
        self.special_tokens_mask.extend(pair.special_tokens_mask);
        self.attention_mask.extend(pair.attention_mask);
        self.overflowing = overflowings;
    }

    /// Pad to `target` tokens (no-op when already as long); overflowing parts too.
    pub fn pad(
        &mut self,
        target: usize,
        pad_id: u32,
        pad_type_id: u32,
        pad_token: &str,
        side: Direction,
    ) {
        for o in &mut self.overflowing {
            o.pad(target, pad_id, pad_type_id, pad_token, side);
        }
        let n = self.len();
        if n >= target {
            return;
        }
        let k = target - n;
        fn pad_vec<T: Clone>(v: &mut Vec<T>, k: usize, x: T, left: bool) {
            if left {
                v.splice(0..0, std::iter::repeat_n(x, k));
            } else {
                v.extend(std::iter::repeat_n(x, k));
            }
        }
        let left = side == Direction::Left;
        pad_vec(&mut self.ids, k, pad_id, left);
        pad_vec(&mut self.type_ids, k, pad_type_id, left);
        pad_vec(&mut self.tokens, k, pad_token.to_owned(), left);
        pad_vec(&mut self.words, k, None, left);
        pad_vec(&mut self.offsets, k, (0, 0), left);
        pad_vec(&mut self.special_tokens_mask, k, 1, left);
        pad_vec(&mut self.attention_mask, k, 0, left);
        if left {
            for r in self.sequence_ranges.values_mut() {
                *r = r.start + k..r.end + k;
            }
        }
    }
}

/// Side for truncation and padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    Left,
    #[default]
    Right,
}

impl Direction {
    pub fn from_name(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "left" => Some(Self::Left),
            "right" => Some(Self::Right),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(n: u32) -> Encoding {
        let mut e = Encoding::default();
        for i in 0..n {
            e.push_token(i, format!("t{i}"), (i as usize, i as usize + 1), Some(i), 0);
        }
        e
    }

    #[test]
    fn truncate_right_with_stride() {
        let mut e = enc(10);
        e.truncate(4, 1, Direction::Right);
        assert_eq!(e.ids, [0, 1, 2, 3]);
        let o: Vec<Vec<u32>> = e.overflowing.iter().map(|o| o.ids.clone()).collect();
        assert_eq!(o, vec![vec![3, 4, 5, 6], vec![6, 7, 8, 9]]);
    }

    #[test]
    fn truncate_left() {
        let mut e = enc(10);
        e.truncate(4, 0, Direction::Left);
        assert_eq!(e.ids, [6, 7, 8, 9]);
        let o: Vec<Vec<u32>> = e.overflowing.iter().map(|o| o.ids.clone()).collect();
        assert_eq!(o, vec![vec![2, 3, 4, 5], vec![0, 1]]);
    }

    #[test]
    fn pad_left() {
        let mut e = enc(2);
        e.pad(4, 9, 1, "[PAD]", Direction::Left);
        assert_eq!(e.ids, [9, 9, 0, 1]);
        assert_eq!(e.attention_mask, [0, 0, 1, 1]);
        assert_eq!(e.type_ids, [1, 1, 0, 0]);
    }
}
