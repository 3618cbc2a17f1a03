//! Token selection: multinomial draws from a seeded [`Xoshiro256StarStar`] (inverse CDF over
//! f64 probabilities, so one uniform number per token and a stream that does not depend on
//! threads), and the top-K / sampled candidate selection of beam search.

use super::ops::{cmp_f32, map_rows, simd_dispatch, softmax_f64};
use super::rng::Xoshiro256StarStar;
use super::{invalid_input, Result};

/// One index drawn with probability proportional to `weights` (non-negative, finite, not all
/// zero: like `torch.multinomial`, anything else is an error).
pub fn multinomial(weights: &[f64], rng: &mut Xoshiro256StarStar) -> Result<usize> {
    let total: f64 = weights.iter().sum();
    if !(total > 0.0 && total.is_finite()) || weights.iter().any(|w| w.is_nan() || *w < 0.0) {
        return invalid_input(
            "cannot sample: the probabilities contain inf, nan or negative values, or are all \
             zero (every token was filtered out)",
        );
    }
    let u = rng.next_f64() * total;
    let mut acc = 0.0;
    let mut last_positive = 0;
    for (i, &w) in weights.iter().enumerate() {
        if w > 0.0 {
            acc += w;
            last_positive = i;
            if u < acc {
                return Ok(i);
            }
        }
    }
    // rounding left `u` just above the running sum: the last candidate it could be
    Ok(last_positive)
}

/// One index drawn from `softmax(logits)`: like [`multinomial`] over the softmax, without
/// computing the exponentials of `-inf` (filtered) logits, so a top-k / top-p filtered row of a
/// 150k vocabulary costs one scan.
pub fn sample_logits(logits: &[f32], rng: &mut Xoshiro256StarStar) -> Result<usize> {
    let m = super::ops::row_max(logits);
    if !m.is_finite() {
        return invalid_input(
            "cannot sample: the scores contain nan or +inf, or every token was filtered out (-inf)",
        );
    }
    let weights: Vec<(u32, f64)> = logits
        .iter()
        .enumerate()
        .filter(|(_, &x)| x != f32::NEG_INFINITY)
        .map(|(i, &x)| (i as u32, (x - m).exp() as f64))
        .collect();
    let total: f64 = weights.iter().map(|w| w.1).sum();
    let u = rng.next_f64() * total;
    let mut acc = 0.0;
    for &(i, w) in &weights {
        acc += w;
        if u < acc {
            return Ok(i as usize);
        }
    }
    // rounding left `u` just above the running sum: the last candidate it could be
    Ok(weights
        .iter()
        .rev()
        .find(|w| w.1 > 0.0)
        .map_or(0, |w| w.0 as usize))
}

/// Up to `k` distinct indices drawn one after another without replacement (each draw
/// proportional to the remaining weights, as `torch.multinomial(replacement=False)`). Returns
/// fewer than `k` when fewer weights are positive.
pub fn multinomial_without_replacement(
    weights: &[f64],
    k: usize,
    rng: &mut Xoshiro256StarStar,
) -> Result<Vec<usize>> {
    if weights
        .iter()
        .any(|w| w.is_nan() || *w < 0.0 || w.is_infinite())
    {
        return invalid_input(
            "cannot sample: the probabilities contain inf, nan or negative values",
        );
    }
    let mut w = weights.to_vec();
    let mut out = Vec::with_capacity(k);
    for _ in 0..k {
        if !w.iter().any(|&x| x > 0.0) {
            break;
        }
        let i = multinomial(&w, rng)?;
        out.push(i);
        w[i] = 0.0;
    }
    Ok(out)
}

