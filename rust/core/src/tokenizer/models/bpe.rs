//! Byte-Pair Encoding, same results as `tokenizers`' `BPE` (merge order, unk handling,
//! byte fallback, prefix/suffix, `ignore_merges`).
//!
//! Speed: long words use `tokenizers`' algorithm (index-linked symbols, merges popped from a
//! min-heap keyed by `(rank, position)`, O(n log n)); words of at most [`SCAN_MAX`] symbols
//! use linear scans over stack arrays, which give the same merges without the heap. Both use
//! Fx hashing with pair keys packed into one `u64`, direct tables for single-char and `<0xNN>`
//! tokens (no string building per char), and a sharded bounded cache of results.
use super::cache::Cache;
use super::util::{self, IdTable, Obj};
use super::Model;
use crate::tokenizer::{Error, Result, Token};
use rustc_hash::FxHashMap;
use serde_json::Value;
use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Pieces at least this long are not cached (as in `tokenizers`): they are rare, and caching
/// them would let long inputs fill the memory.
const CACHE_MAX_PIECE_LEN: usize = 256;
const CACHE_CAPACITY: usize = 10_000;
/// Single chars below this code point get a direct id table (covers ASCII, Latin-1 and the
/// 256 GPT-2 byte-level chars, which end at U+0143).
const DIRECT_CHARS: usize = 0x180;
const NO_ID: u32 = u32::MAX;
const NO_RANK: u32 = u32::MAX;
/// Words of at most this many initial symbols are merged by [`Bpe::merge_scan`].
const SCAN_MAX: usize = 32;

#[derive(Debug, Clone, Copy)]
struct Symbol {
    id: u32,
    prev: u32,
    next: u32,
    /// Byte length in the piece; 0 marks a symbol merged into its left neighbour.
    len: u32,
}

/// Min-heap of `(rank << 32 | position, merged id)`.
type MergeHeap = BinaryHeap<Reverse<(u64, u32)>>;
/// Min-heap of `rank << 32 | position` alone (see [`Bpe::merge_ranked`]).
type RankHeap = BinaryHeap<Reverse<u64>>;
/// Cached result of one piece: `(id, byte length)` per token.
type CachedWord = Box<[(u32, u32)]>;

thread_local! {
    static SCRATCH: RefCell<(Vec<Symbol>, MergeHeap, RankHeap)> =
        const { RefCell::new((Vec::new(), BinaryHeap::new(), BinaryHeap::new())) };
}

/// A BPE model.
pub struct Bpe {
    vocab: FxHashMap<String, u32>,
    vocab_r: IdTable,
    /// `(left << 32 | right)` → `(rank, merged id)`.
    merges: FxHashMap<u64, (u32, u32)>,
    unk_token: Option<String>,
    continuing_subword_prefix: Option<String>,
    end_of_word_suffix: Option<String>,
    fuse_unk: bool,
    byte_fallback: bool,
    ignore_merges: bool,
    dropout: Option<f32>,
    /// Id of the single-char token `c` for `c < DIRECT_CHARS`, else `NO_ID`.
    char_ids: Box<[u32; DIRECT_CHARS]>,
    /// Id of `prefix + c` for single chars `c` (only when a prefix is set).
    prefixed_char_ids: FxHashMap<char, u32>,
    /// Id of `<0xNN>` per byte.
    byte_ids: Box<[u32; 256]>,
    cache: Option<Cache<CachedWord>>,
    /// The scan merge gives the heap's result exactly when ids and token strings are one to
    /// one, no token is empty and no merge has an empty right part after the prefix strip:
    /// then a stale heap entry can never look valid. Hostile files fall back to the heap.
    scan_ok: bool,
    /// Where long pieces may be cut into parts that merge independently (see [`Splitter`]).
    splitter: Option<Splitter>,
}

/// Pieces at least this long (bytes) are cut at the [`Splitter`]'s boundaries before merging.
const SPLIT_MIN_LEN: usize = 48;
/// A char `c` is a boundary candidate when at most this many distinct chars end the left part
/// of a merge whose right part starts with `c`.
const SPLIT_MAX_LEFT: usize = 16;

/// Cut points that cannot change the merges.
///
/// Between two chars `x`, `c` that are both single-char tokens, no merge can ever cross when no
/// merge `(a, b)` has `a` ending with `x` and `b` starting with `c` (with no prefix/suffix and
/// ids one-to-one with strings, a symbol's string is exactly its text span). The two sides then
/// merge independently, in the same order, so encoding the parts and concatenating is exact.
/// This matters for SentencePiece-style BPE without a pre-tokenizer (Llama, Mistral): the whole
/// input is one piece, and `▁` (only ever merged after `▁`) cuts it into words that take the
/// short-word path and the cache instead of one heap merge over thousands of symbols.
struct Splitter {
    /// One bit per BMP char: `c` has an entry in `left_of`.
    cand: Box<[u64; 1024]>,
    /// Chars that may end the left part of a merge whose right part starts with the key.
    left_of: FxHashMap<char, Box<[char]>>,
}

impl Splitter {
    fn new(
        merges: &[(String, String)],
        vocab: &FxHashMap<String, u32>,
        prefix_len: usize,
    ) -> Option<Self> {
        let mut left: FxHashMap<char, Vec<char>> = FxHashMap::default();
        for (a, b) in merges {
            let tail = b.get(prefix_len..).unwrap_or("");
            let (Some(x), Some(c)) = (a.chars().next_back(), tail.chars().next()) else {
                return None;
            };
            let l = left.entry(c).or_default();
            if l.len() <= SPLIT_MAX_LEFT && !l.contains(&x) {
                l.push(x);
            }
        }
        let mut cand = Box::new([0u64; 1024]);
        let mut left_of = FxHashMap::default();
        for tok in vocab.keys() {
            let mut cs = tok.chars();
            let (Some(c), None) = (cs.next(), cs.next()) else {
                continue;
            };
            if (c as u32) >= 0x10000 {
                continue;
            }
            let l = left.get(&c).map_or(&[][..], |v| v.as_slice());
            if l.len() <= SPLIT_MAX_LEFT {
                cand[c as usize >> 6] |= 1 << (c as u32 & 63);
                left_of.insert(c, l.into());
            }
        }
        (!left_of.is_empty()).then_some(Splitter { cand, left_of })
    }
}

