//! Audio DSP: window functions, real FFT of any length, STFT/spectrogram, mel filter banks,
//! dB conversions and the Whisper log-mel front end.
//!
//! Semantics follow `transformers.audio_utils` (pure numpy, float64) so that results match it to
//! ~1e-7; the Transformers.js extras of `spectrogram` (`min_num_frames`, `max_num_frames`,
//! `do_pad`, `transpose`, `mel_offset`) are supported as well. Everything is computed in f64,
//! like numpy does, and only rounded where transformers rounds (its STFT buffer is complex64, and
//! log spectrograms are cast to float32).

mod dtw;
mod fbank;
mod fft;
mod mel;
mod spectrogram;
mod whisper;
mod window;

pub use dtw::{dynamic_time_warping, median_filter};
pub use fbank::{FbankNorm, KaldiFbank, KaldiFbankOptions};
pub use fft::{rfft, RealFft};
pub use mel::{hertz_to_mel, mel_filter_bank, mel_to_hertz, MelBank, MelScale};
pub use spectrogram::{
    amplitude_to_db, power_to_db, spectrogram, LogMel, PadMode, Spectrogram, SpectrogramOptions,
    SpectrogramValues,
};
pub use whisper::WhisperLogMel;
pub use window::{window_function, WindowKind};

/// Complex numbers as used by the FFT (re-exported so callers need no extra dependency).
pub use realfft::num_complex::{Complex32, Complex64};

/// Every audio error is a problem with the caller's arguments or samples.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AudioError {
    #[error("{0}")]
    InvalidArgument(String),
}

pub type Result<T> = std::result::Result<T, AudioError>;

pub(crate) fn invalid<T>(msg: impl Into<String>) -> Result<T> {
    Err(AudioError::InvalidArgument(msg.into()))
}

/// Runs `f` on a dedicated rayon pool of `num_threads` threads, or on the global pool when `None`.
/// Lets callers (and benchmarks) bound the parallelism of one call without touching global state.
pub fn with_num_threads<R: Send>(
    num_threads: Option<usize>,
    f: impl FnOnce() -> R + Send,
) -> Result<R> {
    match num_threads {
        None => Ok(f()),
        Some(0) => invalid("num_threads must be at least 1"),
        Some(n) => Ok(pool(n)?.install(f)),
    }
}

/// The process-wide pool of `n` threads. Pools are cached: starting threads on every call cost
/// more than a whole 30 s Whisper spectrogram (~0.1 ms per thread), and callers use a handful of
/// distinct sizes.
fn pool(n: usize) -> Result<std::sync::Arc<rayon::ThreadPool>> {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<rayon::ThreadPool>>>> = OnceLock::new();
    let pools = POOLS.get_or_init(|| Mutex::new(HashMap::new()));
    // a poisoned lock only means a thread panicked while inserting; the map is still valid
    let mut pools = pools.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = pools.get(&n) {
        return Ok(p.clone());
    }
    let p = Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .map_err(|e| AudioError::InvalidArgument(format!("cannot start {n} threads: {e}")))?,
    );
    pools.insert(n, p.clone());
    Ok(p)
}

/// A zero-filled buffer of `len` values, or an error (instead of a process abort) when the
/// size overflows or cannot be allocated, e.g. from an absurd `min_num_frames` or `max_length`.
pub(crate) fn zeroed<T: Clone + Default>(len: Option<usize>, what: &str) -> Result<Vec<T>> {
    let len = len.ok_or_else(|| AudioError::InvalidArgument(format!("{what} is too large")))?;
    let mut v = Vec::new();
    v.try_reserve_exact(len)
        .map_err(|_| AudioError::InvalidArgument(format!("{what} is too large ({len} values)")))?;
    v.resize(len, T::default());
    Ok(v)
}

/// Samples must be finite: one NaN would silently poison a whole spectrogram (Whisper's
/// `max - 8` clamp spreads it to every value), so we reject it with its position instead.
pub(crate) fn check_finite<T: Copy + Into<f64>>(samples: &[T], what: &str) -> Result<()> {
    match samples.iter().position(|&x| !x.into().is_finite()) {
        None => Ok(()),
        Some(i) => invalid(format!(
            "{what} contains a non-finite value ({}) at index {i}",
            samples[i].into()
        )),
    }
}
