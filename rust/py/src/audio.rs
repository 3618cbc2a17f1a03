//! Bindings of the audio DSP core. numpy in (read-only, zero-copy views of contiguous float
//! arrays) and out (arrays that take ownership of the Rust buffers); the GIL is released for
//! every computation; every core error becomes `onnxformers.InvalidInputError`.
//!
//! The Python layer (`onnxformers/utils/audio.py`) normalises dtypes and contiguity before
//! calling these, so here a wrong dtype or layout is reported rather than converted.
use crate::errors::{describe, invalid_input_error};
use numpy::ndarray::{Array2, Array3};
use numpy::{
    IntoPyArray, PyArray1, PyArray2, PyArray3, PyArrayDyn, PyArrayMethods, PyReadonlyArray1,
    PyReadonlyArray2, PyReadonlyArrayDyn, PyUntypedArrayMethods,
};
use onnxformers_core::audio as core;
use pyo3::prelude::*;

fn err(e: core::AudioError) -> PyErr {
    invalid_input_error(e)
}

fn parse<T: std::str::FromStr<Err = core::AudioError>>(s: &str) -> PyResult<T> {
    s.parse().map_err(err)
}

/// A 1-D float32 or float64 array, borrowed read-only.
enum Samples<'py> {
    F32(PyReadonlyArray1<'py, f32>),
    F64(PyReadonlyArray1<'py, f64>),
}

fn samples<'py>(obj: &Bound<'py, PyAny>, what: &str) -> PyResult<Samples<'py>> {
    if let Ok(a) = obj.downcast::<PyArray1<f32>>() {
        return Ok(Samples::F32(a.try_readonly()?));
    }
    if let Ok(a) = obj.downcast::<PyArray1<f64>>() {
        return Ok(Samples::F64(a.try_readonly()?));
    }
    Err(invalid_input_error(format!(
        "{what} must be a 1-D float32 or float64 numpy array, got {}",
        describe(obj)
    )))
}

fn contiguous<'a, T: numpy::Element>(
    a: &'a PyReadonlyArray1<'_, T>,
    what: &str,
) -> PyResult<&'a [T]> {
    a.as_slice()
        .map_err(|_| invalid_input_error(format!("{what} must be C-contiguous")))
}

fn array2<'py, T: numpy::Element>(
    py: Python<'py>,
    data: Vec<T>,
    shape: (usize, usize),
) -> PyResult<Bound<'py, PyArray2<T>>> {
    Array2::from_shape_vec(shape, data)
        .map(|a| a.into_pyarray(py))
        .map_err(|e| invalid_input_error(format!("internal shape error: {e}")))
}

/// `window_function(window_length, name="hann", periodic=True, frame_length=None, center=True)`
#[pyfunction]
#[pyo3(signature = (window_length, name = "hann", periodic = true, frame_length = None, center = true))]
fn window_function<'py>(
    py: Python<'py>,
    window_length: usize,
    name: &str,
    periodic: bool,
    frame_length: Option<usize>,
    center: bool,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let kind: core::WindowKind = parse(name)?;
    let w =
        core::window_function(window_length, kind, periodic, frame_length, center).map_err(err)?;
    Ok(PyArray1::from_vec(py, w))
}

fn map_mel<'py>(
    py: Python<'py>,
    values: PyReadonlyArrayDyn<'py, f64>,
    mel_scale: &str,
    f: fn(f64, core::MelScale) -> f64,
) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
    let scale: core::MelScale = parse(mel_scale)?;
    let out = values.as_array().mapv(|x| f(x, scale));
    Ok(out.into_pyarray(py))
}

/// `hertz_to_mel(freq: float64 array, mel_scale="htk")` (any shape)
#[pyfunction]
#[pyo3(signature = (freq, mel_scale = "htk"))]
fn hertz_to_mel<'py>(
    py: Python<'py>,
    freq: PyReadonlyArrayDyn<'py, f64>,
    mel_scale: &str,
) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
    map_mel(py, freq, mel_scale, core::hertz_to_mel)
}

/// `mel_to_hertz(mels: float64 array, mel_scale="htk")` (any shape)
#[pyfunction]
#[pyo3(signature = (mels, mel_scale = "htk"))]
fn mel_to_hertz<'py>(
    py: Python<'py>,
    mels: PyReadonlyArrayDyn<'py, f64>,
    mel_scale: &str,
) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
    map_mel(py, mels, mel_scale, core::mel_to_hertz)
}

/// `mel_filter_bank(...)` -> float64 `(num_frequency_bins, num_mel_filters)`
#[pyfunction]
#[pyo3(signature = (num_frequency_bins, num_mel_filters, min_frequency, max_frequency, sampling_rate,
                    norm = None, mel_scale = "htk", triangularize_in_mel_space = false))]
