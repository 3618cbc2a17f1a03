//! Kaldi-compatible log-mel filter banks ("fbank"), as `transformers`' `SeamlessM4TFeatureExtractor`
//! (and Transformers.js' `WeSpeakerFeatureExtractor`) compute them with numpy: samples scaled to the
//! 16-bit range, 25 ms frames every 10 ms without centring, optional dither, DC removal,
//! pre-emphasis, a povey/hamming/hann window, a 512-point power spectrum, a Kaldi-scale mel bank
//! triangularised in mel space, `ln(max(mel, mel_floor))`; then an optional per-clip normalisation.
//!
//! Clips of a batch run in parallel (and the frames of each clip too), and the result is written
//! straight into one padded `(clips, frames, mels)` buffer.
use super::mel::{mel_filter_bank, MelBank, MelScale};
use super::spectrogram::{LogMel, SpectrogramOptions, Stft};
use super::window::{window_function, WindowKind};
use super::{check_finite, invalid, zeroed, Result};
use rayon::prelude::*;

/// What happens to each clip's features after the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FbankNorm {
    None,
    /// Subtract the per-mel-bin mean over the clip's frames (WeSpeaker / pyannote).
    SubtractMean,
    /// `(x - mean) / sqrt(var + 1e-7)` per mel bin, `var` with `ddof=1` (SeamlessM4T).
    MeanVariance,
}

#[derive(Clone, Debug, PartialEq)]
pub struct KaldiFbankOptions {
    pub window: WindowKind,
    pub num_mel_bins: usize,
    pub sampling_rate: f64,
    pub frame_length: usize,
    pub hop_length: usize,
    pub fft_length: usize,
    pub low_freq: f64,
    pub high_freq: f64,
    pub preemphasis: Option<f64>,
    pub remove_dc_offset: bool,
    /// Standard deviation of Gaussian noise added to each (scaled) frame; 0 disables it.
    pub dither: f64,
    pub mel_floor: f64,
    /// Kaldi works on 16-bit integer samples: float audio is multiplied by 2^15 first.
    pub waveform_scale: f32,
    /// Transformers.js: at least this many frames (frames past the end see zeros).
    pub min_num_frames: Option<usize>,
    pub norm: FbankNorm,
}

impl KaldiFbankOptions {
    /// SeamlessM4T's settings (povey window, per-mel-bin mean/variance normalisation).
    pub fn new(num_mel_bins: usize, sampling_rate: f64) -> Self {
        Self {
            window: WindowKind::Povey,
            num_mel_bins,
            sampling_rate,
            frame_length: 400,
            hop_length: 160,
            fft_length: 512,
            low_freq: 20.0,
            // transformers passes `sampling_rate // 2` (an integer)
            high_freq: (sampling_rate / 2.0).floor(),
            preemphasis: Some(0.97),
            remove_dc_offset: true,
            dither: 0.0,
            mel_floor: 1.192092955078125e-07,
            waveform_scale: 32768.0,
            min_num_frames: None,
            norm: FbankNorm::MeanVariance,
        }
    }
}

/// Immutable after construction: one instance serves any number of threads.
#[derive(Clone, Debug)]
pub struct KaldiFbank {
    o: KaldiFbankOptions,
    window: Vec<f64>,
    mel_filters: Vec<f64>,
    bank: MelBank,
    stft: SpectrogramOptions,
}

