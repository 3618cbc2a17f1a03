//! STFT spectrograms with every option of `transformers.audio_utils.spectrogram` plus the
//! Transformers.js extras, and the dB conversions.
//!
//! Frames are independent, so they are computed in parallel chunks (rayon), each worker with its
//! own FFT buffers. Results are laid out frame-major while computing and transposed at the end
//! unless `transpose` asks for `(frames, bins)`.
use super::fft::RealFft;
use super::mel::MelBank;
use super::{check_finite, invalid, zeroed, AudioError, Result};
use rayon::prelude::*;
use realfft::num_complex::{Complex32, Complex64};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

/// How `center=true` pads the waveform by `frame_length / 2` on both sides (numpy `np.pad` modes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PadMode {
    Constant,
    Edge,
    Reflect,
}

impl FromStr for PadMode {
    type Err = AudioError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "constant" => Ok(Self::Constant),
            "edge" => Ok(Self::Edge),
            "reflect" => Ok(Self::Reflect),
            _ => invalid(format!(
                "pad_mode must be 'constant', 'edge' or 'reflect' (got {s:?})"
            )),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogMel {
    Log,
    Log10,
    /// Decibels: `amplitude_to_db` for power 1, `power_to_db` for power 2.
    Db,
}

impl FromStr for LogMel {
    type Err = AudioError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "log" => Ok(Self::Log),
            "log10" => Ok(Self::Log10),
            "dB" => Ok(Self::Db),
            _ => invalid(format!(
                "Unknown log_mel option: {s:?} (expected None, 'log', 'log10' or 'dB')"
            )),
        }
    }
}

/// Options of `spectrogram`; `SpectrogramOptions::new` gives transformers' defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct SpectrogramOptions {
    pub frame_length: usize,
    pub hop_length: usize,
    /// FFT size (>= frame_length; frames are zero-padded). `None`: `frame_length`.
    pub fft_length: Option<usize>,
    /// 1.0 amplitude, 2.0 power, any other exponent of the amplitude; `None`: complex output.
    pub power: Option<f64>,
    pub center: bool,
    pub pad_mode: PadMode,
    pub onesided: bool,
    /// Standard deviation of Gaussian noise added to each frame (0: none).
    pub dither: f64,
    /// Seed of the dither noise (`None`: a fresh seed per call).
    pub seed: Option<u64>,
    pub preemphasis: Option<f64>,
    pub mel_floor: f64,
    /// Transformers.js: added to the floored mel values before the log.
    pub mel_offset: f64,
    pub log_mel: Option<LogMel>,
    pub reference: f64,
    pub min_value: f64,
    pub db_range: Option<f64>,
    pub remove_dc_offset: bool,
    /// Transformers.js: compute at least this many frames (frames past the end see zeros).
    pub min_num_frames: Option<usize>,
    /// Transformers.js: compute at most this many frames; with `do_pad`, pad the output to it.
    pub max_num_frames: Option<usize>,
    pub do_pad: bool,
    /// Transformers.js: output `(frames, bins)` instead of `(bins, frames)`.
    pub transpose: bool,
}

