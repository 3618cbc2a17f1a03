//! Row-wise numeric helpers shared by processors and samplers (f32 like torch's CPU kernels;
//! cumulative sums in f64 because torch's CPU `cumsum` accumulates float32 in double).

use rayon::prelude::*;
use std::cmp::Ordering;

/// Defines a function that runs an `#[inline(always)]` body through an AVX-512 or AVX2 build of
/// it where the CPU has one, chosen at run time:
///
/// ```ignore
/// simd_dispatch! {
///     /// docs of `name`
///     pub(crate) fn name(row: &[f32]) -> f32 = name_generic;
/// }
/// ```
///
/// The wheels target baseline x86-64, whose SSE2 vectorises 4 floats at a time; the same source in
/// a wider build runs the same operations in the same order (no FMA is formed), so every build
/// gives the same bits (each user has a test comparing the dispatching call with the portable one).
macro_rules! simd_dispatch {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty = $generic:ident;) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f")]
                unsafe fn avx512($($arg: $ty),*) -> $ret {
                    $generic($($arg),*)
                }
                #[target_feature(enable = "avx2")]
                unsafe fn avx2($($arg: $ty),*) -> $ret {
                    $generic($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU supports AVX-512F, checked just above
                    return unsafe { avx512($($arg),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU supports AVX2, checked just above
                    return unsafe { avx2($($arg),*) };
                }
            }
            $generic($($arg),*)
        }
    };
}
pub(crate) use simd_dispatch;

/// Below this many values per call, rows are processed on the calling thread: rayon's
/// scheduling costs more than it saves on small batches.
const PARALLEL_MIN_VALUES: usize = 1 << 16;

/// The same for one linear pass over the values (an exponential, a max, an add): waking the
/// pool costs tens of microseconds, as much as such a pass over ~100k values.
pub(crate) const LINEAR_PARALLEL_MIN_VALUES: usize = 1 << 18;

/// Runs `f(row_index, row)` on every `vocab`-sized row, in parallel for large buffers.
pub(crate) fn for_each_row<F>(logits: &mut [f32], vocab: usize, f: F)
where
    F: Fn(usize, &mut [f32]) + Sync + Send,
{
    for_each_row_over(logits, vocab, PARALLEL_MIN_VALUES, f)
}

/// [`for_each_row`] for processors that touch `work_per_row` entries of each row (a few banned or
/// penalised ids, not the whole vocabulary): in parallel only when the rows' work together
/// reaches [`PARALLEL_MIN_VALUES`]. Waking the pool for a handful of writes per row cost
/// ~150 µs a step at 8 rows (MinNewTokensLength), far more than the writes.
pub(crate) fn for_each_row_sparse<F>(logits: &mut [f32], vocab: usize, work_per_row: usize, f: F)
where
    F: Fn(usize, &mut [f32]) + Sync + Send,
{
    let rows = logits.len() / vocab.max(1);
    let min_values = if rows.saturating_mul(work_per_row) >= PARALLEL_MIN_VALUES {
        0
    } else {
        usize::MAX
    };
    for_each_row_over(logits, vocab, min_values, f)
}

/// [`for_each_row`], in parallel from `min_values` values.
pub(crate) fn for_each_row_over<F>(logits: &mut [f32], vocab: usize, min_values: usize, f: F)
where
    F: Fn(usize, &mut [f32]) + Sync + Send,
{
    let rows = logits.len() / vocab.max(1);
    if rows > 1 && logits.len() >= min_values {
        logits
            .par_chunks_mut(vocab)
            .enumerate()
            .for_each(|(i, r)| f(i, r));
    } else {
        logits
            .chunks_mut(vocab)
            .enumerate()
            .for_each(|(i, r)| f(i, r));
    }
}

/// `f(row_index, row)` of every `vocab`-sized row, collected in order; in parallel from
/// [`LINEAR_PARALLEL_MIN_VALUES`] values (for linear scans: argmax, top-n).
pub(crate) fn map_rows<T, F>(values: &[f32], vocab: usize, f: F) -> Vec<T>
where
    T: Send,
    F: Fn(usize, &[f32]) -> T + Sync + Send,
{
    let rows = values.len() / vocab.max(1);
    if rows > 1 && values.len() >= LINEAR_PARALLEL_MIN_VALUES {
        values
            .par_chunks(vocab)
            .enumerate()
            .map(|(i, r)| f(i, r))
            .collect()
    } else {
        values
            .chunks(vocab)
            .enumerate()
            .map(|(i, r)| f(i, r))
            .collect()
    }
}

