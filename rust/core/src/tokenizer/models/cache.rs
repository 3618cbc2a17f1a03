//! A small bounded, thread-safe cache from piece → model output.
//!
//! Sharded so rayon workers rarely touch the same lock; every access uses `try_read` /
//! `try_write`, so a contended shard is simply skipped (the caller recomputes) instead of
//! blocking. Each shard keeps two generations: when the current one is full it becomes the
//! old one (the previous old one is dropped), and hits in the old generation are promoted.
//! That is an approximate LRU: memory stays bounded (2 × capacity) on adversarial input, hot
//! entries survive, and the cache re-adapts when the text changes (unlike `tokenizers`, which
//! stops inserting once full).
use rustc_hash::{FxHashMap, FxHasher};
use std::hash::{Hash, Hasher};
use std::sync::RwLock;

const SHARDS: usize = 16;

struct Generations<V> {
    cur: FxHashMap<Box<str>, V>,
    old: FxHashMap<Box<str>, V>,
}

type Shard<V> = RwLock<Generations<V>>;

pub(crate) struct Cache<V> {
    shards: Box<[Shard<V>]>,
    per_shard: usize,
}

impl<V> std::fmt::Debug for Cache<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Cache(capacity={})", self.per_shard * SHARDS)
    }
}

impl<V> Cache<V> {
    pub(crate) fn new(capacity: usize) -> Self {
        let per_shard = capacity.div_ceil(SHARDS).max(1);
        let shards = (0..SHARDS)
            .map(|_| {
                RwLock::new(Generations {
                    cur: FxHashMap::default(),
                    old: FxHashMap::default(),
                })
            })
            .collect();
        Cache { shards, per_shard }
    }

    #[inline]
    fn shard(&self, key: &str) -> &Shard<V> {
        let mut h = FxHasher::default();
        key.hash(&mut h);
        // High bits: FxHash's low bits are weak for short keys.
        &self.shards[(h.finish() >> 60) as usize % SHARDS]
    }

    /// Run `f` on the cached value, if present and the shard is not being written.
    #[inline]
    pub(crate) fn with<R>(&self, key: &str, f: impl FnOnce(&V) -> R) -> Option<R> {
        let shard = self.shard(key);
        let r = {
            let g = shard.try_read().ok()?;
            if let Some(v) = g.cur.get(key) {
                return Some(f(v));
            }
            f(g.old.get(key)?)
        };
        // Hit in the old generation: promote it so it survives the next rotation.
        if let Ok(mut g) = shard.try_write() {
            if let Some((k, v)) = g.old.remove_entry(key) {
                self.put(&mut g, k, v);
            }
        }
        Some(r)
    }

    fn put(&self, g: &mut Generations<V>, key: Box<str>, value: V) {
        if g.cur.len() >= self.per_shard {
            g.old = std::mem::take(&mut g.cur);
        }
        g.cur.insert(key, value);
    }

    pub(crate) fn insert(&self, key: &str, value: V) {
        if let Ok(mut g) = self.shard(key).try_write() {
            self.put(&mut g, Box::from(key), value);
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.read().map(|g| g.cur.len() + g.old.len()).unwrap_or(0))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded() {
        let c: Cache<u32> = Cache::new(64);
        for i in 0..10_000u32 {
            c.insert(&i.to_string(), i);
        }
        assert!(c.len() <= 2 * 64);
        c.insert("x", 7);
        assert_eq!(c.with("x", |v| *v), Some(7));
        assert_eq!(c.with("y", |v| *v), None);
    }

    #[test]
    fn hot_entries_survive_rotation() {
        let c: Cache<u32> = Cache::new(16 * 4);
        c.insert("hot", 1);
        for i in 0..10_000u32 {
            c.insert(&i.to_string(), i);
            assert_eq!(c.with("hot", |v| *v), Some(1), "lost after {i}");
        }
    }
}