impl SpectrogramOptions {
    pub fn new(frame_length: usize, hop_length: usize) -> Self {
        Self {
            frame_length,
            hop_length,
            fft_length: None,
            power: Some(1.0),
            center: true,
            pad_mode: PadMode::Reflect,
            onesided: true,
            dither: 0.0,
            seed: None,
            preemphasis: None,
            mel_floor: 1e-10,
            mel_offset: 0.0,
            log_mel: None,
            reference: 1.0,
            min_value: 1e-10,
            db_range: None,
            remove_dc_offset: false,
            min_num_frames: None,
            max_num_frames: None,
            do_pad: true,
            transpose: false,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum SpectrogramValues {
    Real(Vec<f64>),
    /// complex64, as transformers returns for `power=None`.
    Complex(Vec<Complex32>),
}

/// A row-major 2-D spectrogram: `shape = (bins, frames)`, or `(frames, bins)` when transposed.
#[derive(Clone, Debug, PartialEq)]
pub struct Spectrogram {
    pub values: SpectrogramValues,
    pub shape: (usize, usize),
}

/// Frames per parallel work item: large enough to amortise scheduling, small enough to balance.
const CHUNK_FRAMES: usize = 32;

pub(crate) fn reflect_index(i: isize, n: usize) -> usize {
    if n == 1 {
        return 0;
    }
    // numpy's "reflect" repeated as often as needed: a triangle wave of period 2(n-1)
    let period = 2 * (n as isize - 1);
    let m = i.rem_euclid(period);
    if m >= n as isize {
        (period - m) as usize
    } else {
        m as usize
    }
}

/// Sample `i` (may be negative or past the end) of `x` extended the way `np.pad` does.
fn pad_value<T: Copy + Into<f64>>(x: &[T], i: isize, mode: PadMode) -> f64 {
    let n = x.len();
    if i >= 0 && (i as usize) < n {
        return x[i as usize].into();
    }
    match mode {
        PadMode::Constant => 0.0,
        PadMode::Edge => x[if i < 0 { 0 } else { n - 1 }].into(),
        PadMode::Reflect => x[reflect_index(i, n)].into(),
    }
}

/// Gaussian noise for dithering (SplitMix64 + Box-Muller): small, seedable, and the same
/// sequence whatever the thread count, because each chunk of frames derives its own stream.
struct Gaussian {
    state: u64,
    spare: Option<f64>,
}

impl Gaussian {
    fn new(seed: u64, stream: u64) -> Self {
        Self {
            state: seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15),
            spare: None,
        }
    }
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn uniform_open(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64 // in (0, 1]
    }
    fn sample(&mut self) -> f64 {
        if let Some(s) = self.spare.take() {
            return s;
        }
        let r = (-2.0 * self.uniform_open().ln()).sqrt();
        let theta = 2.0 * std::f64::consts::PI * self.uniform_open();
        self.spare = Some(r * theta.sin());
        r * theta.cos()
    }
}

fn fresh_seed() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    nanos
        ^ COUNTER
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0xD1B5_4A32_D192_ED03)
}

/// Per-thread state: the FFT with its buffers, spectrum and row buffers, and the dither noise of
/// the chunk being computed.
pub(crate) struct Worker {
    fft: RealFft,
    spectrum: Vec<f64>,
    /// one output row in f64, for callers that convert it (Whisper writes f32)
    pub(crate) row: Vec<f64>,
    noise: Option<Gaussian>,
}

/// A validated STFT of one waveform. The padded signal is never materialised: frames read the
/// waveform through the padding rule, so a 30 s clip costs no extra copy.
pub(crate) struct Stft<'a, T> {
    x: &'a [T],
    pad: usize,
    window: &'a [f64],
    mel: Option<&'a MelBank>,
    o: &'a SpectrogramOptions,
    fft_length: usize,
    num_bins: usize,
    seed: u64,
    /// frames actually computed
    pub(crate) computed: usize,
    /// frames in the output (computed + zero frames added by `do_pad`)
    pub(crate) total: usize,
    /// values per frame: mel filters, or frequency bins
    pub(crate) width: usize,
}

