//! Bindings for Whisper's word-level alignment: the median filter over cross-attention weights
//! and dynamic time warping (`onnxformers_core::audio::{median_filter, dynamic_time_warping}`).
//! numpy in (converted to C-contiguous float32 / float64 when needed), numpy out; the GIL is
//! released for the computation; errors become `onnxformers.InvalidInputError`.
use crate::errors::invalid_input_error;
use numpy::ndarray::ArrayD;
use numpy::{IntoPyArray, PyArray1, PyArrayDyn, PyArrayMethods, PyUntypedArrayMethods};
use onnxformers_core::audio as core;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// `np.ascontiguousarray(obj, dtype)` as a dynamic-rank array of `T`.
fn contiguous<'py, T: numpy::Element>(
    obj: &Bound<'py, PyAny>,
    dtype: &str,
    what: &str,
) -> PyResult<Bound<'py, PyArrayDyn<T>>> {
    let py = obj.py();
    let np = py.import("numpy")?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("dtype", np.getattr(dtype)?)?;
    let arr = np
        .call_method("ascontiguousarray", (obj,), Some(&kwargs))
        .map_err(|e| invalid_input_error(format!("{what} must be a numeric array: {e}")))?;
    arr.downcast_into::<PyArrayDyn<T>>()
        .map_err(|_| invalid_input_error(format!("{what}: could not convert to {dtype}")))
}

/// `median_filter(x, filter_width)`: median over windows of `filter_width` (odd) along the last
/// axis, reflect-padded (transformers' `_median_filter`). Returns float32 of `x`'s shape.
#[pyfunction]
fn median_filter<'py>(
    x: &Bound<'py, PyAny>,
    filter_width: usize,
) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
    let py = x.py();
    let arr = contiguous::<f32>(x, "float32", "median_filter input")?;
    let shape = arr.shape().to_vec();
    if shape.is_empty() {
        return Err(invalid_input_error(
            "median_filter needs at least a 1-D array",
        ));
    }
    let cols = *shape.last().unwrap_or(&0);
    let ro = arr.try_readonly()?;
    let data = ro
        .as_slice()
        .map_err(|_| invalid_input_error("median_filter input is not contiguous"))?;
    let rows = data.len().checked_div(cols).unwrap_or(0);
    let out = py
        .allow_threads(|| core::median_filter(data, rows, cols, filter_width))
        .map_err(invalid_input_error)?;
    let array = ArrayD::from_shape_vec(shape, out)
        .map_err(|e| invalid_input_error(format!("internal shape error: {e}")))?;
    Ok(array.into_pyarray(py))
}

/// `dynamic_time_warping(matrix) -> (text_indices, time_indices)`: the least-cost monotonic path
/// through a 2-D cost matrix (float64), as int64 arrays (transformers' `_dynamic_time_warping`).
#[pyfunction]
#[allow(clippy::type_complexity)]
fn dynamic_time_warping<'py>(
    matrix: &Bound<'py, PyAny>,
) -> PyResult<(Bound<'py, PyArray1<i64>>, Bound<'py, PyArray1<i64>>)> {
    let py = matrix.py();
    let arr = contiguous::<f64>(matrix, "float64", "dynamic_time_warping matrix")?;
    let shape = arr.shape().to_vec();
    if shape.len() != 2 {
        return Err(invalid_input_error(format!(
            "dynamic_time_warping needs a 2-D matrix [tokens, frames], got shape {shape:?}"
        )));
    }
    let ro = arr.try_readonly()?;
    let data = ro
        .as_slice()
        .map_err(|_| invalid_input_error("dynamic_time_warping matrix is not contiguous"))?;
    let (text, time) = py
        .allow_threads(|| core::dynamic_time_warping(data, shape[0], shape[1]))
        .map_err(invalid_input_error)?;
    let to_i64 = |v: Vec<usize>| v.into_iter().map(|x| x as i64).collect::<Vec<_>>();
    Ok((
        PyArray1::from_vec(py, to_i64(text)),
        PyArray1::from_vec(py, to_i64(time)),
    ))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(median_filter, m)?)?;
    m.add_function(wrap_pyfunction!(dynamic_time_warping, m)?)?;
    Ok(())
}
