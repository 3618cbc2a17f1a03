//! Helpers shared by the unit tests.

/// A seeded xorshift64 stream of indices: `rnd(n)` is in `0..n`. Randomised tests use it to be
/// reproducible without a dependency.
pub(crate) fn xorshift_indices(mut seed: u64) -> impl FnMut(usize) -> usize {
    move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    }
}
