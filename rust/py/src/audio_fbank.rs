//! Binding of the Kaldi fbank core (`onnxformers_core::audio::KaldiFbank`): float32 clips in
//! (zero-copy, read-only), one padded float32 `(clips, frames, mels)` array out; the GIL is
//! released while the clips are computed in parallel; every core error becomes
//! `onnxformers.InvalidInputError`.
use crate::errors::invalid_input_error;
use numpy::ndarray::{Array1, Array2, Array3};
use numpy::{IntoPyArray, PyArray1, PyArray2, PyArray3, PyArrayMethods};
use onnxformers_core::audio as core;
use pyo3::prelude::*;

fn err(e: core::AudioError) -> PyErr {
    invalid_input_error(e)
}

/// Kaldi-compatible log-mel filter banks. Frozen: one instance can be shared by threads.
#[pyclass(frozen, module = "onnxformers._core", name = "KaldiFbank")]
struct KaldiFbank {
    inner: core::KaldiFbank,
}

#[pymethods]
impl KaldiFbank {
    /// `window`: "povey" | "hamming" | "hann" | "boxcar"; `norm`: None | "mean" (subtract the
    /// per-bin mean) | "mean_var" (per-bin mean/variance, ddof=1).
    #[new]
    #[pyo3(signature = (num_mel_bins = 80, sampling_rate = 16000.0, *, window = "povey",
                        frame_length = 400, hop_length = 160, fft_length = 512, low_freq = 20.0,
                        high_freq = None, preemphasis = Some(0.97), remove_dc_offset = true,
                        dither = 0.0, mel_floor = 1.192092955078125e-07, waveform_scale = 32768.0,
                        min_num_frames = None, norm = Some("mean_var")))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        num_mel_bins: usize,
        sampling_rate: f64,
        window: &str,
        frame_length: usize,
        hop_length: usize,
        fft_length: usize,
        low_freq: f64,
        high_freq: Option<f64>,
        preemphasis: Option<f64>,
        remove_dc_offset: bool,
        dither: f64,
        mel_floor: f64,
        waveform_scale: f32,
        min_num_frames: Option<usize>,
        norm: Option<&str>,
    ) -> PyResult<Self> {
        let mut o = core::KaldiFbankOptions::new(num_mel_bins, sampling_rate);
        o.window = window.parse().map_err(err)?;
        o.frame_length = frame_length;
        o.hop_length = hop_length;
        o.fft_length = fft_length;
        o.low_freq = low_freq;
        if let Some(h) = high_freq {
            o.high_freq = h;
        }
        o.preemphasis = preemphasis;
        o.remove_dc_offset = remove_dc_offset;
        o.dither = dither;
        o.mel_floor = mel_floor;
        o.waveform_scale = waveform_scale;
        o.min_num_frames = min_num_frames;
        o.norm = match norm {
            None => core::FbankNorm::None,
            Some("mean") => core::FbankNorm::SubtractMean,
            Some("mean_var") => core::FbankNorm::MeanVariance,
            Some(other) => {
                return Err(invalid_input_error(format!(
                    "norm must be None, 'mean' or 'mean_var' (got {other:?})"
                )))
            }
        };
        Ok(Self {
            inner: core::KaldiFbank::new(o).map_err(err)?,
        })
    }

    /// The float64 `(fft_length // 2 + 1, num_mel_bins)` Kaldi-scale filter bank.
    #[getter]
    fn mel_filters<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let mels = self.inner.num_mel_bins();
        let w = self.inner.mel_filters().to_vec();
        let bins = w.len() / mels;
        Array2::from_shape_vec((bins, mels), w)
            .map(|a| a.into_pyarray(py))
            .map_err(|e| invalid_input_error(format!("internal shape error: {e}")))
    }

    /// The float64 analysis window.
    #[getter]
    fn window<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        Array1::from_vec(self.inner.window().to_vec()).into_pyarray(py)
    }

    #[getter]
    fn num_mel_bins(&self) -> usize {
        self.inner.num_mel_bins()
    }

    /// Frames produced for a clip of `num_samples` samples (0 when shorter than one frame).
    fn num_frames(&self, num_samples: usize) -> usize {
        self.inner.num_frames(num_samples)
    }

    /// float32 `(len(waveforms), target_frames, num_mel_bins)`: each float32 1-D clip's
    /// features (normalised over all its frames), truncated to / padded with `padding_value` up
    /// to `target_frames` (on the left when `pad_left`); all clips in parallel.
    #[pyo3(signature = (waveforms, target_frames, padding_value = 0.0, pad_left = false,
                        seed = None, num_threads = None))]
    #[allow(clippy::too_many_arguments)]
    fn extract_batch<'py>(
        &self,
        py: Python<'py>,
        waveforms: Vec<Bound<'py, PyAny>>,
        target_frames: usize,
        padding_value: f32,
        pad_left: bool,
        seed: Option<u64>,
        num_threads: Option<usize>,
    ) -> PyResult<Bound<'py, PyArray3<f32>>> {
        let arrays = waveforms
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let a = w.downcast::<PyArray1<f32>>().map_err(|_| {
                    invalid_input_error(format!(
                        "audio #{i} must be a 1-D float32 numpy array, got {}",
                        w.get_type()
                            .name()
                            .map(|n| n.to_string())
                            .unwrap_or_default()
                    ))
                })?;
                Ok(a.try_readonly()?)
            })
            .collect::<PyResult<Vec<_>>>()?;
        let slices = arrays
            .iter()
            .enumerate()
            .map(|(i, a)| {
                a.as_slice()
                    .map_err(|_| invalid_input_error(format!("audio #{i} must be C-contiguous")))
            })
            .collect::<PyResult<Vec<_>>>()?;
        let inner = &self.inner;
        let data = py
            .allow_threads(|| {
                core::with_num_threads(num_threads, || {
                    inner.extract_padded(&slices, target_frames, padding_value, pad_left, seed)
                })
            })
            .and_then(|r| r)
            .map_err(err)?;
        let shape = (slices.len(), target_frames, inner.num_mel_bins());
        Array3::from_shape_vec(shape, data)
            .map(|a| a.into_pyarray(py))
            .map_err(|e| invalid_input_error(format!("internal shape error: {e}")))
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<KaldiFbank>()?;
    Ok(())
}
