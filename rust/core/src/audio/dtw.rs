//! Word-level timestamps for Whisper: the median filter applied to cross-attention weights and
//! the dynamic time warping that aligns decoded tokens with audio frames.
//!
//! Both follow `transformers.models.whisper.generation_whisper` (`_median_filter`,
//! `_dynamic_time_warping`) operation for operation, so that the alignment paths are the same:
//! the median filter pads by reflection and takes the middle of the sorted window (NaN sorting
//! last, as `torch.sort` does); the DTW keeps its cost matrix in float32 (transformers allocates
//! it as `np.float32` and stores float64 sums into it, rounding at every cell), compares with
//! strict `<` in the same order, and backtraces with the same first-row/first-column rules.
use super::{invalid, Result};
use std::cmp::Ordering;

/// `torch.sort` order for floats: NaN after everything else.
fn nan_last(a: &f32, b: &f32) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => a.partial_cmp(b).unwrap_or(Ordering::Equal),
    }
}

/// Median filter of odd `width` along the last axis of `data`, a C-contiguous `[rows, cols]`
/// matrix (any leading axes flattened into `rows`), with reflect padding. Rows no longer than
/// `width / 2` are returned unchanged (transformers does the same: reflect padding needs more).
pub fn median_filter(data: &[f32], rows: usize, cols: usize, width: usize) -> Result<Vec<f32>> {
    if width == 0 || width % 2 != 1 {
        return invalid(format!(
            "filter_width must be a positive odd number, got {width}"
        ));
    }
    if rows.checked_mul(cols) != Some(data.len()) {
        return invalid(format!(
            "median_filter: {} values do not form a [{rows}, {cols}] matrix",
            data.len()
        ));
    }
    let pad = width / 2;
    if cols <= pad {
        return Ok(data.to_vec());
    }
    let mut out = vec![0f32; data.len()];
    let mut padded = vec![0f32; cols + 2 * pad];
    let mut window = vec![0f32; width];
    for r in 0..rows {
        let row = &data[r * cols..(r + 1) * cols];
        // reflect (no edge repeat): [x2, x1 | x0 .. xn-1 | xn-2, xn-3]
        for (k, slot) in padded.iter_mut().enumerate() {
            let i = k as isize - pad as isize;
            let n = cols as isize;
            let j = if i < 0 {
                -i
            } else if i >= n {
                2 * (n - 1) - i
            } else {
                i
            };
            *slot = row[j as usize];
        }
        for c in 0..cols {
            window.copy_from_slice(&padded[c..c + width]);
            window.sort_by(nan_last);
            out[r * cols + c] = window[pad];
        }
    }
    Ok(out)
}

