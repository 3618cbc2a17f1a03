//! Thin PyO3 layer over `onnxformers-core`: conversions, numpy in/out, GIL release, errors.
use pyo3::prelude::*;

mod alignment;
mod audio;
mod audio_fbank;
mod errors;
mod generation;
mod image;
mod tokenizer;

/// mimalloc for every Rust allocation of the extension: glibc malloc/free were ~30% of a
/// tokenizer encode profile. Python's own objects keep using Python's allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    tokenizer::register(m)?;
    audio::register(m)?;
    alignment::register(m)?;
    audio_fbank::register(m)?;
    generation::register(m)?;
    image::register(m)?;
    Ok(())
}