impl std::fmt::Debug for Bpe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bpe")
            .field("vocab", &self.vocab.len())
            .field("merges", &self.merges.len())
            .field("unk_token", &self.unk_token)
            .field("continuing_subword_prefix", &self.continuing_subword_prefix)
            .field("end_of_word_suffix", &self.end_of_word_suffix)
            .field("fuse_unk", &self.fuse_unk)
            .field("byte_fallback", &self.byte_fallback)
            .field("ignore_merges", &self.ignore_merges)
            .finish()
    }
}

/// Options of a BPE model, as in `tokenizer.json`.
#[derive(Debug, Clone, Default)]
pub struct BpeConfig {
    pub unk_token: Option<String>,
    pub continuing_subword_prefix: Option<String>,
    pub end_of_word_suffix: Option<String>,
    pub fuse_unk: bool,
    pub byte_fallback: bool,
    pub ignore_merges: bool,
    pub dropout: Option<f32>,
    /// 0 disables the cache.
    pub cache_capacity: Option<usize>,
}

#[inline]
fn pair_key(a: u32, b: u32) -> u64 {
    ((a as u64) << 32) | b as u64
}

impl Bpe {
    /// Build from a vocabulary and merges given as token pairs (rank = position).
    pub fn new(
        vocab: Vec<(String, u32)>,
        merges: Vec<(String, String)>,
        mut cfg: BpeConfig,
    ) -> Result<Self> {
        // An empty prefix/suffix behaves exactly like none (GPT-2 files carry `""`); dropping it
        // keeps those models on the fast single-char path.
        cfg.continuing_subword_prefix = cfg.continuing_subword_prefix.filter(|p| !p.is_empty());
        cfg.end_of_word_suffix = cfg.end_of_word_suffix.filter(|p| !p.is_empty());
        if let Some(p) = cfg.dropout {
            if !(0.0..=1.0).contains(&p) {
                return Err(Error::config(format!(
                    "BPE dropout must be between 0 and 1, got {p}"
                )));
            }
        }
        let vocab_r = IdTable::new(vocab.iter().map(|(t, id)| (t.as_str(), *id)));
        let vocab_map = util::token_map(&vocab);
        let prefix_len = cfg
            .continuing_subword_prefix
            .as_ref()
            .map_or(0, |p| p.len());
        let mut merge_map = FxHashMap::with_capacity_and_hasher(merges.len(), Default::default());
        let distinct_ids: rustc_hash::FxHashSet<u32> = vocab_map.values().copied().collect();
        let mut scan_ok = distinct_ids.len() == vocab_map.len() && !vocab_map.contains_key("");
        let mut new_token = String::new();
        for (rank, (a, b)) in merges.iter().enumerate() {
            let id_of = |t: &str| {
                vocab_map.get(t).copied().ok_or_else(|| {
                    Error::config(format!(
                        "BPE merge #{rank} ({a:?}, {b:?}) uses {t:?}, which is not in the vocabulary"
                    ))
                })
            };
            let a_id = id_of(a)?;
            let b_id = id_of(b)?;
            // `tokenizers` strips `prefix_len` bytes from the right part whether or not it
            // starts with the prefix; do the same, but fail cleanly where it would panic.
            let tail = b.get(prefix_len..).ok_or_else(|| {
                Error::config(format!(
                    "BPE merge #{rank} ({a:?}, {b:?}): right part is shorter than the continuing_subword_prefix"
                ))
            })?;
            scan_ok &= !tail.is_empty();
            new_token.clear();
            new_token.push_str(a);
            new_token.push_str(tail);
            let new_id = id_of(&new_token)?;
            // Duplicate pairs: the later rank wins, as in `tokenizers`' HashMap collect.
            merge_map.insert(pair_key(a_id, b_id), (rank as u32, new_id));
        }

        let mut char_ids = Box::new([NO_ID; DIRECT_CHARS]);
        let mut prefixed_char_ids = FxHashMap::default();
        for (tok, &id) in &vocab_map {
            let mut cs = tok.chars();
            if let (Some(c), None) = (cs.next(), cs.next()) {
                if (c as usize) < DIRECT_CHARS {
                    char_ids[c as usize] = id;
                }
            }
            if let Some(p) = &cfg.continuing_subword_prefix {
                if let Some(rest) = tok.strip_prefix(p.as_str()) {
                    let mut cs = rest.chars();
                    if let (Some(c), None) = (cs.next(), cs.next()) {
                        prefixed_char_ids.insert(c, id);
                    }
                }
            }
        }
        let mut byte_ids = Box::new([NO_ID; 256]);
        for b in 0..256usize {
            if let Some(&id) = vocab_map.get(&format!("<0x{b:02X}>")) {
                byte_ids[b] = id;
            }
        }
        let capacity = cfg.cache_capacity.unwrap_or(CACHE_CAPACITY);
        let splitter = if scan_ok
            && cfg.continuing_subword_prefix.is_none()
            && cfg.end_of_word_suffix.is_none()
        {
            Splitter::new(&merges, &vocab_map, prefix_len)
        } else {
            None
        };
        Ok(Bpe {
            vocab: vocab_map,
            vocab_r,
            merges: merge_map,
            unk_token: cfg.unk_token,
            continuing_subword_prefix: cfg.continuing_subword_prefix,
            end_of_word_suffix: cfg.end_of_word_suffix,
            fuse_unk: cfg.fuse_unk,
            byte_fallback: cfg.byte_fallback,
            ignore_merges: cfg.ignore_merges,
            dropout: cfg.dropout,
            char_ids,
            prefixed_char_ids,
            byte_ids,
            cache: (capacity > 0).then(|| Cache::new(capacity)),
            scan_ok,
            splitter,
        })
    }

