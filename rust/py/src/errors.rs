//! Rust errors → the Python exception hierarchy defined in `onnxformers/errors.py`.
//! The classes live in Python (they use multiple inheritance with builtins); we look them up
//! once and cache them.
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::PyType;

static TOKENIZER_ERROR: GILOnceCell<Py<PyType>> = GILOnceCell::new();
static INVALID_INPUT_ERROR: GILOnceCell<Py<PyType>> = GILOnceCell::new();

fn lookup(py: Python<'_>, cell: &'static GILOnceCell<Py<PyType>>, name: &str) -> Py<PyType> {
    cell.get_or_init(py, || {
        py.import("onnxformers.errors")
            .and_then(|m| m.getattr(name))
            .and_then(|c| c.downcast_into::<PyType>().map_err(Into::into))
            .map(Bound::unbind)
            .expect("onnxformers.errors defines the exception classes")
    })
    .clone_ref(py)
}

fn make(cell: &'static GILOnceCell<Py<PyType>>, name: &str, msg: String) -> PyErr {
    Python::with_gil(|py| PyErr::from_type(lookup(py, cell, name).into_bound(py), msg))
}

pub fn tokenizer_error(msg: impl std::fmt::Display) -> PyErr {
    make(&TOKENIZER_ERROR, "TokenizerError", msg.to_string())
}

pub fn invalid_input_error(msg: impl std::fmt::Display) -> PyErr {
    make(&INVALID_INPUT_ERROR, "InvalidInputError", msg.to_string())
}

/// What an argument is, for error messages: a numpy array's dtype and shape, else its type name.
pub fn describe(obj: &Bound<'_, PyAny>) -> String {
    use numpy::{PyUntypedArray, PyUntypedArrayMethods};
    match obj.downcast::<PyUntypedArray>() {
        Ok(a) => format!("an array of dtype {} and shape {:?}", a.dtype(), a.shape()),
        Err(_) => obj
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_default(),
    }
}

impl From<TokErr> for PyErr {
    fn from(e: TokErr) -> PyErr {
        tokenizer_error(e.0)
    }
}

/// Newtype so `?` converts core tokenizer errors into `TokenizerError` (orphan rule).
pub struct TokErr(pub onnxformers_core::tokenizer::Error);

impl From<onnxformers_core::tokenizer::Error> for TokErr {
    fn from(e: onnxformers_core::tokenizer::Error) -> Self {
        TokErr(e)
    }
}
