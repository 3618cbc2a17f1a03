//! Whisper's log-mel front end, as `transformers`' `WhisperFeatureExtractor` computes it with
//! numpy: pad/truncate to `target_len` samples, periodic Hann window, centred reflect-padded
//! STFT, power spectrum, Slaney mel bank (0-8 kHz), `log10(max(mel, 1e-10))`, drop the last
//! frame, then in float32: `max(x, x.max() - 8)` and `(x + 4) / 4`.
use super::mel::{mel_filter_bank, MelBank, MelScale};
use super::spectrogram::{LogMel, SpectrogramOptions, Stft};
use super::window::{window_function, WindowKind};
use super::{check_finite, invalid, zeroed, Result};
use rayon::prelude::*;

/// Immutable after construction, so one instance serves any number of threads.
#[derive(Clone, Debug)]
pub struct WhisperLogMel {
    n_fft: usize,
    hop_length: usize,
    n_mels: usize,
    padding_value: f32,
    dither: f64,
    window: Vec<f64>,
    mel_filters: Vec<f64>,
    bank: MelBank,
}

impl WhisperLogMel {
    pub fn new(
        feature_size: usize,
        sampling_rate: f64,
        hop_length: usize,
        n_fft: usize,
        padding_value: f32,
        dither: f64,
    ) -> Result<Self> {
        if n_fft < 2 {
            return invalid(format!("n_fft must be at least 2 (got {n_fft})"));
        }
        if hop_length == 0 {
            return invalid("hop_length must be greater than zero");
        }
        if feature_size == 0 {
            return invalid("feature_size must be greater than zero");
        }
        if !(sampling_rate > 0.0 && sampling_rate.is_finite()) {
            return invalid(format!(
                "sampling_rate must be positive (got {sampling_rate})"
            ));
        }
        if !padding_value.is_finite() || !dither.is_finite() {
            return invalid("padding_value and dither must be finite");
        }
        let bins = 1 + n_fft / 2;
        // transformers fixes the band at 0-8000 Hz whatever the sampling rate
        let mel_filters = mel_filter_bank(
            bins,
            feature_size,
            0.0,
            8000.0,
            sampling_rate,
            true,
            MelScale::Slaney,
            false,
        )?;
        let bank = MelBank::new(&mel_filters, bins, feature_size)?;
        Ok(Self {
            n_fft,
            hop_length,
            n_mels: feature_size,
            padding_value,
            dither,
            window: window_function(n_fft, WindowKind::Hann, true, None, true)?,
            mel_filters,
            bank,
        })
    }

    /// The `(1 + n_fft/2, n_mels)` filter bank (transformers' `mel_filters`).
    pub fn mel_filters(&self) -> &[f64] {
        &self.mel_filters
    }

    pub fn n_mels(&self) -> usize {
        self.n_mels
    }

    /// Frames produced for `target_len` samples: the STFT's `1 + len / hop` minus the last one.
    pub fn num_frames(&self, target_len: usize) -> usize {
        let padded = target_len.saturating_add(2 * (self.n_fft / 2));
        if padded < self.n_fft {
            return 0;
        }
        (padded - self.n_fft) / self.hop_length
    }

    /// Log-mel features of one clip, written to `out` (`n_mels x num_frames(target_len)`).
    pub fn extract_into(
        &self,
        waveform: &[f32],
        target_len: usize,
        seed: Option<u64>,
        out: &mut [f32],
    ) -> Result<()> {
        let frames = self.num_frames(target_len);
        if target_len == 0 || frames == 0 {
            return invalid(format!(
                "max_length ({target_len} samples) is too short for one frame (n_fft {}, hop_length {})",
                self.n_fft, self.hop_length
            ));
        }
        if out.len() != self.n_mels * frames {
            return invalid("output buffer has the wrong size");
        }
        // pad with padding_value / truncate, as SequenceFeatureExtractor.pad does (float32)
        let keep = waveform.len().min(target_len);
        let mut clip: Vec<f32> = zeroed(Some(target_len), "max_length")?;
        clip[..keep].copy_from_slice(&waveform[..keep]);
        clip[keep..].fill(self.padding_value);

        let mut o = SpectrogramOptions::new(self.n_fft, self.hop_length);
        o.power = Some(2.0);
        o.log_mel = Some(LogMel::Log10);
        o.dither = self.dither;
        o.seed = seed;
        o.max_num_frames = Some(frames); // = dropping the last STFT frame
        let stft = Stft::new(&clip, &self.window, Some(&self.bank), &o)?;
        // log10 in f64 as numpy does, then the float32 cast transformers applies; straight into
        // the (n_mels, frames) output
        stft.fill(out, false, |w, ci, first, t, row| {
            let mut buf = std::mem::take(&mut w.row);
            let r = stft.real_row(w, ci, first, t, &mut buf);
            row.iter_mut().zip(&buf).for_each(|(o, &v)| *o = v as f32);
            w.row = buf;
            r
        })?;
        // the rest of transformers' recipe runs in float32
        let max = out.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        let floor = max - 8.0;
        out.iter_mut().for_each(|x| *x = (x.max(floor) + 4.0) / 4.0);
        Ok(())
    }