    /// Parse the `"model"` object of a `tokenizer.json` (type `BPE`, or legacy without type).
    pub fn from_json(obj: &Obj) -> Result<Self> {
        const CTX: &str = "model (BPE)";
        let vocab = util::vocab_map(obj, CTX)?;
        let merges = parse_merges(obj.get("merges"))?;
        let dropout = util::opt_f64(obj, "dropout", CTX)?.map(|d| d as f32);
        let cfg = BpeConfig {
            unk_token: util::opt_str(obj, "unk_token", CTX)?,
            continuing_subword_prefix: util::opt_str(obj, "continuing_subword_prefix", CTX)?,
            end_of_word_suffix: util::opt_str(obj, "end_of_word_suffix", CTX)?,
            fuse_unk: util::opt_bool(obj, "fuse_unk", false, CTX)?,
            byte_fallback: util::opt_bool(obj, "byte_fallback", false, CTX)?,
            ignore_merges: util::opt_bool(obj, "ignore_merges", false, CTX)?,
            dropout,
            cache_capacity: None,
        };
        Bpe::new(vocab, merges, cfg)
    }

    /// Replace the result cache with a fresh one of `capacity` entries (0 disables it).
    pub fn set_cache_capacity(&mut self, capacity: usize) {
        self.cache = (capacity > 0).then(|| Cache::new(capacity));
    }

    pub fn get_vocab(&self) -> Vec<(String, u32)> {
        self.vocab.iter().map(|(t, &id)| (t.clone(), id)).collect()
    }
    pub fn unk_token(&self) -> Option<&str> {
        self.unk_token.as_deref()
    }
    pub fn unk_id(&self) -> Option<u32> {
        self.unk_token
            .as_ref()
            .and_then(|u| self.vocab.get(u).copied())
    }
    pub fn continuing_subword_prefix(&self) -> Option<&str> {
        self.continuing_subword_prefix.as_deref()
    }
    pub fn end_of_word_suffix(&self) -> Option<&str> {
        self.end_of_word_suffix.as_deref()
    }
    pub fn byte_fallback(&self) -> bool {
        self.byte_fallback
    }
    pub fn fuse_unk(&self) -> bool {
        self.fuse_unk
    }
    pub fn ignore_merges(&self) -> bool {
        self.ignore_merges
    }
    /// Parsed but not applied: inference is deterministic (dropout 0), as in Transformers.js.
    pub fn dropout(&self) -> Option<f32> {
        self.dropout
    }

    fn unk_lookup(&self, unk: &str) -> Result<u32> {
        self.vocab
            .get(unk)
            .copied()
            .ok_or_else(|| Error::Encode(format!("BPE unk_token {unk:?} is not in the vocabulary")))
    }

    /// Id of the initial symbol for char `c` (with prefix when not first, suffix when last).
    #[inline]
    fn char_symbol(&self, c: char, s: &str, first: bool, last: bool) -> Option<u32> {
        if last && self.end_of_word_suffix.is_some() {
            let mut k = String::with_capacity(16);
            if !first {
                if let Some(p) = &self.continuing_subword_prefix {
                    k.push_str(p);
                }
            }
            k.push_str(s);
            k.push_str(self.end_of_word_suffix.as_deref().unwrap_or(""));
            return self.vocab.get(&k).copied();
        }
        if !first && self.continuing_subword_prefix.is_some() {
            return self.prefixed_char_ids.get(&c).copied();
        }
        if (c as usize) < DIRECT_CHARS {
            let id = self.char_ids[c as usize];
            (id != NO_ID).then_some(id)
        } else {
            self.vocab.get(s).copied()
        }
    }

    /// Byte-fallback ids for the bytes of `prefix? + s + suffix?` (all or nothing), pushed
    /// as symbols of length 1 each like `tokenizers` does (prefix/suffix bytes included).
    fn push_byte_fallback(&self, syms: &mut Vec<Symbol>, s: &str, first: bool, last: bool) -> bool {
        let prefix = if first {
            ""
        } else {
            self.continuing_subword_prefix.as_deref().unwrap_or("")
        };
        let suffix = if last {
            self.end_of_word_suffix.as_deref().unwrap_or("")
        } else {
            ""
        };
        let bytes = || prefix.bytes().chain(s.bytes()).chain(suffix.bytes());
        if bytes().any(|b| self.byte_ids[b as usize] == NO_ID) {
            return false;
        }
        for b in bytes() {
            push_symbol(syms, self.byte_ids[b as usize], 1);
        }
        true
    }

