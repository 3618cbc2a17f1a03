//! Whisper's log-mel front end, as `transformers`' `WhisperFeatureExtractor` computes it with
//! numpy: pad/truncate to `target_len` samples, periodic Hann window, centred reflect-padded
//! STFT, power spectrum, Slaney mel bank (0-8 kHz), `log10(max(mel, 1e-10))`, drop the last
//! frame, then in float32: `max(x, x.max() - 8)` and `(x + 4) / 4`.
use super::fft::RealFft;
use super::mel::{mel_filter_bank, MelBank, MelScale};
use super::spectrogram::{reflect_index, LogMel, SpectrogramOptions, Stft};
use super::window::{window_function, WindowKind};
use super::{check_finite, invalid, zeroed, Result};
use rayon::prelude::*;
use std::borrow::Cow;

/// Frames per parallel work item of one clip: ~16 items for 3000 frames, so two or more threads
/// share a clip evenly while each item still amortises its FFT buffers and scheduling.
const CLIP_CHUNK_FRAMES: usize = 192;

/// `row = float32(log10(max(mel, 1e-10)))`, 4 lanes at a time where the CPU has AVX2 (the build
/// targets baseline x86-64, whose SSE2 does 2). Same operations, so same results, either way.
fn log10_row(mel: &[f64], row: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above
        unsafe { log10_row_avx2(mel, row) };
        return;
    }
    log10_row_generic(mel, row)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn log10_row_avx2(mel: &[f64], row: &mut [f32]) {
    log10_row_generic(mel, row)
}

#[inline(always)]
fn log10_row_generic(mel: &[f64], row: &mut [f32]) {
    row.iter_mut()
        .zip(mel)
        .for_each(|(o, &v)| *o = log10_fast(v.max(1e-10)) as f32);
}