impl KaldiFbank {
    pub fn new(o: KaldiFbankOptions) -> Result<Self> {
        if o.num_mel_bins == 0 {
            return invalid("num_mel_bins must be greater than zero");
        }
        if o.frame_length == 0 || o.hop_length == 0 {
            return invalid("frame_length and hop_length must be greater than zero");
        }
        if o.fft_length < o.frame_length {
            return invalid(format!(
                "fft_length ({}) must be at least frame_length ({})",
                o.fft_length, o.frame_length
            ));
        }
        if !(o.sampling_rate > 0.0 && o.sampling_rate.is_finite()) {
            return invalid(format!(
                "sampling_rate must be positive (got {})",
                o.sampling_rate
            ));
        }
        if !(o.waveform_scale.is_finite() && o.dither.is_finite() && o.mel_floor > 0.0) {
            return invalid("waveform_scale and dither must be finite, mel_floor positive");
        }
        let bins = o.fft_length / 2 + 1;
        let mel_filters = mel_filter_bank(
            bins,
            o.num_mel_bins,
            o.low_freq,
            o.high_freq,
            o.sampling_rate,
            false,
            MelScale::Kaldi,
            true,
        )?;
        let bank = MelBank::new(&mel_filters, bins, o.num_mel_bins)?;
        let window = window_function(o.frame_length, o.window, false, None, true)?;
        let mut stft = SpectrogramOptions::new(o.frame_length, o.hop_length);
        stft.fft_length = Some(o.fft_length);
        stft.power = Some(2.0);
        stft.center = false;
        stft.preemphasis = o.preemphasis;
        stft.remove_dc_offset = o.remove_dc_offset;
        stft.dither = o.dither;
        stft.mel_floor = o.mel_floor;
        stft.log_mel = Some(LogMel::Log);
        stft.min_num_frames = o.min_num_frames;
        Ok(Self {
            o,
            window,
            mel_filters,
            bank,
            stft,
        })
    }

    pub fn options(&self) -> &KaldiFbankOptions {
        &self.o
    }

    pub fn num_mel_bins(&self) -> usize {
        self.o.num_mel_bins
    }

    /// The `(fft_length/2 + 1, num_mel_bins)` filter bank.
    pub fn mel_filters(&self) -> &[f64] {
        &self.mel_filters
    }

    /// The `frame_length` window (symmetric).
    pub fn window(&self) -> &[f64] {
        &self.window
    }

    /// Frames of a clip of `len` samples: `1 + (len - frame_length) / hop` (0 when shorter than
    /// one frame), raised to `min_num_frames`.
    pub fn num_frames(&self, len: usize) -> usize {
        let natural = if len >= self.o.frame_length {
            1 + (len - self.o.frame_length) / self.o.hop_length
        } else {
            0
        };
        natural.max(self.o.min_num_frames.unwrap_or(0))
    }

    fn what(i: usize, n: usize) -> String {
        if n == 1 {
            "audio".to_string()
        } else {
            format!("audio #{i}")
        }
    }

    /// `(num_frames(len), num_mel_bins)` features of one clip, normalised per `norm`.
    pub fn extract(&self, waveform: &[f32], seed: Option<u64>, what: &str) -> Result<Vec<f32>> {
        if waveform.is_empty() {
            return invalid(format!("{what} is empty"));
        }
        check_finite(waveform, what)?;
        let frames = self.num_frames(waveform.len());
        if frames == 0 {
            return invalid(format!(
                "{what} is too short: {} samples, one frame needs {} ({} ms at {} Hz)",
                waveform.len(),
                self.o.frame_length,
                1000.0 * self.o.frame_length as f64 / self.o.sampling_rate,
                self.o.sampling_rate
            ));
        }
        if self.o.norm == FbankNorm::MeanVariance && frames < 2 {
            // the ddof=1 variance of one frame is 0/0: numpy would return NaN features
            return invalid(format!(
                "{what} is too short: {} samples give one frame, and per-mel-bin normalisation \
                 needs at least two ({} samples)",
                waveform.len(),
                self.o.frame_length + self.o.hop_length
            ));
        }
        // exact in float32 for a power of two, as numpy's `waveform * 2**15`
        let scaled: Vec<f32> = waveform
            .iter()
            .map(|&x| x * self.o.waveform_scale)
            .collect();
        check_finite(&scaled, what)?;
        let mut o = self.stft.clone();
        o.seed = seed;
        let stft = Stft::new(&scaled, &self.window, Some(&self.bank), &o)?;
        let mels = self.o.num_mel_bins;
        let mut out: Vec<f32> = zeroed(frames.checked_mul(mels), "the features")?;
        // log in f64, then the float32 cast transformers applies, frame-major
        stft.fill(&mut out, true, |w, ci, first, t, row| {
            let mut buf = std::mem::take(&mut w.row);
            let r = stft.real_row(w, ci, first, t, &mut buf);
            row.iter_mut().zip(&buf).for_each(|(o, &v)| *o = v as f32);
            w.row = buf;
            r
        })?;
        self.normalize(&mut out, frames);
        Ok(out)
    }