    /// Split `w` into initial symbols (chars / byte fallback / unk) and apply all merges.
    /// Calls `emit(id, byte_len)` for each resulting token, in order.
    fn merge_word(&self, w: &str, mut emit: impl FnMut(u32, u32)) -> Result<()> {
        if w.len() >= u32::MAX as usize / 2 {
            return Err(Error::Encode("BPE: piece longer than 2 GiB".into()));
        }
        SCRATCH.with(|cell| {
            // A re-entrant call cannot happen (no callbacks into user code), but stay safe.
            let mut guard;
            let mut local;
            let (syms, heap, ranked) = match cell.try_borrow_mut() {
                Ok(g) => {
                    guard = g;
                    let (s, h, r) = &mut *guard;
                    (s, h, r)
                }
                Err(_) => {
                    local = (Vec::new(), BinaryHeap::new(), BinaryHeap::new());
                    (&mut local.0, &mut local.1, &mut local.2)
                }
            };
            syms.clear();
            heap.clear();
            ranked.clear();
            let r = self.initial_symbols(w, syms).map(|()| {
                if self.scan_ok && syms.len() <= SCAN_MAX {
                    self.merge_scan(syms, &mut emit);
                    return;
                }
                if self.scan_ok {
                    self.merge_ranked(syms, ranked);
                } else {
                    self.merge_all(syms, heap);
                }
                let mut i = 0u32;
                while (i as usize) < syms.len() {
                    let s = syms[i as usize];
                    emit(s.id, s.len);
                    i = s.next;
                }
            });
            // Do not keep huge buffers alive in the thread after an adversarial piece.
            if syms.capacity() > 1 << 16 {
                *syms = Vec::new();
                *heap = BinaryHeap::new();
                *ranked = BinaryHeap::new();
            }
            r
        })
    }

    fn initial_symbols(&self, w: &str, syms: &mut Vec<Symbol>) -> Result<()> {
        let mut unk: Option<(u32, u32)> = None;
        let mut it = w.char_indices().peekable();
        while let Some((i, c)) = it.next() {
            let end = it.peek().map_or(w.len(), |&(e, _)| e);
            let s = &w[i..end];
            let (first, last) = (i == 0, end == w.len());
            let byte_len = (end - i) as u32;
            if let Some(id) = self.char_symbol(c, s, first, last) {
                if let Some((uid, ulen)) = unk.take() {
                    push_symbol(syms, uid, ulen);
                }
                push_symbol(syms, id, byte_len);
                continue;
            }
            if self.byte_fallback && self.push_byte_fallback(syms, s, first, last) {
                continue;
            }
            // Unknown char: with no unk_token `tokenizers` silently drops it.
            if let Some(unk_tok) = &self.unk_token {
                unk = match (unk, self.fuse_unk) {
                    (Some((uid, ulen)), true) => Some((uid, ulen + byte_len)),
                    (Some((uid, ulen)), false) => {
                        push_symbol(syms, uid, ulen);
                        Some((self.unk_lookup(unk_tok)?, byte_len))
                    }
                    (None, _) => Some((self.unk_lookup(unk_tok)?, byte_len)),
                };
            }
        }
        if let Some((uid, ulen)) = unk {
            push_symbol(syms, uid, ulen);
        }
        Ok(())
    }

    #[inline]
    fn pair(&self, a: u32, b: u32) -> (u32, u32) {
        self.merges
            .get(&pair_key(a, b))
            .copied()
            .unwrap_or((NO_RANK, 0))
    }

    /// Short words: repeatedly merge the leftmost pair of lowest rank, by linear scans over
    /// small stack arrays. Same result as the heap (popped by `(rank, position)`); it skips
    /// the heap and its stale-entry lookups. Only used when `scan_ok` (see there).
    fn merge_scan(&self, syms: &[Symbol], emit: &mut impl FnMut(u32, u32)) {
        let mut m = syms.len();
        let mut ids = [0u32; SCAN_MAX];
        let mut lens = [0u32; SCAN_MAX];
        for (i, s) in syms.iter().enumerate() {
            ids[i] = s.id;
            lens[i] = s.len;
        }
        // rk[i]: (rank, merged id) of the pair (i, i + 1).
        let mut rk = [(NO_RANK, 0u32); SCAN_MAX];
        if !self.merges.is_empty() {
            for i in 0..m.saturating_sub(1) {
                rk[i] = self.pair(ids[i], ids[i + 1]);
            }
        }
        while m > 1 {
            let mut best = 0;
            for i in 1..m - 1 {
                if rk[i].0 < rk[best].0 {
                    best = i;
                }
            }
            let (rank, new_id) = rk[best];
            if rank == NO_RANK {
                break;
            }
            let i = best;
            ids[i] = new_id;
            lens[i] += lens[i + 1];
            ids.copy_within(i + 2..m, i + 1);
            lens.copy_within(i + 2..m, i + 1);
            if i + 2 < m {
                rk.copy_within(i + 2..m - 1, i + 1);
            }
            m -= 1;
            rk[i] = if i + 1 < m {
                self.pair(ids[i], ids[i + 1])
            } else {
                (NO_RANK, 0)
            };
            if i > 0 {
                rk[i - 1] = self.pair(ids[i - 1], ids[i]);
            }
        }
        for i in 0..m {
            emit(ids[i], lens[i]);
        }
    }

