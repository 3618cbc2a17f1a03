//! Thin PyO3 layer over `onnxformers-core`: conversions, numpy in/out, GIL release, errors.
use pyo3::prelude::*;

mod alignment;
mod audio;
mod audio_fbank;
mod errors;
mod generation;
mod tokenizer;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    tokenizer::register(m)?;
    audio::register(m)?;
    alignment::register(m)?;
    audio_fbank::register(m)?;
    generation::register(m)?;
    Ok(())
}