    fn normalize(&self, out: &mut [f32], frames: usize) {
        let mels = self.o.num_mel_bins;
        if self.o.norm == FbankNorm::None || frames == 0 {
            return;
        }
        let mut mean = vec![0.0f64; mels];
        for row in out.chunks_exact(mels) {
            mean.iter_mut().zip(row).for_each(|(m, &x)| *m += x as f64);
        }
        mean.iter_mut().for_each(|m| *m /= frames as f64);
        if self.o.norm == FbankNorm::SubtractMean {
            for row in out.chunks_exact_mut(mels) {
                row.iter_mut()
                    .zip(&mean)
                    .for_each(|(x, &m)| *x = (*x as f64 - m) as f32);
            }
            return;
        }
        let mut var = vec![0.0f64; mels];
        for row in out.chunks_exact(mels) {
            var.iter_mut()
                .zip(row.iter().zip(&mean))
                .for_each(|(v, (&x, &m))| *v += (x as f64 - m) * (x as f64 - m));
        }
        let scale: Vec<f64> = var
            .iter()
            .map(|v| 1.0 / (v / (frames - 1) as f64 + 1e-7).sqrt())
            .collect();
        for row in out.chunks_exact_mut(mels) {
            for ((x, &m), &s) in row.iter_mut().zip(&mean).zip(&scale) {
                *x = ((*x as f64 - m) * s) as f32;
            }
        }
    }