/// A total order on f32 that treats -0.0 as 0.0 (IEEE comparison does) and puts NaN above
/// everything (as torch's sort/topk do). Needed because Rust's sorts may panic on a non-total
/// order.
#[inline]
pub(crate) fn cmp_f32(a: f32, b: f32) -> Ordering {
    let a = if a == 0.0 { 0.0 } else { a };
    let b = if b == 0.0 { 0.0 } else { b };
    match (a.is_nan(), b.is_nan()) {
        (false, false) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (true, true) => Ordering::Equal,
    }
}

/// Indices of `row` sorted ascending by value; ties keep index order (a stable sort).
pub(crate) fn argsort_ascending(row: &[f32]) -> Vec<u32> {
    argsort_ascending_of(row, 0..row.len() as u32)
}

/// `indices` sorted ascending by `row[i]`, ties by index. Sorting (value, index) pairs keeps
/// the data local, which is several times faster than sorting indices through the row.
pub(crate) fn argsort_ascending_of(row: &[f32], indices: impl Iterator<Item = u32>) -> Vec<u32> {
    let mut pairs: Vec<(f32, u32)> = indices.map(|i| (row[i as usize], i)).collect();
    pairs.sort_unstable_by(|a, b| cmp_f32(a.0, b.0).then(a.1.cmp(&b.1)));
    pairs.into_iter().map(|p| p.1).collect()
}

/// Up to this `k`, [`kth_largest`] scans once with a small sorted buffer instead of copying
/// the row for a selection.
const SMALL_K: usize = 128;

/// The `k`-th largest value of `row` (1-based `k`, clamped to the row length).
pub(crate) fn kth_largest(row: &[f32], k: usize) -> f32 {
    let k = k.clamp(1, row.len());
    if k <= SMALL_K {
        // descending buffer of the k largest seen so far; most values fail the first test
        let mut top: Vec<f32> = Vec::with_capacity(k + 1);
        for &x in row {
            if top.len() == k && cmp_f32(x, top[k - 1]).is_le() {
                continue;
            }
            let pos = top.partition_point(|&y| cmp_f32(y, x).is_ge());
            top.insert(pos, x);
            top.truncate(k);
        }
        return top[k - 1];
    }
    let mut buf = row.to_vec();
    let (_, kth, _) = buf.select_nth_unstable_by(k - 1, |a, b| cmp_f32(*b, *a));
    *kth
}

/// Maximum of a row (NaN-propagating like torch's `max`).
#[inline(always)]
pub(crate) fn row_max(row: &[f32]) -> f32 {
    // lane-wise maxima and NaN flags: one vectorisable pass (see `argmax`)
    const LANES: usize = 16;
    let mut lanes = [f32::NEG_INFINITY; LANES];
    let mut nan = [false; LANES];
    let chunks = row.chunks_exact(LANES);
    let tail = chunks.remainder();
    for chunk in chunks {
        for j in 0..LANES {
            let x = chunk[j];
            nan[j] |= x.is_nan();
            lanes[j] = if x > lanes[j] { x } else { lanes[j] };
        }
    }
    let mut m = f32::NEG_INFINITY;
    for &x in lanes.iter().chain(tail) {
        if x.is_nan() {
            return f32::NAN;
        }
        if x > m {
            m = x;
        }
    }
    if nan.iter().any(|&n| n) {
        return f32::NAN;
    }
    m
}

/// `e^x` in f32 from plain arithmetic (Cephes' `expf`: reduction by ln 2, degree-5 polynomial,
/// within 1 ulp of the exact value for x in [-87.3, 88]). Unlike libm's `expf` it inlines and
/// vectorises, and gives the same bits on every platform. Inputs are clamped to [-87.3, 88]
/// (NaN becomes e^-87.3): the callers only pass finite `x - max <= 0`, or -inf.
#[inline(always)]
pub(crate) fn exp_f32(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    const ROUND: f32 = 12_582_912.0; // 1.5 * 2^23: adding it rounds to an integer in the low bits
                                     // upper bound 88 keeps n <= 127 (at the exact limit 88.72, n would round to 128)
    #[allow(clippy::manual_clamp)] // max/min, unlike clamp, vectorise to maxps/minps here
    let x = x.max(-87.336_55).min(88.0);
    let t = x * LOG2E + ROUND;
    let n = t - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_2e-4_f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5; // Cephes' 5.0000001201e-1 rounds to 0.5 in f32
    let y = p * r * r + r + 1.0;
    // 2^n from the exponent bits; n (in [-126, 127]) is read from t's low mantissa bits
    let n_bits = t.to_bits().wrapping_sub(ROUND.to_bits()).wrapping_add(127);
    y * f32::from_bits(n_bits << 23)
}