/// `log10(x)` for positive normal `x`, to ~1e-15 relative: numpy's f64 log10 rounded to float32
/// is what transformers keeps, and this matches it bit for bit in all but rare ties, yet
/// (unlike libm's call per value) it vectorises. `x = 2^e m`, `m` in [sqrt(1/2), sqrt(2)),
/// `ln m = 2 atanh(s)`, `s = (m - 1) / (m + 1)`, `|s| < 0.172`, series to `s^15` (next term
/// ~2e-14 of the result).
#[inline(always)]
fn log10_fast(x: f64) -> f64 {
    const SQRT2: f64 = std::f64::consts::SQRT_2;
    let bits = x.to_bits();
    // the exponent field as f64 without an int->float conversion (2^52 magic)
    let e_field = f64::from_bits((bits >> 52) | 0x4330_0000_0000_0000) - 4_503_599_627_370_496.0;
    let m1 = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000); // [1, 2)
    let big = m1 > SQRT2;
    let m = if big { m1 * 0.5 } else { m1 };
    let e = e_field - 1023.0 + if big { 1.0 } else { 0.0 };
    let s = (m - 1.0) / (m + 1.0);
    let z = s * s;
    let p = 1.0
        + z * (1.0 / 3.0
            + z * (1.0 / 5.0
                + z * (1.0 / 7.0
                    + z * (1.0 / 9.0 + z * (1.0 / 11.0 + z * (1.0 / 13.0 + z * (1.0 / 15.0)))))));
    let ln_m = 2.0 * s * p;
    e * std::f64::consts::LOG10_2 + ln_m * std::f64::consts::LOG10_E
}

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
        self.extract_clip(waveform, target_len, seed, out, true)
    }

    /// `extract_into`, with the frames of the clip split over the current rayon pool when
    /// `parallel` (a batch parallelises over clips instead).
    fn extract_clip(
        &self,
        waveform: &[f32],
        target_len: usize,
        seed: Option<u64>,
        out: &mut [f32],
        parallel: bool,
    ) -> Result<()> {
        let frames = out.len() / self.n_mels.max(1);
        // pad with padding_value / truncate, as SequenceFeatureExtractor.pad does (float32);
        // a clip of exactly target_len samples (the usual 30 s window) is used in place
        let clip: Cow<[f32]> = if waveform.len() == target_len {
            Cow::Borrowed(waveform)
        } else {
            let keep = waveform.len().min(target_len);
            let mut clip: Vec<f32> = zeroed(Some(target_len), "max_length")?;
            clip[..keep].copy_from_slice(&waveform[..keep]);
            clip[keep..].fill(self.padding_value);
            Cow::Owned(clip)
        };
        if self.dither == 0.0 {
            check_finite(&clip, "waveform")?;
            return self.log_mel_fast(&clip, frames, out, parallel);
        }
        // dithering keeps the generic STFT (its noise streams are tied to its frame chunks)

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
        if waveforms.len() == 1 {
            // one clip: parallel over its frames
            self.extract_clip(waveforms[0], target_len, seed, &mut out, true)?;
            return Ok(out);
        }
        out.par_chunks_mut(per_clip)
            .zip(waveforms.par_iter())
            .enumerate()
            .try_for_each(|(i, (chunk, w))| {
                let seed = seed.map(|s| s.wrapping_add(i as u64));
                self.extract_clip(w, target_len, seed, chunk, false)
            })?;
        Ok(out)
    }

    /// Whisper's recipe without dither, specialised: frames of the centred reflect-padded clip
    /// (read in place, never materialised) through the f64 FFT, power from the complex64-rounded
    /// spectrum (as transformers), the sparse f64 mel bank, floor 1e-10, a vectorised f64
    /// log10 and the float32 cast, frame-major into a scratch buffer; then the float32
    /// `max - 8` clamp and `(x + 4) / 4` fused with the transposition into `(n_mels, frames)`.
    fn log_mel_fast(
        &self,
        clip: &[f32],
        frames: usize,
        out: &mut [f32],
        parallel: bool,
    ) -> Result<()> {
        let n_mels = self.n_mels;
        if frames == 0 {
            return Ok(());
        }
        // chunk `ci` owns frames [ci*CHUNK, ...) of every output row: hand it its own disjoint
        // pieces of the rows (no frame-major scratch copy of the whole clip, whose fresh pages
        // cost as much as the transposition)
        let chunks = frames.div_ceil(CLIP_CHUNK_FRAMES);
        let mut pieces: Vec<Vec<&mut [f32]>> =
            (0..chunks).map(|_| Vec::with_capacity(n_mels)).collect();
        for row in out.chunks_exact_mut(frames) {
            for (ci, piece) in row.chunks_mut(CLIP_CHUNK_FRAMES).enumerate() {
                pieces[ci].push(piece);
            }
        }
        type State = (RealFft, Vec<f64>, Vec<f64>, Vec<f32>);
        let init = || -> Result<State> {
            Ok((
                RealFft::new(self.n_fft)?,
                vec![0.0; 1 + self.n_fft / 2],
                vec![0.0; n_mels],
                vec![0.0; CLIP_CHUNK_FRAMES * n_mels],
            ))
        };
        let run = |state: &mut Result<State>, (ci, mut cols): (usize, Vec<&mut [f32]>)| {
            let (fft, spec, mel, local) = state.as_mut().map_err(|e| e.clone())?;
            let n = cols[0].len();
            let mut max = f32::NEG_INFINITY;
            for (r, row) in local[..n * n_mels].chunks_exact_mut(n_mels).enumerate() {
                self.frame(clip, ci * CLIP_CHUNK_FRAMES + r, fft, spec, mel, row)?;
                max = row.iter().fold(max, |a, &b| a.max(b));
            }
            // transpose the chunk's frames into its pieces of the output rows
            for (m, col) in cols.iter_mut().enumerate() {
                for (r, v) in col.iter_mut().enumerate() {
                    *v = local[r * n_mels + m];
                }
            }
            Ok(max)
        };
        let max = if parallel {
            pieces
                .into_par_iter()
                .enumerate()
                .map_init(init, run)
                .try_reduce(|| f32::NEG_INFINITY, |a, b| Ok(a.max(b)))?
        } else {
            let mut state = init();
            let mut max = f32::NEG_INFINITY;
            for item in pieces.into_iter().enumerate() {
                max = max.max(run(&mut state, item)?);
            }
            max
        };
        // the rest of transformers' recipe runs in float32
        let floor = max - 8.0;
        let finish = |x: &mut f32| *x = (x.max(floor) + 4.0) / 4.0;
        if parallel {
            out.par_chunks_mut(CLIP_CHUNK_FRAMES * n_mels)
                .for_each(|c| c.iter_mut().for_each(finish));
        } else {
            out.iter_mut().for_each(finish);
        }
        Ok(())
    }

    /// Log10-mel values of frame `t`, rounded to float32, into `row`.
    fn frame(
        &self,
        clip: &[f32],
        t: usize,
        fft: &mut RealFft,
        spec: &mut [f64],
        mel: &mut [f64],
        row: &mut [f32],
    ) -> Result<()> {
        let n = clip.len();
        let pad = self.n_fft / 2;
        let start = t * self.hop_length; // in padded coordinates
        let buf = fft.input_mut();
        if start >= pad && start + self.n_fft <= pad + n {
            let s = start - pad;
            buf.iter_mut()
                .zip(&clip[s..s + self.n_fft])
                .zip(&self.window)
                .for_each(|((b, &x), &w)| *b = x as f64 * w);
        } else {
            // edges: numpy's reflect padding (frames never reach past the padded end)
            for (j, (b, &w)) in buf.iter_mut().zip(&self.window).enumerate() {
                let i = (start + j) as isize - pad as isize;
                *b = clip[reflect_index(i, n)] as f64 * w;
            }
        }
        let half = fft.process()?;
        spec.iter_mut().zip(half).for_each(|(s, c)| {
            // transformers stores the STFT as complex64; f32 products are exact in f64
            let (re, im) = (c.re as f32 as f64, c.im as f32 as f64);
            *s = re * re + im * im;
        });
        self.bank.apply(spec, mel);
        log10_row(mel, row);
        Ok(())
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
    fn fast_log10_matches_libm() {
        let mut x = 1e-10f64;
        while x < 1e12 {
            let (a, b) = (log10_fast(x), x.log10());
            assert!((a - b).abs() <= 1e-14 * b.abs().max(1.0), "{x}: {a} vs {b}");
            x *= 1.000_37;
        }
    }

    #[test]
    fn fast_path_matches_generic_stft() {
        // the specialised path against the generic spectrogram with Whisper's options
        let fe = WhisperLogMel::new(80, 16000.0, 160, 400, 0.0, 0.0).unwrap();
        let x: Vec<f32> = (0..40_000u64)
            .map(|t| ((t * t % 1013) as f32 / 1013.0 - 0.5) * (1.0 + (t as f32 * 1e-3).sin()))
            .collect();
        for target in [40_000usize, 30_000, 48_000, 300] {
            let frames = fe.num_frames(target);
            let mut fast = vec![0.0f32; 80 * frames];
            fe.extract_into(&x, target, None, &mut fast).unwrap();
            let keep = x.len().min(target);
            let mut clip = vec![0.0f32; target];
            clip[..keep].copy_from_slice(&x[..keep]);
            let mut o = SpectrogramOptions::new(400, 160);
            o.power = Some(2.0);
            o.log_mel = Some(LogMel::Log10);
            o.max_num_frames = Some(frames);
            let s = crate::audio::spectrogram(&clip, &fe.window, Some(&fe.bank), &o).unwrap();
            let crate::audio::SpectrogramValues::Real(v) = s.values else {
                panic!()
            };
            let max = v.iter().map(|&v| v as f32).fold(f32::MIN, f32::max);
            for (a, &b) in fast.iter().zip(&v) {
                let b = ((b as f32).max(max - 8.0) + 4.0) / 4.0;
                assert!((a - b).abs() <= 1e-6, "{target}: {a} vs {b}");
            }
            // and the same whatever the thread count
            let one = crate::audio::with_num_threads(Some(1), || {
                fe.extract_batch(&[&x], target, None).unwrap()
            })
            .unwrap();
            assert_eq!(one, fast);
        }
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
