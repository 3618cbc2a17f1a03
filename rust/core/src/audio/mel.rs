//! Mel scales and triangular mel filter banks, written operation for operation like
//! `transformers.audio_utils` (numpy float64) so the banks agree to the last bit or two.
use super::{invalid, Result};
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MelScale {
    /// `2595 * log10(1 + f / 700)` (torchaudio's default).
    Htk,
    /// `1127 * ln(1 + f / 700)`.
    Kaldi,
    /// Linear below 1 kHz, logarithmic above (librosa's default, used by Whisper).
    Slaney,
}

impl FromStr for MelScale {
    type Err = super::AudioError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "htk" => Ok(Self::Htk),
            "kaldi" => Ok(Self::Kaldi),
            "slaney" => Ok(Self::Slaney),
            _ => invalid(format!(
                "mel_scale should be one of \"htk\", \"slaney\" or \"kaldi\" (got {s:?})"
            )),
        }
    }
}

const MIN_LOG_HERTZ: f64 = 1000.0;
const MIN_LOG_MEL: f64 = 15.0;

pub fn hertz_to_mel(freq: f64, scale: MelScale) -> f64 {
    match scale {
        MelScale::Htk => 2595.0 * (1.0 + freq / 700.0).log10(),
        MelScale::Kaldi => 1127.0 * (1.0 + freq / 700.0).ln(),
        MelScale::Slaney => {
            if freq >= MIN_LOG_HERTZ {
                let logstep = 27.0 / 6.4f64.ln();
                MIN_LOG_MEL + (freq / MIN_LOG_HERTZ).ln() * logstep
            } else {
                3.0 * freq / 200.0
            }
        }
    }
}

pub fn mel_to_hertz(mels: f64, scale: MelScale) -> f64 {
    match scale {
        MelScale::Htk => 700.0 * (10f64.powf(mels / 2595.0) - 1.0),
        MelScale::Kaldi => 700.0 * ((mels / 1127.0).exp() - 1.0),
        MelScale::Slaney => {
            if mels >= MIN_LOG_MEL {
                let logstep = 6.4f64.ln() / 27.0;
                MIN_LOG_HERTZ * (logstep * (mels - MIN_LOG_MEL)).exp()
            } else {
                200.0 * mels / 3.0
            }
        }
    }
}

/// `np.linspace(start, stop, num)` including its rounding: `i * step + start`, last = `stop`.
fn linspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
    if num == 0 {
        return Vec::new();
    }
    if num == 1 {
        return vec![start];
    }
    let div = (num - 1) as f64;
    let delta = stop - start;
    let step = delta / div;
    let mut y: Vec<f64> = if step == 0.0 {
        (0..num).map(|i| i as f64 / div * delta + start).collect()
    } else {
        (0..num).map(|i| i as f64 * step + start).collect()
    };
    y[num - 1] = stop;
    y
}