#[allow(clippy::too_many_arguments)]
fn mel_filter_bank<'py>(
    py: Python<'py>,
    num_frequency_bins: usize,
    num_mel_filters: usize,
    min_frequency: f64,
    max_frequency: f64,
    sampling_rate: f64,
    norm: Option<&str>,
    mel_scale: &str,
    triangularize_in_mel_space: bool,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let slaney = match norm {
        None => false,
        Some("slaney") => true,
        Some(other) => {
            return Err(invalid_input_error(format!(
                "norm must be one of None or \"slaney\" (got {other:?})"
            )))
        }
    };
    let scale: core::MelScale = parse(mel_scale)?;
    let bank = core::mel_filter_bank(
        num_frequency_bins,
        num_mel_filters,
        min_frequency,
        max_frequency,
        sampling_rate,
        slaney,
        scale,
        triangularize_in_mel_space,
    )
    .map_err(err)?;
    array2(py, bank, (num_frequency_bins, num_mel_filters))
}

/// The STFT with every option of transformers' `spectrogram` plus the Transformers.js extras.
/// Returns float64 `(bins|mels, frames)` (or `(frames, ...)` with `transpose`), complex64 when
/// `power is None`.
#[pyfunction]
#[pyo3(signature = (waveform, window, frame_length, hop_length, fft_length = None, power = Some(1.0),
                    center = true, pad_mode = "reflect", onesided = true, dither = 0.0, preemphasis = None,
                    mel_filters = None, mel_floor = 1e-10, log_mel = None, reference = 1.0,
                    min_value = 1e-10, db_range = None, remove_dc_offset = false, *,
                    min_num_frames = None, max_num_frames = None, do_pad = true, transpose = false,
                    mel_offset = 0.0, seed = None, num_threads = None))]
#[allow(clippy::too_many_arguments)]
fn spectrogram<'py>(
    py: Python<'py>,
    waveform: &Bound<'py, PyAny>,
    window: PyReadonlyArray1<'py, f64>,
    frame_length: usize,
    hop_length: usize,
    fft_length: Option<usize>,
    power: Option<f64>,
    center: bool,
    pad_mode: &str,
    onesided: bool,
    dither: f64,
    preemphasis: Option<f64>,
    mel_filters: Option<PyReadonlyArray2<'py, f64>>,
    mel_floor: f64,
    log_mel: Option<&str>,
    reference: f64,
    min_value: f64,
    db_range: Option<f64>,
    remove_dc_offset: bool,
    min_num_frames: Option<usize>,
    max_num_frames: Option<usize>,
    do_pad: bool,
    transpose: bool,
    mel_offset: f64,
    seed: Option<u64>,
    num_threads: Option<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    let o = core::SpectrogramOptions {
        frame_length,
        hop_length,
        fft_length,
        power,
        center,
        pad_mode: parse(pad_mode)?,
        onesided,
        dither,
        seed,
        preemphasis,
        mel_floor,
        mel_offset,
        log_mel: log_mel.map(parse).transpose()?,
        reference,
        min_value,
        db_range,
        remove_dc_offset,
        min_num_frames,
        max_num_frames,
        do_pad,
        transpose,
    };
    let bank = match &mel_filters {
        None => None,
        Some(m) => {
            let (bins, mels) = (m.shape()[0], m.shape()[1]);
            let w = m
                .as_slice()
                .map_err(|_| invalid_input_error("mel_filters must be C-contiguous"))?;
            Some(core::MelBank::new(w, bins, mels).map_err(err)?)
        }
    };
    let window = contiguous(&window, "window")?;
    let wave = samples(waveform, "waveform")?;
    let run = |py: Python<'_>, f: &(dyn Fn() -> core::Result<core::Spectrogram> + Sync)| {
        py.allow_threads(|| core::with_num_threads(num_threads, f))
            .and_then(|r| r)
            .map_err(err)
    };
    let spec = match &wave {
        Samples::F32(a) => {
            let x = contiguous(a, "waveform")?;
            run(py, &|| core::spectrogram(x, window, bank.as_ref(), &o))?
        }
        Samples::F64(a) => {
            let x = contiguous(a, "waveform")?;
            run(py, &|| core::spectrogram(x, window, bank.as_ref(), &o))?
        }
    };
    Ok(match spec.values {
        core::SpectrogramValues::Real(v) => array2(py, v, spec.shape)?.into_any(),
        core::SpectrogramValues::Complex(v) => array2(py, v, spec.shape)?.into_any(),
    })
}

fn to_db<'py>(
    py: Python<'py>,
    spectrogram: PyReadonlyArrayDyn<'py, f64>,
    reference: f64,
    min_value: f64,
    db_range: Option<f64>,
    f: fn(&mut [f64], f64, f64, Option<f64>) -> core::Result<()>,
) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
    // a fresh standard-layout copy: the conversion is not in place for the caller
    let mut out = spectrogram.as_array().as_standard_layout().into_owned();
    let slice = out
        .as_slice_mut()
        .ok_or_else(|| invalid_input_error("internal layout error"))?;
    py.allow_threads(|| f(slice, reference, min_value, db_range))
        .map_err(err)?;
    Ok(out.into_pyarray(py))
}