impl<'a, T: Copy + Into<f64> + Sync> Stft<'a, T> {
    pub(crate) fn new(
        x: &'a [T],
        window: &'a [f64],
        mel: Option<&'a MelBank>,
        o: &'a SpectrogramOptions,
    ) -> Result<Self> {
        let fft_length = o.fft_length.unwrap_or(o.frame_length);
        let num_bins = if o.onesided {
            fft_length / 2 + 1
        } else {
            fft_length
        };
        validate(x.len(), window, mel, o, num_bins)?;
        check_finite(x, "waveform")?;
        let pad = if o.center { o.frame_length / 2 } else { 0 };
        let padded_len = x.len() + 2 * pad;
        let natural = if padded_len >= o.frame_length {
            1 + (padded_len - o.frame_length) / o.hop_length
        } else {
            0
        };
        let mut computed = natural.max(o.min_num_frames.unwrap_or(0));
        let mut total = computed;
        if let Some(max_frames) = o.max_num_frames {
            if max_frames > computed {
                if o.do_pad {
                    total = max_frames;
                }
            } else {
                computed = max_frames;
                total = max_frames;
            }
        }
        Ok(Self {
            x,
            pad,
            window,
            mel,
            o,
            fft_length,
            num_bins,
            seed: o.seed.unwrap_or_else(fresh_seed),
            computed,
            total,
            width: mel.map_or(num_bins, MelBank::num_mel_filters),
        })
    }

    pub(crate) fn worker(&self) -> Result<Worker> {
        Ok(Worker {
            fft: RealFft::new(self.fft_length)?,
            spectrum: vec![0.0; self.num_bins],
            row: vec![0.0; self.width],
            noise: None,
        })
    }

    /// Frame `t` of the padded signal into `buf` (zeros past its end and up to `fft_length`).
    fn load(&self, t: usize, buf: &mut [f64]) {
        let fl = self.o.frame_length;
        let n = self.x.len();
        let start = t * self.o.hop_length; // in padded coordinates
        if start >= self.pad && start + fl <= self.pad + n {
            let s = start - self.pad;
            buf[..fl]
                .iter_mut()
                .zip(&self.x[s..s + fl])
                .for_each(|(b, &v)| *b = v.into());
        } else {
            let padded_len = n + 2 * self.pad;
            for (j, b) in buf[..fl].iter_mut().enumerate() {
                let p = start + j;
                *b = if p >= padded_len {
                    0.0
                } else {
                    pad_value(self.x, p as isize - self.pad as isize, self.o.pad_mode)
                };
            }
        }
        // the FFT uses its input as scratch: the zero padding must be rewritten every frame
        buf[fl..].iter_mut().for_each(|x| *x = 0.0);
    }