    /// Features of many clips, computed in parallel and written into one `(clips,
    /// target_frames, num_mel_bins)` buffer: each clip's frames (normalised over all of them)
    /// are truncated to / padded with `padding_value` up to `target_frames`, on the left when
    /// `pad_left`. Clip `i` dithers with seed `seed + i`.
    pub fn extract_padded(
        &self,
        waveforms: &[&[f32]],
        target_frames: usize,
        padding_value: f32,
        pad_left: bool,
        seed: Option<u64>,
    ) -> Result<Vec<f32>> {
        if waveforms.is_empty() {
            return invalid("no audio given (empty batch)");
        }
        let n = waveforms.len();
        // validate everything first, so errors name the first bad clip whatever the scheduling
        for (i, w) in waveforms.iter().enumerate() {
            let what = Self::what(i, n);
            if w.is_empty() {
                return invalid(format!("{what} is empty"));
            }
            check_finite(w, &what)?;
        }
        let per_clip = target_frames.checked_mul(self.o.num_mel_bins);
        let mut out: Vec<f32> = zeroed(
            per_clip.and_then(|p| p.checked_mul(n)),
            "the batch of features",
        )?;
        if !padding_value.is_finite() {
            return invalid("padding_value must be finite");
        }
        let per_clip = per_clip.unwrap_or(0);
        if per_clip == 0 {
            // still report a too-short clip
            for (i, w) in waveforms.iter().enumerate() {
                self.extract(w, seed, &Self::what(i, n))?;
            }
            return Ok(out);
        }
        let mels = self.o.num_mel_bins;
        out.par_chunks_mut(per_clip)
            .zip(waveforms.par_iter())
            .enumerate()
            .try_for_each(|(i, (chunk, w))| {
                let feats =
                    self.extract(w, seed.map(|s| s.wrapping_add(i as u64)), &Self::what(i, n))?;
                let kept = (feats.len() / mels).min(target_frames);
                let data = &feats[..kept * mels];
                let (dst, pad) = if pad_left {
                    let (pad, dst) = chunk.split_at_mut((target_frames - kept) * mels);
                    (dst, pad)
                } else {
                    chunk.split_at_mut(kept * mels)
                };
                dst.copy_from_slice(data);
                pad.fill(padding_value);
                Ok(())
            })?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn speechish(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|t| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let noise = ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5;
                0.3 * ((t as f32) * 0.07).sin() + 0.01 * noise
            })
            .collect()
    }

    #[test]
    fn shapes_normalisation_and_padding() {
        let fb = KaldiFbank::new(KaldiFbankOptions::new(80, 16000.0)).unwrap();
        assert_eq!(fb.num_frames(399), 0);
        assert_eq!(fb.num_frames(400), 1);
        assert_eq!(fb.num_frames(16000), 98);
        let a = speechish(16000, 1);
        let b = speechish(8000, 2);
        let one = fb.extract(&a, None, "a").unwrap();
        assert_eq!(one.len(), 98 * 80);
        // per-mel-bin mean ~0 and ddof=1 variance ~1
        for m in [0, 40, 79] {
            let col: Vec<f64> = one.chunks_exact(80).map(|r| r[m] as f64).collect();
            let mean = col.iter().sum::<f64>() / 98.0;
            let var = col.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 97.0;
            assert!(
                mean.abs() < 1e-5 && (var - 1.0).abs() < 1e-3,
                "{mean} {var}"
            );
        }
        let batch = fb.extract_padded(&[&a, &b], 98, -7.0, false, None).unwrap();
        assert_eq!(batch[..98 * 80], one[..]);
        let nb = fb.num_frames(8000);
        let second = &batch[98 * 80..];
        assert_eq!(second[..nb * 80], fb.extract(&b, None, "b").unwrap()[..]);
        assert!(second[nb * 80..].iter().all(|&x| x == -7.0));
        let left = fb.extract_padded(&[&b], 98, 0.0, true, None).unwrap();
        assert!(left[..(98 - nb) * 80].iter().all(|&x| x == 0.0));
        assert_eq!(left[(98 - nb) * 80..], second[..nb * 80]);
        // truncation keeps the first frames, normalised over the whole clip
        let cut = fb.extract_padded(&[&a], 10, 0.0, false, None).unwrap();
        assert_eq!(cut[..], one[..10 * 80]);
    }

    #[test]
    fn silence_is_floored_and_min_frames_pad_with_zero_signal() {
        let mut o = KaldiFbankOptions::new(80, 16000.0);
        o.window = WindowKind::Hamming;
        o.norm = FbankNorm::None;
        o.min_num_frames = Some(5);
        let fb = KaldiFbank::new(o).unwrap();
        assert_eq!(fb.num_frames(400), 5);
        let out = fb.extract(&[0.0; 400], None, "x").unwrap();
        let floor = (1.192092955078125e-07f64).ln() as f32;
        assert_eq!(out.len(), 5 * 80);
        assert!(out.iter().all(|&x| x == floor));
    }

    #[test]
    fn dither_is_seeded() {
        let mut o = KaldiFbankOptions::new(80, 16000.0);
        o.dither = 1.0;
        let fb = KaldiFbank::new(o).unwrap();
        let x = speechish(4000, 3);
        let a = fb.extract(&x, Some(7), "x").unwrap();
        assert_eq!(a, fb.extract(&x, Some(7), "x").unwrap());
        assert_ne!(a, fb.extract(&x, Some(8), "x").unwrap());
    }

    #[test]
    fn rejects_bad_input() {
        let fb = KaldiFbank::new(KaldiFbankOptions::new(80, 16000.0)).unwrap();
        assert!(fb.extract_padded(&[], 10, 0.0, false, None).is_err());
        let empty: [f32; 0] = [];
        assert!(fb.extract_padded(&[&empty], 10, 0.0, false, None).is_err());
        let err = fb.extract(&[0.1; 300], None, "audio").unwrap_err();
        assert!(err.to_string().contains("too short"));
        // one frame: the ddof=1 variance is undefined
        assert!(fb.extract(&[0.1; 450], None, "audio").is_err());
        let mut bad = vec![0.1f32; 1000];
        bad[123] = f32::NAN;
        let err = fb
            .extract_padded(&[&[0.1f32; 1000], &bad], 10, 0.0, false, None)
            .unwrap_err();
        assert!(err.to_string().contains("audio #1") && err.to_string().contains("index 123"));
        assert!(KaldiFbank::new(KaldiFbankOptions::new(0, 16000.0)).is_err());
    }
}
