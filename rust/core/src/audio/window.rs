//! Window functions, bit-compatible with numpy's `hanning`/`hamming` as used by
//! `transformers.audio_utils.window_function`.
use super::{invalid, Result};
use std::f64::consts::PI;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowKind {
    Boxcar,
    Hamming,
    Hann,
    /// Kaldi's window: `hann ** 0.85`.
    Povey,
}

impl FromStr for WindowKind {
    type Err = super::AudioError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "boxcar" => Ok(Self::Boxcar),
            "hamming" | "hamming_window" => Ok(Self::Hamming),
            "hann" | "hann_window" => Ok(Self::Hann),
            "povey" => Ok(Self::Povey),
            _ => invalid(format!(
                "Unknown window function '{s}' (expected 'hann', 'hamming', 'povey' or 'boxcar')"
            )),
        }
    }
}

/// numpy's formula `a0 + a1 * cos(pi * n / (M - 1))` for `n = 1-M, 3-M, ..., M-1`: written the
/// same way so the values are identical to `np.hanning` / `np.hamming`, not just close.
fn cosine_window(m: usize, a0: f64, a1: f64) -> Vec<f64> {
    match m {
        0 => Vec::new(),
        1 => vec![1.0],
        _ => {
            let denom = (m - 1) as f64;
            (0..m)
                .map(|i| {
                    let n = 1.0 - m as f64 + 2.0 * i as f64;
                    a0 + a1 * (PI * n / denom).cos()
                })
                .collect()
        }
    }
}

/// `transformers.audio_utils.window_function`: a window of `window_length` samples (periodic
/// windows are the first `window_length` points of a symmetric window one sample longer),
/// optionally zero-padded to `frame_length`, centred when `center`.
pub fn window_function(
    window_length: usize,
    kind: WindowKind,
    periodic: bool,
    frame_length: Option<usize>,
    center: bool,
) -> Result<Vec<f64>> {
    let length = if periodic {
        window_length + 1
    } else {
        window_length
    };
    let mut window = match kind {
        WindowKind::Boxcar => vec![1.0; length],
        WindowKind::Hamming => cosine_window(length, 0.54, 0.46),
        WindowKind::Hann => cosine_window(length, 0.5, 0.5),
        WindowKind::Povey => {
            let mut w = cosine_window(length, 0.5, 0.5);
            w.iter_mut().for_each(|x| *x = x.powf(0.85));
            w
        }
    };
    if periodic {
        window.pop();
    }
    let Some(frame_length) = frame_length else {
        return Ok(window);
    };
    if window_length > frame_length {
        return invalid(format!(
            "Length of the window ({window_length}) may not be larger than frame_length ({frame_length})"
        ));
    }
    let mut padded = vec![0.0; frame_length];
    let offset = if center {
        (frame_length - window_length) / 2
    } else {
        0
    };
    padded[offset..offset + window_length].copy_from_slice(&window);
    Ok(padded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hann_symmetric_and_periodic() {
        let w = window_function(5, WindowKind::Hann, false, None, true).unwrap();
        let expect = [0.0, 0.5, 1.0, 0.5, 0.0];
        for (a, b) in w.iter().zip(expect) {
            assert!((a - b).abs() < 1e-15, "{w:?}");
        }
        // periodic = symmetric of length N+1 without its last point
        let p = window_function(4, WindowKind::Hann, true, None, true).unwrap();
        assert_eq!(p, w[..4].to_vec());
        // the periodic Hann window sums to N/2 exactly (it's a raised cosine over a full period)
        let p = window_function(400, WindowKind::Hann, true, None, true).unwrap();
        assert!((p.iter().sum::<f64>() - 200.0).abs() < 1e-9);
    }

    #[test]
    fn hamming_endpoints_and_povey() {
        let w = window_function(7, WindowKind::Hamming, false, None, true).unwrap();
        assert!(
            (w[0] - 0.08).abs() < 1e-15
                && (w[6] - 0.08).abs() < 1e-15
                && (w[3] - 1.0).abs() < 1e-15
        );
        let h = window_function(9, WindowKind::Hann, false, None, true).unwrap();
        let p = window_function(9, WindowKind::Povey, false, None, true).unwrap();
        for (a, b) in h.iter().zip(&p) {
            assert!((a.powf(0.85) - b).abs() < 1e-15);
        }
        let b = window_function(3, WindowKind::Boxcar, true, None, true).unwrap();
        assert_eq!(b, vec![1.0; 3]);
    }

    #[test]
    fn padding_to_frame_length() {
        let w = window_function(4, WindowKind::Boxcar, true, Some(8), true).unwrap();
        assert_eq!(w, vec![0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0]);
        let w = window_function(4, WindowKind::Boxcar, true, Some(7), false).unwrap();
        assert_eq!(w, vec![1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0]);
        assert!(window_function(9, WindowKind::Hann, true, Some(8), true).is_err());
        assert!("blackman".parse::<WindowKind>().is_err());
        assert_eq!(
            "hann_window".parse::<WindowKind>().unwrap(),
            WindowKind::Hann
        );
    }

    #[test]
    fn degenerate_lengths() {
        assert!(window_function(0, WindowKind::Hann, false, None, true)
            .unwrap()
            .is_empty());
        assert!(window_function(0, WindowKind::Hann, true, None, true)
            .unwrap()
            .is_empty());
        assert_eq!(
            window_function(1, WindowKind::Hann, false, None, true).unwrap(),
            vec![1.0]
        );
    }
}