/// `transformers.audio_utils.mel_filter_bank`: a `(num_frequency_bins, num_mel_filters)` matrix,
/// row-major. `slaney_norm` is `norm="slaney"` (area normalisation). An all-zero filter is not an
/// error here (transformers only warns); callers can detect it.
#[allow(clippy::too_many_arguments)]
pub fn mel_filter_bank(
    num_frequency_bins: usize,
    num_mel_filters: usize,
    min_frequency: f64,
    max_frequency: f64,
    sampling_rate: f64,
    slaney_norm: bool,
    mel_scale: MelScale,
    triangularize_in_mel_space: bool,
) -> Result<Vec<f64>> {
    if num_frequency_bins < 2 {
        return invalid(format!(
            "Require num_frequency_bins: {num_frequency_bins} >= 2"
        ));
    }
    if min_frequency > max_frequency {
        return invalid(format!(
            "Require min_frequency: {min_frequency} <= max_frequency: {max_frequency}"
        ));
    }
    if !(min_frequency.is_finite() && max_frequency.is_finite() && sampling_rate.is_finite()) {
        return invalid("min_frequency, max_frequency and sampling_rate must be finite");
    }
    // allocated first: an absurd size is reported before any other work or allocation
    let mut bank: Vec<f64> = super::zeroed(
        num_frequency_bins.checked_mul(num_mel_filters),
        "the mel filter bank",
    )?;
    let mel_min = hertz_to_mel(min_frequency, mel_scale);
    let mel_max = hertz_to_mel(max_frequency, mel_scale);
    let mel_freqs = linspace(mel_min, mel_max, num_mel_filters + 2);
    let (fft_freqs, filter_freqs) = if triangularize_in_mel_space {
        let fft_bin_width = sampling_rate / ((num_frequency_bins - 1) * 2) as f64;
        let fft = (0..num_frequency_bins)
            .map(|i| hertz_to_mel(fft_bin_width * i as f64, mel_scale))
            .collect();
        (fft, mel_freqs)
    } else {
        let filter = mel_freqs
            .iter()
            .map(|&m| mel_to_hertz(m, mel_scale))
            .collect();
        // `sampling_rate // 2` in Python: floor division, also for float rates
        (
            linspace(0.0, (sampling_rate / 2.0).floor(), num_frequency_bins),
            filter,
        )
    };
    // _create_triangular_filter_bank: max(0, min(down_slope, up_slope))
    let diff: Vec<f64> = filter_freqs.windows(2).map(|w| w[1] - w[0]).collect();
    for (j, &f) in fft_freqs.iter().enumerate() {
        let row = &mut bank[j * num_mel_filters..(j + 1) * num_mel_filters];
        for (i, w) in row.iter_mut().enumerate() {
            let down = -(filter_freqs[i] - f) / diff[i];
            let up = (filter_freqs[i + 2] - f) / diff[i + 1];
            *w = 0f64.max(down.min(up));
        }
    }
    if slaney_norm {
        let enorm: Vec<f64> = (0..num_mel_filters)
            .map(|i| 2.0 / (filter_freqs[i + 2] - filter_freqs[i]))
            .collect();
        for row in bank.chunks_exact_mut(num_mel_filters) {
            row.iter_mut().zip(&enorm).for_each(|(w, e)| *w *= e);
        }
    }
    Ok(bank)
}

/// A filter bank prepared for projection: each mel filter is stored as its contiguous run of
/// non-zero weights. Triangular filters touch a handful of bins, so this does ~2 multiply-adds
/// per FFT bin instead of `num_mel_filters` (Whisper: 80x fewer than a dense matmul).
#[derive(Clone, Debug)]
pub struct MelBank {
    num_frequency_bins: usize,
    num_mel_filters: usize,
    /// per filter: (first bin, weights of bins first..first+len)
    filters: Vec<(usize, Vec<f64>)>,
}

impl MelBank {
    /// From a `(num_frequency_bins, num_mel_filters)` row-major matrix (transformers' layout).
    pub fn new(weights: &[f64], num_frequency_bins: usize, num_mel_filters: usize) -> Result<Self> {
        if weights.len() != num_frequency_bins * num_mel_filters {
            return invalid(format!(
                "mel_filters has {} values, expected num_frequency_bins x num_mel_filters = {num_frequency_bins} x {num_mel_filters}",
                weights.len()
            ));
        }
        if let Some(i) = weights.iter().position(|w| !w.is_finite()) {
            return invalid(format!(
                "mel_filters contains a non-finite value at flat index {i}"
            ));
        }
        let filters = (0..num_mel_filters)
            .map(|m| {
                let col = |k: usize| weights[k * num_mel_filters + m];
                let first = (0..num_frequency_bins).find(|&k| col(k) != 0.0);
                match first {
                    None => (0, Vec::new()),
                    Some(first) => {
                        let last = (first..num_frequency_bins)
                            .rev()
                            .find(|&k| col(k) != 0.0)
                            .unwrap_or(first);
                        (first, (first..=last).map(col).collect())
                    }
                }
            })
            .collect();
        Ok(Self {
            num_frequency_bins,
            num_mel_filters,
            filters,
        })
    }

    pub fn num_frequency_bins(&self) -> usize {
        self.num_frequency_bins
    }

    pub fn num_mel_filters(&self) -> usize {
        self.num_mel_filters
    }