    /// [`Self::merge_all`] with 8-byte heap entries (half the memory traffic on long pieces,
    /// where the heap no longer fits the caches) and the first entries heapified in O(n).
    /// Only when `scan_ok`: then each rank is one pair and each pair one merged id, so "the
    /// pair at `pos` still has this rank" is exactly `tokenizers`' "still gives this id".
    fn merge_ranked(&self, syms: &mut [Symbol], heap: &mut RankHeap) {
        let n = syms.len();
        if n < 2 || self.merges.is_empty() {
            return;
        }
        let mut first = std::mem::take(heap).into_vec();
        first.clear();
        for i in 0..n - 1 {
            let (rank, _) = self.pair(syms[i].id, syms[i + 1].id);
            if rank != NO_RANK {
                first.push(Reverse(((rank as u64) << 32) | i as u64));
            }
        }
        *heap = BinaryHeap::from(first);
        while let Some(Reverse(key)) = heap.pop() {
            let pos = (key & 0xFFFF_FFFF) as usize;
            let cur = syms[pos];
            if cur.len == 0 || cur.next as usize >= n {
                continue;
            }
            let next_pos = cur.next as usize;
            let right = syms[next_pos];
            let (rank, new_id) = self.pair(cur.id, right.id);
            if rank as u64 != key >> 32 {
                continue;
            }
            syms[pos].id = new_id;
            syms[pos].len += right.len;
            syms[pos].next = right.next;
            syms[next_pos].len = 0;
            if (right.next as usize) < n {
                syms[right.next as usize].prev = pos as u32;
            }
            let cur = syms[pos];
            if (cur.prev as usize) < n {
                let p = cur.prev as usize;
                let (rank, _) = self.pair(syms[p].id, cur.id);
                if rank != NO_RANK {
                    heap.push(Reverse(((rank as u64) << 32) | p as u64));
                }
            }
            if (cur.next as usize) < n {
                let (rank, _) = self.pair(cur.id, syms[cur.next as usize].id);
                if rank != NO_RANK {
                    heap.push(Reverse(((rank as u64) << 32) | pos as u64));
                }
            }
        }
    }

    /// The merge loop of `tokenizers`' `Word::merge_all` (dropout 0), entry for entry: a
    /// min-heap on `(rank, pos)`, stale entries detected by the merged id.
    fn merge_all(&self, syms: &mut [Symbol], heap: &mut MergeHeap) {
        let n = syms.len();
        if n < 2 || self.merges.is_empty() {
            return;
        }
        for i in 0..n - 1 {
            if let Some(&(rank, new_id)) = self.merges.get(&pair_key(syms[i].id, syms[i + 1].id)) {
                heap.push(Reverse((((rank as u64) << 32) | i as u64, new_id)));
            }
        }
        while let Some(Reverse((key, new_id))) = heap.pop() {
            let pos = (key & 0xFFFF_FFFF) as usize;
            let cur = syms[pos];
            if cur.len == 0 || cur.next as usize >= n {
                continue;
            }
            let next_pos = cur.next as usize;
            let right = syms[next_pos];
            match self.merges.get(&pair_key(cur.id, right.id)) {
                Some(&(_, id)) if id == new_id => {}
                _ => continue,
            }
            syms[pos].id = new_id;
            syms[pos].len += right.len;
            syms[pos].next = right.next;
            syms[next_pos].len = 0;
            if (right.next as usize) < n {
                syms[right.next as usize].prev = pos as u32;
            }
            let cur = syms[pos];
            if (cur.prev as usize) < n {
                let p = cur.prev as usize;
                if let Some(&(rank, nid)) = self.merges.get(&pair_key(syms[p].id, cur.id)) {
                    heap.push(Reverse((((rank as u64) << 32) | p as u64, nid)));
                }
            }
            if (cur.next as usize) < n {
                let nx = cur.next as usize;
                if let Some(&(rank, nid)) = self.merges.get(&pair_key(cur.id, syms[nx].id)) {
                    heap.push(Reverse((((rank as u64) << 32) | pos as u64, nid)));
                }
            }
        }
    }

    /// `(id, byte_len)` per output token, with the cache; `None` from `ignore_merges` hits
    /// is handled by the callers.
    #[inline]
    fn encode_with<R>(&self, piece: &str, f: impl FnMut(&[(u32, u32)]) -> R) -> Result<R> {
        if piece.len() >= SPLIT_MIN_LEN {
            if let Some(sp) = &self.splitter {
                return self.encode_split(sp, piece, f);
            }
        }
        self.encode_part(piece, f)
    }

    /// Whether `c` is a single-char token (its initial symbol is that char, not bytes/unk).
    #[inline]
    fn is_char_token(&self, c: char) -> bool {
        if (c as usize) < DIRECT_CHARS {
            self.char_ids[c as usize] != NO_ID
        } else {
            let mut buf = [0u8; 4];
            self.vocab.contains_key(&*c.encode_utf8(&mut buf))
        }
    }

    /// A long piece, cut at the splitter's boundaries, each part merged (and cached) alone.
    fn encode_split<R>(
        &self,
        sp: &Splitter,
        piece: &str,
        f: impl FnMut(&[(u32, u32)]) -> R,
    ) -> Result<R> {
        let mut out: Vec<(u32, u32)> = Vec::with_capacity(piece.len() / 2);
        let mut start = 0;
        let mut prev: Option<char> = None;
        for (i, c) in piece.char_indices() {
            let p = prev.replace(c);
            let Some(x) = p else { continue };
            let cu = c as u32;
            if cu >= 0x10000 || sp.cand[cu as usize >> 6] & (1 << (cu & 63)) == 0 {
                continue;
            }
            let Some(left) = sp.left_of.get(&c) else {
                continue;
            };
            if left.contains(&x) || !self.is_char_token(x) {
                continue;
            }
            self.encode_part(&piece[start..i], |v| out.extend_from_slice(v))?;
            start = i;
        }
        if start == 0 {
            return self.encode_part(piece, f);
        }
        self.encode_part(&piece[start..], |v| out.extend_from_slice(v))?;
        let mut f = f;
        Ok(f(&out))
    }