    /// Loads frame `t`, applies dither, DC removal, pre-emphasis and the window, exactly in
    /// transformers' order, and runs the FFT. `first_in_chunk` restarts the chunk's noise stream.
    fn transform<'w>(
        &self,
        fft: &'w mut RealFft,
        noise: &mut Option<Gaussian>,
        chunk: usize,
        first_in_chunk: bool,
        t: usize,
    ) -> Result<&'w [Complex64]> {
        let fl = self.o.frame_length;
        let buf = fft.input_mut();
        self.load(t, buf);
        let frame = &mut buf[..fl];
        if self.o.dither != 0.0 {
            if first_in_chunk || noise.is_none() {
                *noise = Some(Gaussian::new(self.seed, chunk as u64));
            }
            if let Some(g) = noise.as_mut() {
                let d = self.o.dither;
                frame.iter_mut().for_each(|x| *x += d * g.sample());
            }
        }
        if self.o.remove_dc_offset {
            let mean = frame.iter().sum::<f64>() / fl as f64;
            frame.iter_mut().for_each(|x| *x -= mean);
        }
        if let Some(p) = self.o.preemphasis {
            // backwards, so each step still sees the original previous sample
            for j in (1..fl).rev() {
                frame[j] -= p * frame[j - 1];
            }
            frame[0] *= 1.0 - p;
        }
        frame.iter_mut().zip(self.window).for_each(|(x, w)| *x *= w);
        fft.process()
    }

    /// Bin `k` of a frame's spectrum rounded to complex64 (transformers stores its STFT as
    /// complex64 before taking magnitudes; rounding the same way keeps results bit-close).
    fn bin(&self, half: &[Complex64], k: usize) -> Complex32 {
        let c = if k < half.len() {
            half[k]
        } else {
            // negative frequencies of a real signal: conjugate symmetry
            half[self.fft_length - k].conj()
        };
        Complex32::new(c.re as f32, c.im as f32)
    }

    /// The complex spectrum of frame `t`.
    fn complex_row(
        &self,
        w: &mut Worker,
        chunk: usize,
        first: bool,
        t: usize,
        row: &mut [Complex32],
    ) -> Result<()> {
        let half = self.transform(&mut w.fft, &mut w.noise, chunk, first, t)?;
        for (k, out) in row.iter_mut().enumerate() {
            *out = self.bin(half, k);
        }
        Ok(())
    }

    /// Power / mel / log values of frame `t` (before `db_range`, which needs the global max).
    pub(crate) fn real_row(
        &self,
        w: &mut Worker,
        chunk: usize,
        first: bool,
        t: usize,
        row: &mut [f64],
    ) -> Result<()> {
        let power = self.o.power.unwrap_or(1.0);
        let half = self.transform(&mut w.fft, &mut w.noise, chunk, first, t)?;
        for (k, s) in w.spectrum.iter_mut().enumerate() {
            let c = self.bin(half, k);
            // exact: products of f32 values are exact in f64, one rounding in the sum
            let p2 = c.re as f64 * c.re as f64 + c.im as f64 * c.im as f64;
            *s = if power == 2.0 {
                p2
            } else if power == 1.0 {
                p2.sqrt()
            } else {
                p2.sqrt().powf(power)
            };
        }
        match self.mel {
            Some(bank) => {
                bank.apply(&w.spectrum, row);
                let (floor, offset) = (self.o.mel_floor, self.o.mel_offset);
                row.iter_mut().for_each(|x| *x = offset + x.max(floor));
            }
            None => row.copy_from_slice(&w.spectrum),
        }
        match self.o.log_mel {
            None => {}
            Some(LogMel::Log) => row.iter_mut().for_each(|x| *x = x.ln()),
            Some(LogMel::Log10) => row.iter_mut().for_each(|x| *x = x.log10()),
            Some(LogMel::Db) => {
                let factor = if power == 1.0 { 20.0 } else { 10.0 };
                db_in_place(row, factor, self.o.reference, self.o.min_value);
            }
        }
        Ok(())
    }

    /// Calls `row_fn(worker, chunk, first_in_chunk, t, row)` for every computed frame, in
    /// parallel chunks of frames, with `row` the frame's slot in `out`. `out` holds `total`
    /// frames of `width` values, `(total, width)` when `frame_major`, else `(width, total)`:
    /// that layout is written directly (no transposition pass, no second buffer).
    pub(crate) fn fill<V, F>(&self, out: &mut [V], frame_major: bool, row_fn: F) -> Result<()>
    where
        V: Copy + Default + Send + Sync,
        F: Fn(&mut Worker, usize, bool, usize, &mut [V]) -> Result<()> + Sync + Send,
    {
        let (width, total, computed) = (self.width, self.total, self.computed);
        if width == 0 || computed == 0 {
            return Ok(());
        }
        if frame_major {
            return out[..computed * width]
                .par_chunks_mut(CHUNK_FRAMES * width)
                .enumerate()
                .try_for_each_init(
                    || self.worker(),
                    |w, (ci, rows)| {
                        let w = w.as_mut().map_err(|e| e.clone())?;
                        for (r, row) in rows.chunks_exact_mut(width).enumerate() {
                            row_fn(w, ci, r == 0, ci * CHUNK_FRAMES + r, row)?;
                        }
                        Ok(())
                    },
                );
        }
        // (width, total): chunk `ci` owns frames [ci*CHUNK, ...) of every output row; hand each
        // chunk its own disjoint pieces of the rows and scatter its frames into them
        let chunks = computed.div_ceil(CHUNK_FRAMES);
        let mut pieces: Vec<Vec<&mut [V]>> =
            (0..chunks).map(|_| Vec::with_capacity(width)).collect();
        for row in out.chunks_exact_mut(total) {
            for (ci, piece) in row[..computed].chunks_mut(CHUNK_FRAMES).enumerate() {
                pieces[ci].push(piece);
            }
        }
        pieces.into_par_iter().enumerate().try_for_each_init(
            || self.worker().map(|w| (w, vec![V::default(); width])),
            |state, (ci, mut cols)| {
                let (w, scratch) = state.as_mut().map_err(|e| e.clone())?;
                for r in 0..cols[0].len() {
                    row_fn(w, ci, r == 0, ci * CHUNK_FRAMES + r, scratch)?;
                    for (col, &v) in cols.iter_mut().zip(scratch.iter()) {
                        col[r] = v;
                    }
                }
                Ok(())
            },
        )
    }
}