simd_dispatch! {
    /// `sum(exp(x - m))` over a row: f32 exponentials, summed in f32 over blocks of 16 per lane
    /// (vectorisable) and the block sums in f64, so the error stays near f32 rounding of one term.
    /// (The 16 "lanes" are the code's, not the hardware's: beam search spent most of its step here
    /// before the wider builds.)
    fn sum_exp_shifted(row: &[f32], m: f32) -> f64 = sum_exp_shifted_generic;
}

#[inline(always)]
fn sum_exp_shifted_generic(row: &[f32], m: f32) -> f64 {
    const LANES: usize = 16;
    const BLOCK: usize = LANES * 16;
    let mut total = 0f64;
    let blocks = row.chunks_exact(BLOCK);
    let tail = blocks.remainder();
    for block in blocks {
        let mut acc = [0f32; LANES];
        for chunk in block.chunks_exact(LANES) {
            for j in 0..LANES {
                acc[j] += exp_f32(chunk[j] - m);
            }
        }
        total += acc.iter().map(|&a| a as f64).sum::<f64>();
    }
    total + tail.iter().map(|&x| exp_f32(x - m) as f64).sum::<f64>()
}

simd_dispatch! {
    /// Index of the first maximum (torch.argmax; a NaN counts as the maximum).
    ///
    /// Greedy decoding calls this on every row of every step (32k-250k logits). A scalar scan with
    /// a running index is a loop-carried dependency; here the vectorised `row_max`, then the first
    /// 64-value block that holds it (compares OR-ed per block), then the place in that block.
    /// 152k logits: 25 µs -> 7 µs.
    pub fn argmax(row: &[f32]) -> usize = argmax_generic;
}

#[inline(always)]
fn argmax_generic(row: &[f32]) -> usize {
    let max = row_max(row);
    if max.is_nan() {
        return row.iter().position(|x| x.is_nan()).unwrap_or(0);
    }
    // the first block holding `max` (an OR of compares per block vectorises), then the place in it
    const BLOCK: usize = 64;
    let blocks = row.chunks_exact(BLOCK);
    let tail = blocks.remainder();
    for (b, block) in blocks.enumerate() {
        if block.iter().fold(false, |hit, &x| hit | (x == max)) {
            return b * BLOCK + block.iter().position(|&x| x == max).unwrap_or(0);
        }
    }
    let start = row.len() - tail.len();
    start + tail.iter().position(|&x| x == max).unwrap_or(0)
}

/// Softmax of an f32 row into f32 (max-shifted, sum in f64 then one reciprocal multiply).
pub(crate) fn softmax_f32(row: &[f32]) -> Vec<f32> {
    let m = row_max(row);
    // filtered (-inf) entries are common after top-k: skip their exponentials
    let mut out: Vec<f32> = row
        .iter()
        .map(|&x| {
            if x == f32::NEG_INFINITY {
                0.0
            } else {
                (x - m).exp()
            }
        })
        .collect();
    let sum: f64 = out.iter().map(|&v| v as f64).sum();
    let inv = (1.0 / sum) as f32;
    for v in &mut out {
        *v *= inv;
    }
    out
}

/// Softmax in f64 (for sampling: more precise probabilities, same ordering).
pub fn softmax_f64(row: &[f32]) -> Vec<f64> {
    let m = row_max(row) as f64;
    let mut out: Vec<f64> = row.iter().map(|&x| (x as f64 - m).exp()).collect();
    let sum: f64 = out.iter().sum();
    for v in &mut out {
        *v /= sum;
    }
    out
}

/// `log(sum(exp(row)))` in f64, max-shifted; -inf for an all -inf row.
pub(crate) fn logsumexp(row: &[f32]) -> f64 {
    let m = row_max(row);
    if m == f32::NEG_INFINITY {
        return f64::NEG_INFINITY;
    }
    let m = m as f64;
    let s: f64 = row.iter().map(|&x| (x as f64 - m).exp()).sum();
    m + s.ln()
}

