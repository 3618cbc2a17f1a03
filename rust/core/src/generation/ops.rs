//! Row-wise numeric helpers shared by processors and samplers (f32 like torch's CPU kernels;
//! cumulative sums in f64 because torch's CPU `cumsum` accumulates float32 in double).

use rayon::prelude::*;
use std::cmp::Ordering;

/// Below this many values per call, rows are processed on the calling thread: rayon's
/// scheduling costs more than it saves on small batches.
const PARALLEL_MIN_VALUES: usize = 1 << 16;

/// Runs `f(row_index, row)` on every `vocab`-sized row, in parallel for large buffers.
pub(crate) fn for_each_row<F>(logits: &mut [f32], vocab: usize, f: F)
where
    F: Fn(usize, &mut [f32]) + Sync + Send,
{
    let rows = logits.len() / vocab.max(1);
    if rows > 1 && logits.len() >= PARALLEL_MIN_VALUES {
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
pub(crate) fn row_max(row: &[f32]) -> f32 {
    let mut m = f32::NEG_INFINITY;
    for &x in row {
        if x.is_nan() {
            return f32::NAN;
        }
        if x > m {
            m = x;
        }
    }
    m
}

/// Index of the first maximum (torch.argmax; a NaN counts as the maximum).
pub fn argmax(row: &[f32]) -> usize {
    // the NaN test is a separate, vectorisable pass so the max loop stays branch-light
    if let Some(i) = row.iter().position(|x| x.is_nan()) {
        return i;
    }
    let mut best = 0;
    let mut best_v = f32::NEG_INFINITY;
    for (i, &x) in row.iter().enumerate() {
        if x > best_v {
            best_v = x;
            best = i;
        }
    }
    best
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

/// `row = log_softmax(row)` (torch: `x - max - log(sum(exp(x - max)))`).
pub fn log_softmax_in_place(row: &mut [f32]) {
    let m = row_max(row);
    if !m.is_finite() {
        // all -inf, or a NaN / +inf present: torch yields NaN for the whole row
        row.iter_mut().for_each(|x| *x = f32::NAN);
        return;
    }
    // float32 exponentials as torch computes them, summed in f64
    let s: f64 = row.iter().map(|&x| (x - m).exp() as f64).sum();
    let lse = s.ln() as f32;
    for x in row.iter_mut() {
        *x = (*x - m) - lse;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_ops_argmax_first_max_and_nan() {
        assert_eq!(argmax(&[1.0, 2.0, 2.0, 0.5]), 1);
        assert_eq!(argmax(&[f32::NEG_INFINITY, f32::NEG_INFINITY]), 0);
        assert_eq!(argmax(&[1.0, f32::NAN, 3.0]), 1);
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