    /// `out[m] = sum_k weights[k][m] * spectrum[k]`.
    pub fn apply(&self, spectrum: &[f64], out: &mut [f64]) {
        for ((first, w), o) in self.filters.iter().zip(out.iter_mut()) {
            *o = w
                .iter()
                .zip(&spectrum[*first..*first + w.len()])
                .map(|(a, b)| a * b)
                .sum();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_round_trip_and_known_points() {
        for scale in [MelScale::Htk, MelScale::Kaldi, MelScale::Slaney] {
            for f in [0.0, 100.0, 999.0, 1000.0, 1234.5, 8000.0, 22050.0] {
                let back = mel_to_hertz(hertz_to_mel(f, scale), scale);
                assert!(
                    (back - f).abs() < 1e-9 * f.max(1.0),
                    "{scale:?} {f} -> {back}"
                );
            }
        }
        // HTK: 1000 Hz ~ 1000 mel; Slaney: linear part 3 f / 200, 1000 Hz = 15 mel
        assert!((hertz_to_mel(1000.0, MelScale::Htk) - 999.985_6).abs() < 1e-3);
        assert_eq!(hertz_to_mel(500.0, MelScale::Slaney), 7.5);
        assert_eq!(hertz_to_mel(1000.0, MelScale::Slaney), 15.0);
        assert!((hertz_to_mel(6400.0, MelScale::Slaney) - 42.0).abs() < 1e-12);
        assert!((hertz_to_mel(700.0, MelScale::Kaldi) - 1127.0 * 2f64.ln()).abs() < 1e-12);
        assert!("mel".parse::<MelScale>().is_err());
    }

    #[test]
    fn linspace_like_numpy() {
        assert_eq!(linspace(0.0, 1.0, 5), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        assert_eq!(linspace(2.0, 2.0, 3), vec![2.0, 2.0, 2.0]);
        assert_eq!(linspace(3.0, 9.0, 1), vec![3.0]);
    }

    #[test]
    fn triangular_filters_peak_at_one_and_cover_the_band() {
        let (bins, mels) = (257, 40);
        let bank = mel_filter_bank(
            bins,
            mels,
            0.0,
            8000.0,
            16000.0,
            false,
            MelScale::Htk,
            false,
        )
        .unwrap();
        for m in 0..mels {
            let col: Vec<f64> = (0..bins).map(|k| bank[k * mels + m]).collect();
            let peak = col.iter().cloned().fold(0.0, f64::max);
            assert!(peak > 0.5 && peak <= 1.0 + 1e-12, "filter {m} peak {peak}");
            assert!(col.iter().all(|&w| w >= 0.0));
        }
        // Slaney norm: each filter's area in Hz is ~1 (2 / width * width / 2)
        let bank = mel_filter_bank(
            bins,
            mels,
            0.0,
            8000.0,
            16000.0,
            true,
            MelScale::Slaney,
            false,
        )
        .unwrap();
        let hz_per_bin = 8000.0 / (bins - 1) as f64;
        for m in 1..mels {
            let area: f64 = (0..bins).map(|k| bank[k * mels + m]).sum::<f64>() * hz_per_bin;
            assert!((area - 1.0).abs() < 0.05, "filter {m} area {area}");
        }
        assert!(mel_filter_bank(1, 10, 0.0, 8000.0, 16000.0, false, MelScale::Htk, false).is_err());
        assert!(mel_filter_bank(
            201,
            10,
            9000.0,
            8000.0,
            16000.0,
            false,
            MelScale::Htk,
            false
        )
        .is_err());
    }

    #[test]
    fn mel_bank_sparse_apply_equals_dense_product() {
        let (bins, mels) = (201, 80);
        let dense = mel_filter_bank(
            bins,
            mels,
            0.0,
            8000.0,
            16000.0,
            true,
            MelScale::Slaney,
            false,
        )
        .unwrap();
        let bank = MelBank::new(&dense, bins, mels).unwrap();
        let spectrum: Vec<f64> = (0..bins)
            .map(|k| ((k * 37 % 11) as f64 + 0.5).powi(2))
            .collect();
        let mut out = vec![0.0; mels];
        bank.apply(&spectrum, &mut out);
        for m in 0..mels {
            let expect: f64 = (0..bins).map(|k| dense[k * mels + m] * spectrum[k]).sum();
            assert!((out[m] - expect).abs() <= 1e-12 * expect.abs().max(1.0));
        }
        assert!(MelBank::new(&dense[1..], bins, mels).is_err());
    }
}