/// Beam search candidates for each of `batch` rows of `width = num_beams * vocab` accumulated
/// scores: the `n_keep` best (ties: lower index first), or, with an rng, `n_keep` drawn without
/// replacement from `softmax(scores)` then sorted by score (the classic transformers beam
/// sample). Returns `(scores, flat indices)`, `batch * n_keep` each, best first per row.
/// When sampling finds fewer positive-probability candidates than `n_keep` (tight top-k /
/// top-p), the rest are the best remaining ones rather than an error.
pub fn select_beam_candidates(
    scores: &[f32],
    batch: usize,
    width: usize,
    n_keep: usize,
    rng: Option<&mut Xoshiro256StarStar>,
) -> Result<(Vec<f32>, Vec<usize>)> {
    if scores.len() != batch * width {
        return invalid_input(format!(
            "beam scores hold {} values, expected {batch} x {width}",
            scores.len()
        ));
    }
    let n_keep = n_keep.min(width);
    let Some(rng) = rng else {
        // beam search: every prompt's candidates are independent (in parallel for large batches)
        let picked = map_rows(scores, width, |_, row| top_n(row, n_keep));
        let out_scores = picked
            .iter()
            .enumerate()
            .flat_map(|(b, p)| p.iter().map(move |&i| scores[b * width + i]))
            .collect();
        return Ok((out_scores, picked.into_iter().flatten().collect()));
    };
    // beam sampling: one generator, drawn from prompt by prompt in order
    let mut out_scores = Vec::with_capacity(batch * n_keep);
    let mut out_idx = Vec::with_capacity(batch * n_keep);
    for b in 0..batch {
        let row = &scores[b * width..(b + 1) * width];
        let by_score_then_index = |a: &usize, c: &usize| cmp_f32(row[*c], row[*a]).then(a.cmp(c));
        let mut picked = multinomial_without_replacement(&softmax_f64(row), n_keep, &mut *rng)?;
        if picked.len() < n_keep {
            let mut rest: Vec<usize> = (0..width).filter(|i| !picked.contains(i)).collect();
            rest.sort_by(by_score_then_index);
            picked.extend(rest.into_iter().take(n_keep - picked.len()));
        }
        // stable: equal scores keep their draw order
        picked.sort_by(|a, c| cmp_f32(row[*c], row[*a]));
        picked.truncate(n_keep);
        out_scores.extend(picked.iter().map(|&i| row[i]));
        out_idx.extend(picked);
    }
    Ok((out_scores, out_idx))
}

simd_dispatch! {
    /// Indices of the `n` best values of `row`, best first, ties by lower index (one scan with a
    /// small sorted buffer: beam search keeps 2 * num_beams of num_beams * vocab candidates).
    fn top_n(row: &[f32], n: usize) -> Vec<usize> = top_n_generic;
}