simd_dispatch! {
    /// `row = log_softmax(row)` (torch: `x - max - log(sum(exp(x - max)))`). Beam search runs this
    /// over every row of every step.
    pub fn log_softmax_in_place(row: &mut [f32]) -> () = log_softmax_in_place_generic;
}

#[inline(always)]
fn log_softmax_in_place_generic(row: &mut [f32]) {
    let m = row_max(row);
    if !m.is_finite() {
        // all -inf, or a NaN / +inf present: torch yields NaN for the whole row
        row.iter_mut().for_each(|x| *x = f32::NAN);
        return;
    }
    // float32 exponentials (as torch computes them; within 2 ulp of libm), summed in f64. The
    // error of the sum shifts a whole row by the same ~1e-7, so no ranking inside a row changes.
    let lse = sum_exp_shifted(row, m).ln() as f32;
    for x in row.iter_mut() {
        *x = (*x - m) - lse;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_map_rows_is_in_order_above_and_below_the_parallel_threshold() {
        for rows in [1usize, 3, 80] {
            let vocab = 4096;
            let values: Vec<f32> = (0..rows * vocab)
                .map(|i| ((i * 7919) % 1000) as f32)
                .collect();
            let got = map_rows(&values, vocab, |r, row| (r, argmax(row)));
            let want: Vec<(usize, usize)> = values
                .chunks(vocab)
                .enumerate()
                .map(|(r, row)| (r, argmax(row)))
                .collect();
            assert_eq!(got, want, "{rows} rows");
        }
    }

    /// The plain definition: first index of the maximum, the first NaN if any.
    fn argmax_scalar(row: &[f32]) -> usize {
        if let Some(i) = row.iter().position(|x| x.is_nan()) {
            return i;
        }
        let mut at = 0;
        for (i, &x) in row.iter().enumerate() {
            if x > row[at] {
                at = i;
            }
        }
        at
    }

    #[test]
    fn generation_ops_argmax_is_the_first_maximum_on_every_code_path() {
        // values from a small set so that ties are everywhere; -inf and NaN at chosen places
        let mut next = crate::test_util::xorshift_indices(11);
        let lens = [
            0usize, 1, 5, 15, 16, 17, 31, 32, 33, 100, 257, 4096, 32000, 32007,
        ];
        for &len in &lens {
            for case in 0..40 {
                let mut row: Vec<f32> = (0..len).map(|_| (next(7) as f32) - 3.0).collect();
                match case % 5 {
                    1 => row.iter_mut().for_each(|x| *x = f32::NEG_INFINITY),
                    2 if len > 0 => {
                        row.iter_mut().for_each(|x| *x = f32::NEG_INFINITY);
                        let at = next(len);
                        row[at] = -1e30;
                    }
                    3 if len > 0 => {
                        let at = next(len);
                        row[at] = f32::NAN;
                        let at = next(len);
                        row[at] = f32::NAN;
                    }
                    4 if len > 0 => {
                        let at = next(len); // a unique maximum anywhere, the tail included
                        row[at] = 100.0;
                    }
                    _ => {}
                }
                let want = argmax_scalar(&row);
                assert_eq!(argmax(&row), want, "len {len} case {case}");
                assert_eq!(
                    argmax_generic(&row),
                    want,
                    "len {len} case {case} (portable)"
                );
            }
        }
    }

    #[test]
    fn generation_ops_sum_exp_same_bits_with_and_without_avx2() {
        let mut state = 7u64;
        for len in [1usize, 15, 16, 255, 256, 257, 32000, 50257] {
            let row: Vec<f32> = (0..len)
                .map(|_| {
                    state = state
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    ((state >> 40) as f32 / (1u64 << 24) as f32) * 40.0 - 30.0
                })
                .collect();
            let m = row_max(&row);
            // the dispatching call (AVX2 where the CPU has it) against the baseline build
            assert_eq!(
                sum_exp_shifted(&row, m).to_bits(),
                sum_exp_shifted_generic(&row, m).to_bits(),
                "len {len}"
            );
            let (mut fast, mut plain) = (row.clone(), row.clone());
            log_softmax_in_place(&mut fast);
            log_softmax_in_place_generic(&mut plain);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&fast), bits(&plain), "log_softmax, len {len}");
        }
    }

    #[test]
    fn generation_ops_exp_f32_and_row_max() {
        // exp_f32 against libm over the range softmax uses (x - max <= 0) and beyond
        let mut worst = 0f64;
        let mut x = -87.0f32;
        while x < 88.0 {
            let (got, want) = (exp_f32(x) as f64, (x as f64).exp());
            worst = worst.max(((got - want) / want).abs());
            x += 0.0137;
        }
        assert!(worst < f32::EPSILON as f64, "relative error {worst}");
        assert_eq!(exp_f32(0.0), 1.0);
        assert!(exp_f32(f32::NEG_INFINITY) < 1e-37);
        let mut row: Vec<f32> = (0..1001).map(|i| ((i * 37) % 101) as f32 - 50.0).collect();
        assert_eq!(row_max(&row), 50.0);
        row[1000] = f32::NAN; // in the tail
        assert!(row_max(&row).is_nan());
        row[1000] = 0.0;
        row[17] = f32::NAN; // in a lane
        assert!(row_max(&row).is_nan());
        assert_eq!(row_max(&[]), f32::NEG_INFINITY);
        // log_softmax still normalises: sum of probabilities 1 within f32 rounding
        let mut l: Vec<f32> = (0..32000)
            .map(|i| ((i * 7919) % 1000) as f32 / 37.0)
            .collect();
        log_softmax_in_place(&mut l);
        let total: f64 = l.iter().map(|&v| (v as f64).exp()).sum();
        assert!((total - 1.0).abs() < 1e-5, "{total}");
    }

    #[test]
    fn generation_ops_argmax_first_max_and_nan() {
        assert_eq!(argmax(&[1.0, 2.0, 2.0, 0.5]), 1);
        assert_eq!(argmax(&[f32::NEG_INFINITY, f32::NEG_INFINITY]), 0);
        assert_eq!(argmax(&[1.0, f32::NAN, 3.0]), 1);
        assert_eq!(argmax(&[]), 0);
        // long rows (the lane path) against a scalar first-max scan: ties, -inf, NaN, tails
        let scalar = |row: &[f32]| {
            if let Some(i) = row.iter().position(|x| x.is_nan()) {
                return i;
            }
            let (mut best, mut best_v) = (0, f32::NEG_INFINITY);
            for (i, &x) in row.iter().enumerate() {
                if x > best_v {
                    best_v = x;
                    best = i;
                }
            }
            best
        };
        let mut state = 12345u64;
        for len in [1usize, 15, 16, 17, 33, 1000, 32003] {
            for case in 0..6 {
                let mut row: Vec<f32> = (0..len)
                    .map(|_| {
                        state = state
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        ((state >> 40) % 64) as f32 - 32.0 // few distinct values: many ties
                    })
                    .collect();
                match case {
                    1 => row.iter_mut().for_each(|x| *x = f32::NEG_INFINITY),
                    2 => row[len / 2] = f32::NAN,
                    3 => row[len - 1] = 1e9,
                    4 => row[len - 1] = f32::NAN,
                    _ => {}
                }
                assert_eq!(argmax(&row), scalar(&row), "len {len} case {case}");
            }
        }
    }

    #[test]
    fn generation_ops_softmax_and_log_softmax() {
        let row = [1.0f32, 2.0, 3.0, f32::NEG_INFINITY];
        let p = softmax_f64(&row);
        let z: f64 = [1.0f64, 2.0, 3.0].iter().map(|x| x.exp()).sum();
        assert!((p[2] - 3f64.exp() / z).abs() < 1e-12);
        assert_eq!(p[3], 0.0);
        let mut l = row;
        log_softmax_in_place(&mut l);
        assert!((l[0] as f64 - (1.0 - z.ln())).abs() < 1e-6);
        assert_eq!(l[3], f32::NEG_INFINITY);
        assert!((logsumexp(&row) - z.ln()).abs() < 1e-12);
    }

    #[test]
    fn generation_ops_kth_largest_and_sort() {
        let row = [0.5f32, 3.0, -1.0, 3.0, 2.0];
        assert_eq!(kth_largest(&row, 1), 3.0);
        assert_eq!(kth_largest(&row, 2), 3.0);
        assert_eq!(kth_largest(&row, 3), 2.0);
        assert_eq!(kth_largest(&row, 99), -1.0);
        assert_eq!(argsort_ascending(&row), vec![2, 0, 4, 1, 3]);
        assert_eq!(
            argsort_ascending(&[0.0, -0.0, f32::NAN, 1.0]),
            vec![0, 1, 3, 2]
        );
    }
}