fn db_in_place(values: &mut [f64], factor: f64, reference: f64, min_value: f64) {
    let log_ref = reference.max(min_value).log10();
    values
        .iter_mut()
        .for_each(|x| *x = factor * (x.max(min_value).log10() - log_ref));
}

fn clip_db_range(values: &mut [f64], db_range: f64) {
    let max = values.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let floor = max - db_range;
    values.iter_mut().for_each(|x| *x = x.max(floor));
}

fn check_db_args(reference: f64, min_value: f64, db_range: Option<f64>) -> Result<()> {
    // written so NaN fails too
    if reference.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
        return invalid("reference must be greater than zero");
    }
    if min_value.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
        return invalid("min_value must be greater than zero");
    }
    if let Some(r) = db_range {
        if r.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
            return invalid("db_range must be greater than zero");
        }
    }
    Ok(())
}

/// `transformers.audio_utils.amplitude_to_db`, in place: `20 * log10(max(x, min_value) / ref)`.
pub fn amplitude_to_db(
    values: &mut [f64],
    reference: f64,
    min_value: f64,
    db_range: Option<f64>,
) -> Result<()> {
    check_db_args(reference, min_value, db_range)?;
    db_in_place(values, 20.0, reference, min_value);
    if let Some(r) = db_range {
        clip_db_range(values, r);
    }
    Ok(())
}

/// `transformers.audio_utils.power_to_db`, in place: `10 * log10(max(x, min_value) / ref)`.
pub fn power_to_db(
    values: &mut [f64],
    reference: f64,
    min_value: f64,
    db_range: Option<f64>,
) -> Result<()> {
    check_db_args(reference, min_value, db_range)?;
    db_in_place(values, 10.0, reference, min_value);
    if let Some(r) = db_range {
        clip_db_range(values, r);
    }
    Ok(())
}

fn validate(
    n_samples: usize,
    window: &[f64],
    mel: Option<&MelBank>,
    o: &SpectrogramOptions,
    num_bins: usize,
) -> Result<()> {
    let fft_length = o.fft_length.unwrap_or(o.frame_length);
    if o.frame_length == 0 {
        return invalid("frame_length must be greater than zero");
    }
    if o.hop_length == 0 {
        return invalid("hop_length must be greater than zero");
    }
    if o.frame_length > fft_length {
        return invalid(format!(
            "frame_length ({}) may not be larger than fft_length ({fft_length})",
            o.frame_length
        ));
    }
    if window.len() != o.frame_length {
        return invalid(format!(
            "Length of the window ({}) must equal frame_length ({})",
            window.len(),
            o.frame_length
        ));
    }
    check_finite(window, "window")?;
    if n_samples == 0 {
        return invalid("waveform is empty");
    }
    for (name, v) in [
        ("dither", o.dither),
        ("mel_floor", o.mel_floor),
        ("mel_offset", o.mel_offset),
        ("preemphasis", o.preemphasis.unwrap_or(0.0)),
        ("power", o.power.unwrap_or(1.0)),
    ] {
        if !v.is_finite() {
            return invalid(format!("{name} must be finite (got {v})"));
        }
    }
    match (o.power, mel) {
        (None, Some(_)) => {
            return invalid(
                "You have provided `mel_filters` but `power` is `None`. Mel spectrogram computation is not yet \
                 supported for complex-valued spectrogram. Specify `power` to fix this issue.",
            )
        }
        (_, Some(bank)) if bank.num_frequency_bins() != num_bins => {
            return invalid(format!(
                "mel_filters has {} frequency bins but the spectrogram has {num_bins} (fft_length {fft_length}, onesided {})",
                bank.num_frequency_bins(),
                o.onesided
            ))
        }
        _ => {}
    }
    if let (Some(p), Some(LogMel::Db)) = (o.power, o.log_mel) {
        if p != 1.0 && p != 2.0 {
            return invalid(format!("Cannot use log_mel option 'dB' with power {p}"));
        }
        check_db_args(o.reference, o.min_value, o.db_range)?;
    }
    Ok(())
}

