//! A compact byte trie (children stored CSR-style, root children direct-indexed), used for
//! Unigram's common-prefix search and WordPiece's longest match.
//!
//! Keys are byte strings; each key maps to a `u32` value (a token id). Every key is valid UTF-8
//! in practice, so a match starting on a char boundary also ends on one.

const NONE: u32 = u32::MAX;

#[derive(Debug, Clone)]
pub struct Trie {
    /// Children of node `i` are `edge_byte/edge_child[first[i]..first[i + 1]]`, sorted by byte.
    first: Vec<u32>,
    edge_byte: Vec<u8>,
    edge_child: Vec<u32>,
    /// Value of each node, `NONE` when no key ends there.
    value: Vec<u32>,
    /// Direct table for the root's children (the widest node by far).
    root: Box<[u32; 256]>,
}

impl Trie {
    /// Build from `(key, value)` pairs; on a duplicate key the last value wins.
    pub fn new<'a>(entries: impl IntoIterator<Item = (&'a [u8], u32)>) -> Self {
        // Builder: children as small unsorted vectors, sorted when flattened.
        let mut children: Vec<Vec<(u8, u32)>> = vec![Vec::new()];
        let mut value: Vec<u32> = vec![NONE];
        for (key, v) in entries {
            let mut node = 0usize;
            for &b in key {
                let found = children[node]
                    .iter()
                    .find(|(c, _)| *c == b)
                    .map(|&(_, n)| n);
                node = match found {
                    Some(n) => n as usize,
                    None => {
                        let n = children.len();
                        children.push(Vec::new());
                        value.push(NONE);
                        children[node].push((b, n as u32));
                        n
                    }
                };
            }
            value[node] = v;
        }
        let mut first = Vec::with_capacity(children.len() + 1);
        let total: usize = children.iter().map(Vec::len).sum();
        let mut edge_byte = Vec::with_capacity(total);
        let mut edge_child = Vec::with_capacity(total);
        for ch in &mut children {
            first.push(edge_byte.len() as u32);
            ch.sort_unstable_by_key(|(b, _)| *b);
            for &(b, n) in ch.iter() {
                edge_byte.push(b);
                edge_child.push(n);
            }
        }
        first.push(edge_byte.len() as u32);
        let mut root = Box::new([NONE; 256]);
        for &(b, n) in &children[0] {
            root[b as usize] = n;
        }
        Trie {
            first,
            edge_byte,
            edge_child,
            value,
            root,
        }
    }

    #[inline]
    fn child(&self, node: u32, b: u8) -> u32 {
        if node == 0 {
            return self.root[b as usize];
        }
        let lo = self.first[node as usize] as usize;
        let hi = self.first[node as usize + 1] as usize;
        let bytes = &self.edge_byte[lo..hi];
        let idx = if bytes.len() <= 8 {
            bytes.iter().position(|&c| c == b)
        } else {
            bytes.binary_search(&b).ok()
        };
        match idx {
            Some(i) => self.edge_child[lo + i],
            None => NONE,
        }
    }

    /// Exact lookup.
    pub fn get(&self, key: &[u8]) -> Option<u32> {
        let mut node = 0u32;
        for &b in key {
            node = self.child(node, b);
            if node == NONE {
                return None;
            }
        }
        let v = self.value[node as usize];
        (v != NONE).then_some(v)
    }

    /// Call `f(len, value)` for every key that is a prefix of `text`, shortest first.
    /// The empty key is never reported.
    #[inline]
    pub fn for_each_prefix(&self, text: &[u8], mut f: impl FnMut(usize, u32)) {
        let mut node = 0u32;
        for (i, &b) in text.iter().enumerate() {
            node = self.child(node, b);
            if node == NONE {
                return;
            }
            let v = self.value[node as usize];
            if v != NONE {
                f(i + 1, v);
            }
        }
    }

    /// The longest key that is a prefix of `text`, as `(len, value)`.
    #[inline]
    pub fn longest_prefix(&self, text: &[u8]) -> Option<(usize, u32)> {
        let mut best = None;
        self.for_each_prefix(text, |len, v| best = Some((len, v)));
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        let keys: Vec<(&[u8], u32)> = vec![
            (b"a", 0),
            (b"ab", 1),
            (b"abc", 2),
            (b"b", 3),
            ("é".as_bytes(), 4),
            (b"ab", 5),
        ];
        let t = Trie::new(keys);
        let mut seen = vec![];
        t.for_each_prefix(b"abcd", |l, v| seen.push((l, v)));
        assert_eq!(seen, vec![(1, 0), (2, 5), (3, 2)]);
        assert_eq!(t.longest_prefix(b"abx"), Some((2, 5)));
        assert_eq!(t.longest_prefix(b"x"), None);
        assert_eq!(t.get(b"abc"), Some(2));
        assert_eq!(t.get(b"abcd"), None);
        assert_eq!(t.get("é".as_bytes()), Some(4));
        assert_eq!(t.get(b""), None);
    }

    #[test]
    fn wide_node_binary_search() {
        let keys: Vec<Vec<u8>> = (0u8..200).map(|b| vec![b'x', b]).collect();
        let t = Trie::new(
            keys.iter()
                .enumerate()
                .map(|(i, k)| (k.as_slice(), i as u32)),
        );
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(t.get(k), Some(i as u32));
        }
        assert_eq!(t.get(&[b'x', 250]), None);
    }
}