    /// Features of many clips, each padded/truncated to `target_len`, computed in parallel:
    /// a `(clips, n_mels, frames)` row-major buffer. Clip `i` dithers with seed `seed + i`.
    pub fn extract_batch(
        &self,
        waveforms: &[&[f32]],
        target_len: usize,
        seed: Option<u64>,
    ) -> Result<Vec<f32>> {
        if waveforms.is_empty() {
            return invalid("no audio given (empty batch)");
        }
        for (i, w) in waveforms.iter().enumerate() {
            let what = if waveforms.len() == 1 {
                "audio".to_string()
            } else {
                format!("audio #{i}")
            };
            if w.is_empty() {
                return invalid(format!("{what} is empty"));
            }
            check_finite(w, &what)?;
        }
        let per_clip = self.n_mels.saturating_mul(self.num_frames(target_len));
        let mut out: Vec<f32> = zeroed(
            per_clip.checked_mul(waveforms.len()),
            "the batch of features",
        )?;
        if per_clip == 0 {
            // still report why (too-short max_length)
            return self
                .extract_into(waveforms[0], target_len, seed, &mut [])
                .map(|_| out);
        }
        out.par_chunks_mut(per_clip)
            .zip(waveforms.par_iter())
            .enumerate()
            .try_for_each(|(i, (chunk, w))| {
                self.extract_into(w, target_len, seed.map(|s| s.wrapping_add(i as u64)), chunk)
            })?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_silence() {
        let fe = WhisperLogMel::new(80, 16000.0, 160, 400, 0.0, 0.0).unwrap();
        assert_eq!(fe.num_frames(480_000), 3000);
        let silence = vec![0.0f32; 16000];
        let out = fe.extract_batch(&[&silence], 480_000, None).unwrap();
        assert_eq!(out.len(), 80 * 3000);
        // log10(1e-10) = -10 everywhere, so the clamp keeps -10 and (x + 4) / 4 = -1.5
        assert!(out.iter().all(|&v| v == -1.5));
    }

    #[test]
    fn batch_equals_single_and_is_clamped() {
        let fe = WhisperLogMel::new(128, 16000.0, 160, 400, 0.0, 0.0).unwrap();
        let a: Vec<f32> = (0..20000)
            .map(|t| ((t as f32) * 0.05).sin() * 0.3)
            .collect();
        let b: Vec<f32> = (0..70000u64)
            .map(|t| ((t * t % 977) as f32 / 977.0) - 0.5)
            .collect();
        let batch = fe.extract_batch(&[&a, &b], 48_000, None).unwrap();
        let n = 128 * fe.num_frames(48_000);
        assert_eq!(batch.len(), 2 * n);
        assert_eq!(
            batch[n..],
            fe.extract_batch(&[&b], 48_000, None).unwrap()[..]
        );
        let max = batch[..n].iter().cloned().fold(f32::MIN, f32::max);
        let min = batch[..n].iter().cloned().fold(f32::MAX, f32::min);
        assert!(
            max - min <= 2.0 + 1e-6,
            "dynamic range is 8 decades / 4 = 2"
        );
    }

    #[test]
    fn rejects_bad_input() {
        assert!(WhisperLogMel::new(80, 16000.0, 0, 400, 0.0, 0.0).is_err());
        assert!(WhisperLogMel::new(80, 16000.0, 160, 1, 0.0, 0.0).is_err());
        let fe = WhisperLogMel::new(80, 16000.0, 160, 400, 0.0, 0.0).unwrap();
        assert!(fe.extract_batch(&[], 480_000, None).is_err());
        let empty: [f32; 0] = [];
        assert!(fe.extract_batch(&[&empty], 480_000, None).is_err());
        let nan = [0.0, f32::INFINITY];
        let err = fe
            .extract_batch(&[&[0.1f32; 5], &nan], 480_000, None)
            .unwrap_err();
        assert!(err.to_string().contains("audio #1") && err.to_string().contains("index 1"));
        assert!(fe.extract_batch(&[&[0.1f32; 5]], 0, None).is_err());
    }
}