/// `transformers.audio_utils.spectrogram` (plus the Transformers.js options) of one waveform.
///
/// `window` must already be padded to `frame_length`; `mel` is a prepared filter bank whose
/// `num_frequency_bins` matches the spectrogram. Output: `(bins or mels, frames)` row-major, or
/// `(frames, bins or mels)` with `transpose`. Frames added by `do_pad` are zeros.
pub fn spectrogram<T: Copy + Into<f64> + Sync>(
    waveform: &[T],
    window: &[f64],
    mel: Option<&MelBank>,
    o: &SpectrogramOptions,
) -> Result<Spectrogram> {
    let stft = Stft::new(waveform, window, mel, o)?;
    let (total, width) = (stft.total, stft.width);
    let shape = if o.transpose {
        (total, width)
    } else {
        (width, total)
    };
    if o.power.is_none() {
        // complex STFT (log_mel is ignored, as in transformers)
        let mut data = zeroed(total.checked_mul(width), "the spectrogram")?;
        stft.fill(&mut data, o.transpose, |w, ci, first, t, row| {
            stft.complex_row(w, ci, first, t, row)
        })?;
        return Ok(Spectrogram {
            values: SpectrogramValues::Complex(data),
            shape,
        });
    }
    let mut data: Vec<f64> = zeroed(total.checked_mul(width), "the spectrogram")?;
    stft.fill(&mut data, o.transpose, |w, ci, first, t, row| {
        stft.real_row(w, ci, first, t, row)
    })?;
    if let (Some(LogMel::Db), Some(r)) = (o.log_mel, o.db_range) {
        // over the computed frames only: padding frames stay zero
        let computed = stft.computed;
        let max = if o.transpose {
            data[..computed * width]
                .iter()
                .cloned()
                .fold(f64::NEG_INFINITY, f64::max)
        } else {
            data.chunks_exact(total.max(1))
                .flat_map(|row| &row[..computed])
                .cloned()
                .fold(f64::NEG_INFINITY, f64::max)
        };
        let floor = max - r;
        if o.transpose {
            data[..computed * width]
                .iter_mut()
                .for_each(|x| *x = x.max(floor));
        } else {
            data.chunks_exact_mut(total.max(1))
                .for_each(|row| row[..computed].iter_mut().for_each(|x| *x = x.max(floor)));
        }
    }
    Ok(Spectrogram {
        values: SpectrogramValues::Real(data),
        shape,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::{mel_filter_bank, window_function, MelScale, WindowKind};

    fn real(s: &Spectrogram) -> &[f64] {
        match &s.values {
            SpectrogramValues::Real(v) => v,
            _ => panic!("expected real"),
        }
    }

    fn pad_signal<T: Copy + Into<f64>>(x: &[T], pad: usize, mode: PadMode) -> Vec<f64> {
        let n = x.len() as isize;
        (-(pad as isize)..n + pad as isize)
            .map(|i| pad_value(x, i, mode))
            .collect()
    }

    #[test]
    fn reflect_like_numpy() {
        let x = [0.0f64, 1.0, 2.0];
        let p = pad_signal(&x, 10, PadMode::Reflect);
        let expect = [
            2., 1., 0., 1., 2., 1., 0., 1., 2., 1., 0., 1., 2., 1., 0., 1., 2., 1., 0., 1., 2., 1.,
            0.,
        ];
        assert_eq!(p, expect);
        assert_eq!(pad_signal(&[5.0f64], 2, PadMode::Reflect), vec![5.0; 5]);
        assert_eq!(
            pad_signal(&[1.0f64, 2.0], 2, PadMode::Edge),
            vec![1., 1., 1., 2., 2., 2.]
        );
        assert_eq!(
            pad_signal(&[1.0f32, 2.0], 1, PadMode::Constant),
            vec![0., 1., 2., 0.]
        );
    }

    #[test]
    fn tone_power_spectrum_peaks_at_its_bin() {
        let n = 4000;
        let x: Vec<f64> = (0..n)
            .map(|t| (2.0 * std::f64::consts::PI * 1000.0 * t as f64 / 16000.0).sin())
            .collect();
        let w = window_function(400, WindowKind::Hann, true, None, true).unwrap();
        let mut o = SpectrogramOptions::new(400, 160);
        o.power = Some(2.0);
        let s = spectrogram(&x, &w, None, &o).unwrap();
        assert_eq!(s.shape, (201, 1 + n / 160));
        let v = real(&s);
        let frames = s.shape.1;
        let t = frames / 2;
        let col: Vec<f64> = (0..201).map(|k| v[k * frames + t]).collect();
        let argmax = (0..201).max_by(|&a, &b| col[a].total_cmp(&col[b])).unwrap();
        assert_eq!(argmax, 25); // 1000 Hz / (16000 / 400)
                                // Parseval-ish: peak amplitude of a unit sine under a periodic Hann window is N/4
        assert!((col[25].sqrt() - 100.0).abs() < 0.5, "{}", col[25].sqrt());
    }

    #[test]
    fn options_validation() {
        let w = vec![1.0; 8];
        let x = vec![0.5f32; 100];
        let mut o = SpectrogramOptions::new(8, 4);
        o.fft_length = Some(4);
        assert!(spectrogram(&x, &w, None, &o).is_err());
        let o = SpectrogramOptions::new(16, 4);
        assert!(spectrogram(&x, &w, None, &o).is_err()); // window length mismatch
        let o = SpectrogramOptions::new(8, 0);
        assert!(spectrogram(&x, &w, None, &o).is_err());
        let o = SpectrogramOptions::new(8, 4);
        assert!(spectrogram::<f32>(&[], &w, None, &o).is_err());
        let mut bad = x.clone();
        bad[42] = f32::NAN;
        let err = spectrogram(&bad, &w, None, &o).unwrap_err();
        assert!(err.to_string().contains("index 42"), "{err}");
        let mut o = SpectrogramOptions::new(8, 4);
        o.log_mel = Some(LogMel::Db);
        o.power = Some(3.0);
        assert!(spectrogram(&x, &w, None, &o).is_err());
        let bank = MelBank::new(&[0.1; 6 * 2], 6, 2).unwrap();
        let mut o = SpectrogramOptions::new(8, 4);
        assert!(spectrogram(&x, &w, Some(&bank), &o).is_err()); // 5 bins vs 6
        o.power = None;
        let bank = MelBank::new(&[0.1; 5 * 2], 5, 2).unwrap();
        assert!(spectrogram(&x, &w, Some(&bank), &o).is_err());
    }

    #[test]
    fn complex_output_is_conjugate_symmetric_when_two_sided() {
        let x: Vec<f64> = (0..64).map(|i| ((i * 7 % 13) as f64) - 6.0).collect();
        let w = vec![1.0; 16];
        let mut o = SpectrogramOptions::new(16, 8);
        o.power = None;
        o.onesided = false;
        o.transpose = true;
        let s = spectrogram(&x, &w, None, &o).unwrap();
        let SpectrogramValues::Complex(v) = &s.values else {
            panic!()
        };
        let (frames, bins) = s.shape;
        assert_eq!(bins, 16);
        for t in 0..frames {
            for k in 1..16 {
                assert_eq!(v[t * 16 + k], v[t * 16 + 16 - k].conj());
            }
        }
    }

    #[test]
    fn frame_limits_and_padding() {
        let x = vec![0.25f64; 1000];
        let w = vec![1.0; 100];
        let bank = MelBank::new(
            &mel_filter_bank(51, 4, 0.0, 4000.0, 8000.0, false, MelScale::Htk, false).unwrap(),
            51,
            4,
        )
        .unwrap();
        let mut o = SpectrogramOptions::new(100, 50);
        o.power = Some(2.0);
        o.log_mel = Some(LogMel::Log10);
        let full = spectrogram(&x, &w, Some(&bank), &o).unwrap();
        assert_eq!(full.shape, (4, 21));
        o.max_num_frames = Some(10);
        let cut = spectrogram(&x, &w, Some(&bank), &o).unwrap();
        assert_eq!(cut.shape, (4, 10));
        for m in 0..4 {
            assert_eq!(
                real(&cut)[m * 10..m * 10 + 10],
                real(&full)[m * 21..m * 21 + 10]
            );
        }
        o.max_num_frames = Some(30);
        o.transpose = true;
        let padded = spectrogram(&x, &w, Some(&bank), &o).unwrap();
        assert_eq!(padded.shape, (30, 4));
        assert!(real(&padded)[21 * 4..].iter().all(|&v| v == 0.0));
        o.do_pad = false;
        assert_eq!(spectrogram(&x, &w, Some(&bank), &o).unwrap().shape, (21, 4));
        o.max_num_frames = None;
        o.min_num_frames = Some(25);
        let more = spectrogram(&x, &w, Some(&bank), &o).unwrap();
        assert_eq!(more.shape, (25, 4));
        assert_eq!(
            real(&more)[..21 * 4],
            real(
                &spectrogram(
                    &x,
                    &w,
                    Some(&bank),
                    &SpectrogramOptions {
                        min_num_frames: None,
                        ..o.clone()
                    }
                )
                .unwrap()
            )[..]
        );
    }

    #[test]
    fn dither_is_seeded_and_thread_independent() {
        let x = vec![0.0f64; 20000];
        let w = vec![1.0; 64];
        let mut o = SpectrogramOptions::new(64, 16);
        o.dither = 1e-3;
        o.seed = Some(7);
        let a = spectrogram(&x, &w, None, &o).unwrap();
        let b = crate::audio::with_num_threads(Some(1), || spectrogram(&x, &w, None, &o))
            .unwrap()
            .unwrap();
        assert_eq!(a, b);
        assert!(real(&a).iter().any(|&v| v > 0.0));
        o.seed = Some(8);
        assert_ne!(a, spectrogram(&x, &w, None, &o).unwrap());
        // noise level: mean power per bin of white noise with sigma d through a boxcar is N d^2
        let mean: f64 = real(&a).iter().map(|v| v * v).sum::<f64>() / real(&a).len() as f64;
        assert!((mean / (64.0 * 1e-6) - 1.0).abs() < 0.1, "{mean}");
    }

    #[test]
    fn db_conversions() {
        let mut v = vec![1.0, 10.0, 100.0, 0.0];
        power_to_db(&mut v, 1.0, 1e-10, None).unwrap();
        assert_eq!(v, vec![0.0, 10.0, 20.0, -100.0]);
        let mut v = vec![1.0, 10.0, 100.0, 0.0];
        amplitude_to_db(&mut v, 10.0, 1e-5, Some(30.0)).unwrap();
        assert_eq!(v, vec![-10.0, 0.0, 20.0, -10.0]); // -20 dB clipped to max - 30
        assert!(power_to_db(&mut v, 0.0, 1e-10, None).is_err());
        assert!(power_to_db(&mut v, 1.0, 0.0, None).is_err());
        assert!(power_to_db(&mut v, 1.0, 1e-10, Some(-1.0)).is_err());
    }
}