#[inline(always)]
fn top_n_generic(row: &[f32], n: usize) -> Vec<usize> {
    if n == 0 {
        return Vec::new();
    }
    let better = |a: usize, b: usize| cmp_f32(row[a], row[b]).then(b.cmp(&a)).is_gt();
    let mut top: Vec<usize> = Vec::with_capacity(n + 1);
    let consider = |top: &mut Vec<usize>, i: usize| {
        if top.len() == n && !better(i, top[n - 1]) {
            return;
        }
        let pos = top.partition_point(|&j| better(j, i));
        top.insert(pos, i);
        top.truncate(n);
    };
    // Once the buffer is full, only a value above the current n-th best (a tie loses: it has a
    // higher index) or a NaN (ranked highest by cmp_f32) can enter. Blocks where no value passes
    // that cheap, vectorisable test are skipped: beam search scans num_beams * vocab scores.
    const BLOCK: usize = 16;
    let mut i = 0;
    while i < row.len() {
        if top.len() == n && i + BLOCK <= row.len() {
            let thr = row[top[n - 1]];
            let hit = row[i..i + BLOCK]
                .iter()
                .fold(false, |h, &x| h | (x > thr) | x.is_nan());
            if hit {
                for k in i..i + BLOCK {
                    consider(&mut top, k);
                }
            }
            i += BLOCK;
        } else {
            consider(&mut top, i);
            i += 1;
        }
    }
    top
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_beam_candidates_of_a_large_batch_equal_the_per_prompt_scan() {
        // 8 prompts x 4 beams x 32k: over the parallel threshold, so prompts run on rayon
        let (batch, width, keep) = (8usize, 4 * 32000usize, 8usize);
        let mut state = 5u64;
        let scores: Vec<f32> = (0..batch * width)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((state >> 40) % 5000) as f32 / 100.0 // many ties
            })
            .collect();
        let (got_scores, got_idx) =
            select_beam_candidates(&scores, batch, width, keep, None).unwrap();
        for b in 0..batch {
            let row = &scores[b * width..(b + 1) * width];
            let want = top_n(row, keep);
            assert_eq!(&got_idx[b * keep..(b + 1) * keep], &want[..]);
            let want_scores: Vec<f32> = want.iter().map(|&i| row[i]).collect();
            assert_eq!(&got_scores[b * keep..(b + 1) * keep], &want_scores[..]);
        }
    }

    #[test]
    fn generation_top_n_matches_a_full_sort() {
        // ties (few distinct values), NaN, +-0 and -inf, rows shorter and longer than a block
        let mut state = 99u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as u32
        };
        for len in [1usize, 5, 16, 17, 100, 4099] {
            for n in [1usize, 2, 8, 40] {
                let row: Vec<f32> = (0..len)
                    .map(|_| match next() % 50 {
                        0 => f32::NAN,
                        1 => -0.0,
                        2 => 0.0,
                        3 => f32::NEG_INFINITY,
                        k => (k % 7) as f32 - 3.0,
                    })
                    .collect();
                let mut want: Vec<usize> = (0..len).collect();
                want.sort_by(|&a, &b| cmp_f32(row[b], row[a]).then(a.cmp(&b)));
                want.truncate(n);
                assert_eq!(top_n(&row, n), want, "len {len} n {n}");
                assert_eq!(top_n_generic(&row, n), want, "len {len} n {n} (portable)");
            }
        }
        assert!(top_n(&[1.0, 2.0], 0).is_empty());
    }

    #[test]
    fn generation_multinomial_frequencies_follow_weights() {
        let mut rng = Xoshiro256StarStar::seed_from_u64(7);
        let w = [0.1, 0.0, 0.6, 0.3];
        let mut counts = [0usize; 4];
        let n = 200_000;
        for _ in 0..n {
            counts[multinomial(&w, &mut rng).unwrap()] += 1;
        }
        assert_eq!(counts[1], 0);
        for (c, p) in counts.iter().zip(w) {
            let f = *c as f64 / n as f64;
            // 5 standard deviations of a binomial proportion
            let tol = 5.0 * (p * (1.0 - p) / n as f64).sqrt() + 1e-9;
            assert!((f - p).abs() <= tol, "freq {f} vs p {p}");
        }
    }

    #[test]
    fn generation_multinomial_rejects_bad_weights() {
        let mut rng = Xoshiro256StarStar::seed_from_u64(0);
        assert!(multinomial(&[0.0, 0.0], &mut rng).is_err());
        assert!(multinomial(&[f64::NAN, 1.0], &mut rng).is_err());
        assert!(multinomial(&[-1.0, 2.0], &mut rng).is_err());
        assert!(multinomial(&[f64::INFINITY, 1.0], &mut rng).is_err());
    }

    #[test]
    fn generation_without_replacement_distinct_and_first_draw_distribution() {
        let mut rng = Xoshiro256StarStar::seed_from_u64(3);
        let w = [0.5, 0.25, 0.125, 0.125, 0.0];
        let mut first = [0usize; 5];
        let mut second_given_first0 = [0usize; 5];
        let n = 100_000;
        for _ in 0..n {
            let s = multinomial_without_replacement(&w, 3, &mut rng).unwrap();
            assert_eq!(s.len(), 3);
            assert!(s[0] != s[1] && s[1] != s[2] && s[0] != s[2]);
            assert!(!s.contains(&4));
            first[s[0]] += 1;
            if s[0] == 0 {
                second_given_first0[s[1]] += 1;
            }
        }
        assert!((first[0] as f64 / n as f64 - 0.5).abs() < 0.01);
        let m = second_given_first0.iter().sum::<usize>() as f64;
        // after removing index 0: 0.25/0.5 = 0.5 for index 1
        assert!((second_given_first0[1] as f64 / m - 0.5).abs() < 0.015);
        assert_eq!(
            multinomial_without_replacement(&w, 10, &mut rng)
                .unwrap()
                .len(),
            4
        );
    }

    #[test]
    fn generation_beam_candidates_topk_ties_lower_index_first() {
        let scores = [
            1.0f32, 3.0, 3.0, 0.0, /* row 2 */ -1.0, -2.0, -0.5, -3.0,
        ];
        let (s, i) = select_beam_candidates(&scores, 2, 4, 3, None).unwrap();
        assert_eq!(i, vec![1, 2, 0, 2, 0, 1]);
        assert_eq!(s, vec![3.0, 3.0, 1.0, -0.5, -1.0, -2.0]);
    }

    #[test]
    fn generation_beam_candidates_sampled_are_sorted_and_fill_up() {
        let mut rng = Xoshiro256StarStar::seed_from_u64(11);
        let scores = [0.0f32, f32::NEG_INFINITY, -1.0, f32::NEG_INFINITY];
        let (s, i) = select_beam_candidates(&scores, 1, 4, 3, Some(&mut rng)).unwrap();
        assert_eq!(&i[..2], &[0, 2]);
        assert_eq!(s.len(), 3);
        assert!(s[0] >= s[1]);
    }
}