/// `amplitude_to_db(spectrogram, reference=1.0, min_value=1e-5, db_range=None)` (float64, any shape)
#[pyfunction]
#[pyo3(signature = (spectrogram, reference = 1.0, min_value = 1e-5, db_range = None))]
fn amplitude_to_db<'py>(
    py: Python<'py>,
    spectrogram: PyReadonlyArrayDyn<'py, f64>,
    reference: f64,
    min_value: f64,
    db_range: Option<f64>,
) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
    to_db(
        py,
        spectrogram,
        reference,
        min_value,
        db_range,
        core::amplitude_to_db,
    )
}

/// `power_to_db(spectrogram, reference=1.0, min_value=1e-10, db_range=None)` (float64, any shape)
#[pyfunction]
#[pyo3(signature = (spectrogram, reference = 1.0, min_value = 1e-10, db_range = None))]
fn power_to_db<'py>(
    py: Python<'py>,
    spectrogram: PyReadonlyArrayDyn<'py, f64>,
    reference: f64,
    min_value: f64,
    db_range: Option<f64>,
) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
    to_db(
        py,
        spectrogram,
        reference,
        min_value,
        db_range,
        core::power_to_db,
    )
}

/// Whisper's log-mel front end. Immutable (frozen), so one instance can be shared by threads.
#[pyclass(frozen, module = "onnxformers._core", name = "WhisperLogMel")]
struct WhisperLogMel {
    inner: core::WhisperLogMel,
}

#[pymethods]
impl WhisperLogMel {
    #[new]
    #[pyo3(signature = (feature_size = 80, sampling_rate = 16000.0, hop_length = 160, n_fft = 400,
                        padding_value = 0.0, dither = 0.0))]
    fn new(
        feature_size: usize,
        sampling_rate: f64,
        hop_length: usize,
        n_fft: usize,
        padding_value: f32,
        dither: f64,
    ) -> PyResult<Self> {
        let inner = core::WhisperLogMel::new(
            feature_size,
            sampling_rate,
            hop_length,
            n_fft,
            padding_value,
            dither,
        )
        .map_err(err)?;
        Ok(Self { inner })
    }

    /// The float64 `(1 + n_fft // 2, feature_size)` Slaney filter bank.
    #[getter]
    fn mel_filters<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let n_mels = self.inner.n_mels();
        let w = self.inner.mel_filters().to_vec();
        let bins = w.len() / n_mels;
        array2(py, w, (bins, n_mels))
    }

    /// Frames produced for clips of `target_length` samples.
    fn num_frames(&self, target_length: usize) -> usize {
        self.inner.num_frames(target_length)
    }

    /// float32 `(len(waveforms), feature_size, num_frames(target_length))`: each float32 1-D
    /// clip padded/truncated to `target_length`, all clips in parallel.
    #[pyo3(signature = (waveforms, target_length, seed = None, num_threads = None))]
    fn extract_batch<'py>(
        &self,
        py: Python<'py>,
        waveforms: Vec<Bound<'py, PyAny>>,
        target_length: usize,
        seed: Option<u64>,
        num_threads: Option<usize>,
    ) -> PyResult<Bound<'py, PyArray3<f32>>> {
        let arrays = waveforms
            .iter()
            .enumerate()
            .map(|(i, w)| {
                w.downcast::<PyArray1<f32>>()
                    .map_err(|_| {
                        invalid_input_error(format!(
                            "audio #{i} must be a 1-D float32 numpy array, got {}",
                            describe(w)
                        ))
                    })
                    .and_then(|a| Ok(a.try_readonly()?))
            })
            .collect::<PyResult<Vec<_>>>()?;
        let slices = arrays
            .iter()
            .enumerate()
            .map(|(i, a)| contiguous(a, &format!("audio #{i}")))
            .collect::<PyResult<Vec<_>>>()?;
        let inner = &self.inner;
        let data = py
            .allow_threads(|| {
                core::with_num_threads(num_threads, || {
                    inner.extract_batch(&slices, target_length, seed)
                })
            })
            .and_then(|r| r)
            .map_err(err)?;
        let shape = (
            slices.len(),
            inner.n_mels(),
            inner.num_frames(target_length),
        );
        Array3::from_shape_vec(shape, data)
            .map(|a| a.into_pyarray(py))
            .map_err(|e| invalid_input_error(format!("internal shape error: {e}")))
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(window_function, m)?)?;
    m.add_function(wrap_pyfunction!(hertz_to_mel, m)?)?;
    m.add_function(wrap_pyfunction!(mel_to_hertz, m)?)?;
    m.add_function(wrap_pyfunction!(mel_filter_bank, m)?)?;
    m.add_function(wrap_pyfunction!(spectrogram, m)?)?;
    m.add_function(wrap_pyfunction!(amplitude_to_db, m)?)?;
    m.add_function(wrap_pyfunction!(power_to_db, m)?)?;
    m.add_class::<WhisperLogMel>()?;
    Ok(())
}