/// Dynamic time warping over a `[n, m]` cost matrix (C-contiguous): the monotonic path from
/// `(0, 0)` to `(n - 1, m - 1)` of least total cost. Returns `(text_indices, time_indices)`,
/// one entry per path step, as transformers' `_dynamic_time_warping` does.
pub fn dynamic_time_warping(
    matrix: &[f64],
    n: usize,
    m: usize,
) -> Result<(Vec<usize>, Vec<usize>)> {
    if n.checked_mul(m) != Some(matrix.len()) {
        return invalid(format!(
            "dynamic_time_warping: {} values do not form a [{n}, {m}] matrix",
            matrix.len()
        ));
    }
    if n == 0 || m == 0 {
        return invalid("dynamic_time_warping needs a non-empty matrix");
    }
    let w = m + 1;
    let cells = (n + 1)
        .checked_mul(w)
        .ok_or_else(|| super::AudioError::InvalidArgument("DTW matrix is too large".into()))?;
    let mut cost = super::zeroed::<f32>(Some(cells), "DTW cost matrix")?;
    cost.iter_mut().for_each(|c| *c = f32::INFINITY);
    // trace: 0 diagonal, 1 up (text), 2 left (time); stored as u8 (transformers: float32 -1/0/1/2)
    let mut trace = super::zeroed::<u8>(Some(cells), "DTW trace matrix")?;
    cost[0] = 0.0;
    for j in 1..=m {
        for i in 1..=n {
            let c0 = cost[(i - 1) * w + j - 1];
            let c1 = cost[(i - 1) * w + j];
            let c2 = cost[i * w + j - 1];
            let (c, t) = if c0 < c1 && c0 < c2 {
                (c0, 0)
            } else if c1 < c0 && c1 < c2 {
                (c1, 1)
            } else {
                (c2, 2)
            };
            // float64 sum stored into the float32 matrix, as numpy does
            cost[i * w + j] = (matrix[(i - 1) * m + j - 1] + c as f64) as f32;
            trace[i * w + j] = t;
        }
    }
    // first row: move left; first column: move up
    trace[..w].iter_mut().for_each(|t| *t = 2);
    trace.iter_mut().step_by(w).for_each(|t| *t = 1);
    let (mut i, mut j) = (n, m);
    let mut text = Vec::with_capacity(n + m);
    let mut time = Vec::with_capacity(n + m);
    while i > 0 || j > 0 {
        // (i - 1, j - 1) as Python's -1 would be out of range only at (0, 0), which ends the loop
        text.push(i.wrapping_sub(1));
        time.push(j.wrapping_sub(1));
        match trace[i * w + j] {
            0 => {
                i -= 1;
                j -= 1;
            }
            1 => i -= 1,
            _ => j -= 1,
        }
    }
    text.reverse();
    time.reverse();
    Ok((text, time))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// transformers' `_dynamic_time_warping`, transcribed literally (f32 cost matrix).
    fn reference_dtw(matrix: &[f64], n: usize, m: usize) -> (Vec<isize>, Vec<isize>) {
        let mut cost = vec![vec![f32::INFINITY; m + 1]; n + 1];
        let mut trace = vec![vec![-1i32; m + 1]; n + 1];
        cost[0][0] = 0.0;
        for j in 1..=m {
            for i in 1..=n {
                let (c0, c1, c2) = (cost[i - 1][j - 1], cost[i - 1][j], cost[i][j - 1]);
                let (c, t) = if c0 < c1 && c0 < c2 {
                    (c0, 0)
                } else if c1 < c0 && c1 < c2 {
                    (c1, 1)
                } else {
                    (c2, 2)
                };
                cost[i][j] = (matrix[(i - 1) * m + j - 1] + c as f64) as f32;
                trace[i][j] = t;
            }
        }
        let (mut i, mut j) = (n as isize, m as isize);
        for x in trace[0].iter_mut() {
            *x = 2;
        }
        for row in trace.iter_mut() {
            row[0] = 1;
        }
        let (mut a, mut b) = (vec![], vec![]);
        while i > 0 || j > 0 {
            a.push(i - 1);
            b.push(j - 1);
            match trace[i as usize][j as usize] {
                0 => {
                    i -= 1;
                    j -= 1
                }
                1 => i -= 1,
                _ => j -= 1,
            }
        }
        a.reverse();
        b.reverse();
        (a, b)
    }

    fn lcg(seed: &mut u64) -> f64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((*seed >> 11) as f64) / ((1u64 << 53) as f64)
    }

    #[test]
    fn dtw_diagonal_path_on_identity_cost() {
        // cheap diagonal: the path walks it
        let n = 4;
        let mut m = vec![1.0; n * n];
        for k in 0..n {
            m[k * n + k] = -1.0;
        }
        let (text, time) = dynamic_time_warping(&m, n, n).unwrap();
        assert_eq!(text, vec![0, 1, 2, 3]);
        assert_eq!(time, vec![0, 1, 2, 3]);
    }

    #[test]
    fn dtw_matches_literal_transcription_on_random_and_tied_costs() {
        let mut seed = 7u64;
        for case in 0..60 {
            let n = 1 + (lcg(&mut seed) * 9.0) as usize;
            let m = 1 + (lcg(&mut seed) * 30.0) as usize;
            let matrix: Vec<f64> = (0..n * m)
                .map(|_| {
                    let x = lcg(&mut seed);
                    // every third case: coarse values, so ties are frequent
                    if case % 3 == 0 {
                        (x * 3.0).floor() - 1.0
                    } else {
                        x * 2.0 - 1.0
                    }
                })
                .collect();
            let (text, time) = dynamic_time_warping(&matrix, n, m).unwrap();
            let (rt, rm) = reference_dtw(&matrix, n, m);
            let text: Vec<isize> = text.iter().map(|&x| x as isize).collect();
            let time: Vec<isize> = time.iter().map(|&x| x as isize).collect();
            assert_eq!((text, time), (rt, rm), "case {case} ({n}x{m})");
        }
    }

    #[test]
    fn dtw_path_is_monotonic_and_complete() {
        let mut seed = 3u64;
        let (n, m) = (6, 40);
        let matrix: Vec<f64> = (0..n * m).map(|_| lcg(&mut seed)).collect();
        let (text, time) = dynamic_time_warping(&matrix, n, m).unwrap();
        assert_eq!((text[0], time[0]), (0, 0));
        assert_eq!(
            (*text.last().unwrap(), *time.last().unwrap()),
            (n - 1, m - 1)
        );
        for k in 1..text.len() {
            let (di, dj) = (text[k] - text[k - 1], time[k] - time[k - 1]);
            assert!(di <= 1 && dj <= 1 && di + dj >= 1);
        }
    }

    #[test]
    fn dtw_rejects_bad_shapes() {
        assert!(dynamic_time_warping(&[1.0, 2.0], 3, 1).is_err());
        assert!(dynamic_time_warping(&[], 0, 0).is_err());
    }

    #[test]
    fn median_filter_reflects_and_takes_middle() {
        // width 3 on [1, 5, 2, 8]: padded [5, 1, 5, 2, 8, 2]
        let out = median_filter(&[1.0, 5.0, 2.0, 8.0], 1, 4, 3).unwrap();
        assert_eq!(out, vec![5.0, 2.0, 5.0, 2.0]);
        // width 5 on a row of 7, two rows
        let row: Vec<f32> = vec![3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0];
        let data: Vec<f32> = row.iter().copied().chain(row.iter().map(|x| -x)).collect();
        let out = median_filter(&data, 2, 7, 5).unwrap();
        // padded: [4, 1 | 3 1 4 1 5 9 2 | 9 5]
        assert_eq!(&out[..7], &[3.0, 1.0, 3.0, 4.0, 4.0, 5.0, 5.0]);
        assert_eq!(&out[7..], &[-3.0, -1.0, -3.0, -4.0, -4.0, -5.0, -5.0]);
    }

    #[test]
    fn median_filter_short_rows_and_nan() {
        // cols <= width / 2: unchanged
        assert_eq!(median_filter(&[1.0, 2.0], 1, 2, 7).unwrap(), vec![1.0, 2.0]);
        // NaN sorts last (torch.sort): the median of [nan, 1, 2] is 2
        let out = median_filter(&[f32::NAN, 1.0, 2.0], 1, 3, 3).unwrap();
        assert_eq!(out[1], 2.0);
        assert!(median_filter(&[1.0; 4], 1, 4, 4).is_err());
        assert!(median_filter(&[1.0; 4], 2, 4, 3).is_err());
    }
}