    /// One piece (or part of one): the cache, else the merges.
    #[inline]
    fn encode_part<R>(&self, piece: &str, mut f: impl FnMut(&[(u32, u32)]) -> R) -> Result<R> {
        if let Some(cache) = &self.cache {
            if piece.len() < CACHE_MAX_PIECE_LEN {
                if let Some(r) = cache.with(piece, |v| f(v)) {
                    return Ok(r);
                }
                let mut out = Vec::with_capacity(piece.len());
                self.merge_word(piece, |id, len| out.push((id, len)))?;
                let r = f(&out);
                cache.insert(piece, out.into_boxed_slice());
                return Ok(r);
            }
        }
        let mut out = Vec::with_capacity(piece.len().min(1 << 16));
        self.merge_word(piece, |id, len| out.push((id, len)))?;
        Ok(f(&out))
    }

    #[inline]
    fn token_str(&self, id: u32) -> String {
        self.vocab_r.get(id).unwrap_or_default().to_owned()
    }
}

#[inline]
fn push_symbol(syms: &mut Vec<Symbol>, id: u32, len: u32) {
    let i = syms.len() as u32;
    // `prev`/`next` out of range (u32::MAX / len) mean "none".
    syms.push(Symbol {
        id,
        prev: i.wrapping_sub(1),
        next: i + 1,
        len,
    });
}

impl Model for Bpe {
    fn tokenize(&self, piece: &str) -> Result<Vec<Token>> {
        if piece.is_empty() {
            return Ok(vec![]);
        }
        if self.ignore_merges {
            if let Some(&id) = self.vocab.get(piece) {
                return Ok(vec![Token::new(id, piece.to_owned(), (0, piece.len()))]);
            }
        }
        self.encode_with(piece, |syms| {
            let mut pos = 0usize;
            syms.iter()
                .map(|&(id, len)| {
                    let start = pos;
                    pos += len as usize;
                    Token::new(id, self.token_str(id), (start, pos))
                })
                .collect()
        })
    }

    fn tokenize_ids(&self, piece: &str, out: &mut Vec<(u32, (usize, usize))>) -> Result<()> {
        if piece.is_empty() {
            return Ok(());
        }
        if self.ignore_merges {
            if let Some(&id) = self.vocab.get(piece) {
                out.push((id, (0, piece.len())));
                return Ok(());
            }
        }
        self.encode_with(piece, |syms| {
            let mut pos = 0usize;
            out.extend(syms.iter().map(|&(id, len)| {
                let start = pos;
                pos += len as usize;
                (id, (start, pos))
            }));
        })
    }

    fn token_to_id(&self, token: &str) -> Option<u32> {
        self.vocab.get(token).copied()
    }

    fn id_to_token(&self, id: u32) -> Option<&str> {
        self.vocab_r.get(id)
    }

    fn vocab_size(&self) -> usize {
        self.vocab.len()
    }
}

/// Merges as `["a b", ...]` (split on the single space, as `tokenizers` does) or
/// `[["a", "b"], ...]`.
fn parse_merges(v: Option<&Value>) -> Result<Vec<(String, String)>> {
    let v = v.ok_or_else(|| Error::config("model (BPE): missing \"merges\""))?;
    let list = v.as_array().ok_or_else(|| {
        Error::config(format!(
            "model (BPE).merges: expected a list, got {}",
            util::kind(v)
        ))
    })?;
    let mut out = Vec::with_capacity(list.len());
    for (i, m) in list.iter().enumerate() {
        match m {
            Value::String(s) => {
                let mut parts = s.split(' ');
                match (parts.next(), parts.next(), parts.next()) {
                    (Some(a), Some(b), None) => out.push((a.to_owned(), b.to_owned())),
                    _ => {
                        return Err(Error::config(format!(
                        "model (BPE).merges[{i}]: {s:?} is not two tokens separated by one space"
                    )))
                    }
                }
            }
            Value::Array(pair) => match pair.as_slice() {
                [Value::String(a), Value::String(b)] => out.push((a.clone(), b.clone())),
                _ => {
                    return Err(Error::config(format!(
                        "model (BPE).merges[{i}]: expected a pair of strings, got {m}"
                    )))
                }
            },
            other => {
                return Err(Error::config(format!(
                    "model (BPE).merges[{i}]: expected a string or a pair, got {}",
                    util::kind(other)
                )))
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vocab(toks: &[&str]) -> Vec<(String, u32)> {
        toks.iter()
            .enumerate()
            .map(|(i, t)| (t.to_string(), i as u32))
            .collect()
    }
    fn pairs(m: &[(&str, &str)]) -> Vec<(String, String)> {
        m.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }
    fn values(b: &Bpe, s: &str) -> Vec<String> {
        b.tokenize(s)
            .unwrap()
            .into_iter()
            .map(|t| t.value)
            .collect()
    }

    #[test]
    fn merges_by_rank_then_leftmost() {
        let b = Bpe::new(
            vocab(&["a", "b", "aa", "ab", "aaa"]),
            pairs(&[("a", "b"), ("a", "a"), ("aa", "a")]),
            BpeConfig::default(),
        )
        .unwrap();
        // (a,b) outranks (a,a): "aab" → a + ab, not aa + b.
        assert_eq!(values(&b, "aab"), ["a", "ab"]);
        // Equal ranks: leftmost first, then (aa, a) applies.
        assert_eq!(values(&b, "aaa"), ["aaa"]);
        // (a,a) at 0 and at 2 both outrank (aa,a).
        assert_eq!(values(&b, "aaaa"), ["aa", "aa"]);
        assert_eq!(values(&b, "aaaaa"), ["aa", "aaa"]);
        let t = b.tokenize("aab").unwrap();
        assert_eq!(t[1].offsets, (1, 3));
        assert!(b.tokenize("").unwrap().is_empty());
    }

    #[test]
    fn unknown_chars() {
        let v = vocab(&["<unk>", "a"]);
        // No unk token: `tokenizers` silently drops unknown chars.
        let b = Bpe::new(v.clone(), vec![], BpeConfig::default()).unwrap();
        let t = b.tokenize("xax").unwrap();
        assert_eq!(t, vec![Token::new(1, "a".into(), (0, 1))]);
        let fuse = BpeConfig {
            unk_token: Some("<unk>".into()),
            fuse_unk: true,
            ..Default::default()
        };
        let b = Bpe::new(v.clone(), vec![], fuse).unwrap();
        let t = b.tokenize("éxa").unwrap();
        assert_eq!(t[0], Token::new(0, "<unk>".into(), (0, 3)));
        // unk token missing from the vocabulary: a clear error, no panic.
        let bad = BpeConfig {
            unk_token: Some("[UNK]".into()),
            ..Default::default()
        };
        let b = Bpe::new(v, vec![], bad).unwrap();
        assert!(matches!(b.tokenize("x"), Err(Error::Encode(m)) if m.contains("[UNK]")));
        assert!(b.tokenize("a").is_ok());
    }

    #[test]
    fn byte_fallback_offsets_are_per_byte() {
        let mut v = vocab(&["<unk>"]);
        for b in 0..256u32 {
            v.push((format!("<0x{b:02X}>"), b + 1));
        }
        let cfg = BpeConfig {
            unk_token: Some("<unk>".into()),
            byte_fallback: true,
            ..Default::default()
        };
        let b = Bpe::new(v, vec![], cfg).unwrap();
        let t = b.tokenize("é").unwrap();
        assert_eq!(
            t,
            vec![
                Token::new(0xC3 + 1, "<0xC3>".into(), (0, 1)),
                Token::new(0xA9 + 1, "<0xA9>".into(), (1, 2))
            ]
        );
    }

    #[test]
    fn long_pieces_are_fast_and_uncached() {
        let b = Bpe::new(
            vocab(&["a", "x", "aa", "aaaa"]),
            pairs(&[("a", "a"), ("aa", "aa")]),
            BpeConfig::default(),
        )
        .unwrap();
        // 100k chars without any merge, and 100k chars with a cascade of merges: both must be
        // near-linear (a quadratic merge loop would take minutes here).
        let a = "a".repeat(100_000);
        let t = b.tokenize(&a).unwrap();
        assert_eq!(t.len(), 25_000);
        assert!(t.iter().all(|t| t.value == "aaaa"));
        assert_eq!(t.last().unwrap().offsets, (99_996, 100_000));
        assert_eq!(b.cache.as_ref().unwrap().len(), 0);
        // `x` never merges, so the splitter cuts this piece into 100k parts of one char, all
        // the same cached part.
        let x = "x".repeat(100_000);
        assert_eq!(b.tokenize(&x).unwrap().len(), 100_000);
        assert_eq!(b.cache.as_ref().unwrap().len(), 1);
    }

    #[test]
    fn cache_stays_bounded() {
        let b = Bpe::new(vocab(&["a", "b"]), vec![], BpeConfig::default()).unwrap();
        for i in 0..40_000u32 {
            let w: String = format!("{i:b}")
                .chars()
                .map(|c| if c == '0' { 'a' } else { 'b' })
                .collect();
            b.tokenize(&w).unwrap();
        }
        assert!(b.cache.as_ref().unwrap().len() <= 2 * (CACHE_CAPACITY + 16));
    }

    #[test]
    fn parallel_results_equal_sequential() {
        use rayon::prelude::*;
        let b = Bpe::new(
            vocab(&["a", "b", "ab", "ba", "aba"]),
            pairs(&[("a", "b"), ("b", "a"), ("ab", "a")]),
            BpeConfig::default(),
        )
        .unwrap();
        let words: Vec<String> = (0..5000u32)
            .map(|i| format!("{i:b}").replace('0', "a").replace('1', "b"))
            .collect();
        let seq: Vec<_> = words.iter().map(|w| b.tokenize(w).unwrap()).collect();
        let par: Vec<_> = words.par_iter().map(|w| b.tokenize(w).unwrap()).collect();
        assert_eq!(seq, par);
    }

    #[test]
    fn malformed_configs_are_errors() {
        let cases = [
            json!({"type": "BPE", "merges": []}),
            json!({"type": "BPE", "vocab": {"a": 0}}),
            json!({"type": "BPE", "vocab": ["a"], "merges": []}),
            json!({"type": "BPE", "vocab": {"a": -1}, "merges": []}),
            json!({"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a c"]}),
            json!({"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a b"]}),
            json!({"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a b c"]}),
            json!({"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": [["a", 1]]}),
            json!({"type": "BPE", "vocab": {"a": 0}, "merges": [], "dropout": 2.0}),
            json!({"type": "BPE", "vocab": {"a": 0}, "merges": [], "unk_token": 3}),
            // Right part shorter than the prefix: `tokenizers` would panic slicing it.
            json!({"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"],
                   "continuing_subword_prefix": "###"}),
        ];
        for c in cases {
            let r = crate::tokenizer::models::from_json(&c);
            assert!(matches!(r, Err(Error::Config(_))), "{c}: {r:?}");
        }
        let r = crate::tokenizer::models::from_json(
            &json!({"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a c"]}),
        );
        assert!(format!("{}", r.unwrap_err()).contains("\"c\""));
    }

    #[test]
    fn empty_prefix_and_suffix_mean_none() {
        let v = json!({"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": [["a", "b"]],
                       "continuing_subword_prefix": "", "end_of_word_suffix": ""});
        let m = crate::tokenizer::models::from_json(&v).unwrap();
        let t = m.tokenize("abab").unwrap();
        assert_eq!(t.iter().map(|t| t.id).collect::<Vec<_>>(), [2, 2]);
    }

    #[test]
    fn scan_and_heap_merges_agree() {
        // Random merge tables over a 3-letter alphabet, words up to 3 * SCAN_MAX chars: the
        // scan path (short words) and the heap path (`tokenizers`' algorithm) must agree.
        let mut rnd = crate::test_util::xorshift_indices(0x2545_F491_4F6C_DD1Du64);
        for _ in 0..50 {
            let mut toks: Vec<String> = vec!["a".into(), "b".into(), "c".into()];
            let mut merges = vec![];
            for _ in 0..30 {
                let (x, y) = (toks[rnd(toks.len())].clone(), toks[rnd(toks.len())].clone());
                let xy = format!("{x}{y}");
                if xy.len() <= 8 && !merges.contains(&(x.clone(), y.clone())) {
                    if !toks.contains(&xy) {
                        toks.push(xy);
                    }
                    merges.push((x, y));
                }
            }
            let v: Vec<(String, u32)> = toks
                .iter()
                .enumerate()
                .map(|(i, t)| (t.clone(), i as u32))
                .collect();
            let cfg = BpeConfig {
                cache_capacity: Some(0),
                ..Default::default()
            };
            let fast = Bpe::new(v.clone(), merges.clone(), cfg.clone()).unwrap();
            assert!(fast.scan_ok);
            let mut heap = Bpe::new(v, merges, cfg).unwrap();
            heap.scan_ok = false;
            heap.splitter = None;
            for _ in 0..200 {
                let len = 1 + rnd(3 * SCAN_MAX);
                let w: String = (0..len).map(|_| ['a', 'b', 'c'][rnd(3)]).collect();
                assert_eq!(
                    fast.tokenize(&w).unwrap(),
                    heap.tokenize(&w).unwrap(),
                    "{w}"
                );
            }
        }
    }

    #[test]
    fn split_long_pieces_equal_whole_merges() {
        // SentencePiece-like tables: `▁` starts words and only merges after `▁` (runs of
        // spaces), plus random merges over letters, some of which cross into `▁`-words.
        // Long pieces cut by the splitter must give exactly the whole-piece heap merges;
        // `q` is not in the vocabulary (byte fallback) and `é` neither (unk).
        let mut rnd = crate::test_util::xorshift_indices(0x9E37_79B9_7F4A_7C15u64);
        let alphabet = ['▁', 'a', 'b', 'c', 'd', 'q', 'é'];
        for round in 0..40 {
            let mut toks: Vec<String> = ["<unk>", "▁", "a", "b", "c", "d"]
                .iter()
                .map(|s| s.to_string())
                .collect();
            toks.extend((0..256).map(|b| format!("<0x{b:02X}>")));
            let base = toks.len();
            let mut merges = vec![];
            if round % 4 == 0 {
                // A merge whose left part is a byte token: `q▁` must not be cut.
                merges.push(("<0x71>".to_string(), "▁".to_string()));
                toks.push("<0x71>▁".into());
            }
            for _ in 0..40 {
                // The base tokens, `<0x71>` (`q`'s byte fallback) and the merged tokens.
                let pick = |r: usize| match r {
                    0..6 => r,
                    6 => 6 + 0x71,
                    _ => base + r - 7,
                };
                let n = 7 + (toks.len() - base);
                let (x, y) = (toks[pick(rnd(n))].clone(), toks[pick(rnd(n))].clone());
                if x == "<unk>" || y == "<unk>" {
                    continue;
                }
                // Mostly SentencePiece-shaped: `▁` only after `▁`; sometimes not (round % 4).
                if y.starts_with('▁') && !x.ends_with('▁') && round % 4 != 0 {
                    continue;
                }
                let xy = format!("{x}{y}");
                if xy.chars().count() <= 6 && !merges.contains(&(x.clone(), y.clone())) {
                    if !toks.contains(&xy) {
                        toks.push(xy);
                    }
                    merges.push((x, y));
                }
            }
            let v: Vec<(String, u32)> = toks
                .iter()
                .enumerate()
                .map(|(i, t)| (t.clone(), i as u32))
                .collect();
            let cfg = BpeConfig {
                unk_token: Some("<unk>".into()),
                byte_fallback: round % 2 == 0,
                fuse_unk: round % 3 == 0,
                cache_capacity: Some(if round % 5 == 0 { 0 } else { 1000 }),
                ..Default::default()
            };
            let split = Bpe::new(v.clone(), merges.clone(), cfg.clone()).unwrap();
            assert!(split.splitter.is_some());
            let mut whole = Bpe::new(v, merges, cfg).unwrap();
            whole.scan_ok = false;
            whole.splitter = None;
            for _ in 0..100 {
                let len = 1 + rnd(6 * SPLIT_MIN_LEN);
                let w: String = (0..len).map(|_| alphabet[rnd(alphabet.len())]).collect();
                assert_eq!(
                    split.tokenize(&w).unwrap(),
                    whole.tokenize(&w).unwrap(),
                    "{w}"
                );
                let (mut a, mut b) = (vec![], vec![]);
                split.tokenize_ids(&w, &mut a).unwrap();
                whole.tokenize_ids(&w, &mut b).unwrap();
                assert_eq!(a, b, "{w}");
            }
        }
    }

    #[test]
    fn degenerate_vocab_uses_heap() {
        let b = Bpe::new(vocab(&["a", "", "b"]), vec![], BpeConfig::default()).unwrap();
        assert!(!b.scan_ok);
        let b = Bpe::new(
            vec![("a".into(), 0), ("b".into(), 0)],
            vec![],
            BpeConfig::default(),
        )
        .unwrap();
        assert!(!b.scan_ok);
    }

    #[test]
    fn is_send_sync() {
        fn check<T: Send + Sync>() {}
        check::<Bpe>();
    }
}
