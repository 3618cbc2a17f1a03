//! Python binding of the Rust tokenizer: `onnxformers._core.Tokenizer` and `Encoding`.
//!
//! Both classes are frozen (immutable, shareable across threads); every per-call option is
//! an argument. Batch calls cross into Rust once and release the GIL while rayon works.
use crate::errors::{invalid_input_error, tokenizer_error, TokErr};
use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyArray2};
use onnxformers_core::tokenizer::{
    Direction, EncodeOptions, Encoding, PaddingParams, PaddingStrategy, Tokenizer,
    TruncationParams, TruncationStrategy,
};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyInt, PyList, PyString};
use std::sync::Arc;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyTokenizer>()?;
    m.add_class::<PyEncoding>()?;
    m.add_class::<PyAddedToken>()?;
    Ok(())
}

/// The result of encoding one input (or pair).
#[pyclass(frozen, module = "onnxformers._core", name = "Encoding")]
pub struct PyEncoding {
    inner: Encoding,
}

#[pymethods]
impl PyEncoding {
    #[getter]
    fn ids(&self) -> Vec<u32> {
        self.inner.ids.clone()
    }
    #[getter]
    fn type_ids(&self) -> Vec<u32> {
        self.inner.type_ids.clone()
    }
    #[getter]
    fn tokens(&self) -> Vec<String> {
        self.inner.tokens.clone()
    }
    /// Char offsets `(start, end)` into the original input string.
    #[getter]
    fn offsets(&self) -> Vec<(usize, usize)> {
        self.inner.offsets.clone()
    }
    #[getter]
    fn attention_mask(&self) -> Vec<u32> {
        self.inner.attention_mask.clone()
    }
    #[getter]
    fn special_tokens_mask(&self) -> Vec<u32> {
        self.inner.special_tokens_mask.clone()
    }
    #[getter]
    fn word_ids(&self) -> Vec<Option<u32>> {
        self.inner.words.clone()
    }
    /// Sequence index (0 or 1) of each token, `None` for special tokens and padding.
    #[getter]
    fn sequence_ids(&self) -> Vec<Option<usize>> {
        self.inner.sequence_ids()
    }
    #[getter]
    fn overflowing(&self) -> Vec<PyEncoding> {
        self.inner
            .overflowing
            .iter()
            .map(|e| PyEncoding { inner: e.clone() })
            .collect()
    }
    fn __len__(&self) -> usize {
        self.inner.len()
    }
    fn __repr__(&self) -> String {
        format!(
            "Encoding(num_tokens={}, overflowing={})",
            self.inner.len(),
            self.inner.overflowing.len()
        )
    }
}

/// One added token of the vocabulary.
#[pyclass(frozen, module = "onnxformers._core", name = "AddedToken")]
pub struct PyAddedToken {
    #[pyo3(get)]
    id: u32,
    #[pyo3(get)]
    content: String,
    #[pyo3(get)]
    special: bool,
    #[pyo3(get)]
    single_word: bool,
    #[pyo3(get)]
    lstrip: bool,
    #[pyo3(get)]
    rstrip: bool,
    #[pyo3(get)]
    normalized: bool,
}

#[pymethods]
impl PyAddedToken {
    fn __repr__(&self) -> String {
        format!(
            "AddedToken(id={}, content={:?}, special={})",
            self.id, self.content, self.special
        )
    }
}

/// A tokenizer loaded from a tokenizer.json (immutable; share it freely across threads).
#[pyclass(frozen, module = "onnxformers._core", name = "Tokenizer")]
pub struct PyTokenizer {
    inner: Arc<Tokenizer>,
}

fn texts_from(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<String>> {
    if obj.is_instance_of::<PyString>() {
        return Err(invalid_input_error(format!(
            "{what}: expected a list of str, got a single str"
        )));
    }
    let mut out = Vec::new();
    for item in obj
        .try_iter()
        .map_err(|_| invalid_input_error(format!("{what}: expected a list of str")))?
    {
        let item = item?;
        let s: String = item.extract().map_err(|_| {
            invalid_input_error(format!(
                "{what}: every element must be a str, got {}",
                item.get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_else(|_| "?".into())
            ))
        })?;
        out.push(s);
    }
    Ok(out)
}

/// Below this many texts (or with a single rayon thread) a batch is encoded in one go and
/// converted afterwards: streaming only pays when there are chunks to overlap.
const STREAM_MIN_TEXTS: usize = 64;

/// Encode `n` items on the rayon pool in chunks while this thread, holding the GIL, turns the
/// finished chunks into Python objects. Converting after the whole batch (a `Vec<Vec<u32>>`
/// → list of lists) is serial work that left the other
/// cores idle; here it overlaps with encoding, so 2 threads scale like the encoding alone.
/// Chunks finish in any order; each lands at its index in a pre-sized list, so the output
/// order is the input order. The first error (lowest index) wins, as for a serial loop.
fn stream_batch<'py, T: Send, E: Send>(
    py: Python<'py>,
    n: usize,
    work: impl Fn(usize) -> Result<T, E> + Sync,
    mut convert: impl FnMut(T) -> PyResult<Bound<'py, PyAny>>,
) -> PyResult<Result<Bound<'py, PyList>, E>> {
    let list = PyList::new(py, (0..n).map(|_| py.None()))?;
    // ~16 chunks per thread: small enough to balance the tail and overlap the conversion,
    // large enough that the per-chunk overhead (a channel send, a GIL release) is noise.
    let chunk = n.div_ceil(16 * rayon::current_num_threads()).clamp(1, 256);
    let (tx, rx) = std::sync::mpsc::channel::<(usize, Result<Vec<T>, (usize, E)>)>();
    let work = &work;
    let mut first_err: Option<(usize, E)> = None;
    let mut py_err: Option<PyErr> = None;
    rayon::in_place_scope(|s| {
        // `in_place_scope` keeps this body on the calling (GIL-holding) thread; the spawned
        // chunks run on the pool, roughly in submission order.
        for start in (0..n).step_by(chunk) {
            let tx = tx.clone();
            s.spawn(move |_| {
                let end = (start + chunk).min(n);
                let r = (start..end)
                    .map(|i| work(i).map_err(|e| (i, e)))
                    .collect::<Result<Vec<T>, _>>();
                let _ = tx.send((start, r));
            });
        }
        drop(tx);
        let mut rx = rx;
        loop {
            let msg = match rx.try_recv() {
                Ok(m) => m,
                Err(std::sync::mpsc::TryRecvError::Disconnected) => break,
                Err(std::sync::mpsc::TryRecvError::Empty) => {
                    // Wait without the GIL (moving the receiver in and out: it is not Sync).
                    let (m, back) = py.allow_threads(move || (rx.recv(), rx));
                    rx = back;
                    match m {
                        Ok(m) => m,
                        Err(_) => break,
                    }
                }
            };
            match msg {
                (start, Ok(items)) if first_err.is_none() && py_err.is_none() => {
                    for (j, item) in items.into_iter().enumerate() {
                        match convert(item).and_then(|o| list.set_item(start + j, o)) {
                            Ok(()) => {}
                            Err(e) => {
                                py_err = Some(e);
                                break;
                            }
                        }
                    }
                }
                (_, Ok(_)) => {} // an error is already decided: just drain.
                (_, Err((i, e))) => {
                    if first_err.as_ref().is_none_or(|(j, _)| i < *j) {
                        first_err = Some((i, e));
                    }
                }
            }
        }
    });
    if let Some((_, e)) = first_err {
        return Ok(Err(e));
    }
    if let Some(e) = py_err {
        return Err(e);
    }
    Ok(Ok(list))
}

/// Token ids from any iterable of ints; negative, too large or non-int ids are
/// `TokenizerError`s (never an OverflowError).
fn ids_from(obj: &Bound<'_, PyAny>) -> PyResult<Vec<u32>> {
    if obj.is_instance_of::<PyString>() {
        return Err(tokenizer_error("ids: expected a list of ints, got a str"));
    }
    let iter = obj
        .try_iter()
        .map_err(|_| tokenizer_error("ids: expected a list of ints"))?;
    let mut out = Vec::new();
    for item in iter {
        out.push(id_from(&item?)?);
    }
    Ok(out)
}

fn id_from(item: &Bound<'_, PyAny>) -> PyResult<u32> {
    match item.extract::<i64>() {
        Ok(id) if (0..=u32::MAX as i64).contains(&id) => Ok(id as u32),
        Ok(id) => Err(tokenizer_error(format!(
            "ids: id {id} is out of range (ids are in 0..={})",
            u32::MAX
        ))),
        // Python ints beyond 64 bits land here too.
        Err(_) if item.is_instance_of::<PyInt>() => Err(tokenizer_error(format!(
            "ids: id {} is out of range (ids are in 0..={})",
            item.repr().map(|r| r.to_string()).unwrap_or_default(),
            u32::MAX
        ))),
        Err(_) => Err(tokenizer_error(format!(
            "ids: every id must be an int, got {}",
            item.repr()
                .map(|r| r.to_string())
                .unwrap_or_else(|_| "?".into())
        ))),
    }
}

#[allow(clippy::too_many_arguments)]
fn options(
    add_special_tokens: bool,
    max_length: Option<usize>,
    truncation_strategy: &str,
    stride: usize,
    truncation_side: &str,
    padding: Option<&str>,
    pad_to_multiple_of: Option<usize>,
    padding_side: &str,
    pad_id: u32,
    pad_type_id: u32,
    pad_token: &str,
    padding_length: Option<usize>,
) -> PyResult<EncodeOptions> {
    let strategy = TruncationStrategy::from_name(truncation_strategy).ok_or_else(|| {
        invalid_input_error(format!(
            "truncation_strategy must be 'longest_first', 'only_first' or 'only_second', got {truncation_strategy:?}"
        ))
    })?;
    let tdir = Direction::from_name(truncation_side).ok_or_else(|| {
        invalid_input_error(format!(
            "truncation_side must be 'left' or 'right', got {truncation_side:?}"
        ))
    })?;
    let pdir = Direction::from_name(padding_side).ok_or_else(|| {
        invalid_input_error(format!(
            "padding_side must be 'left' or 'right', got {padding_side:?}"
        ))
    })?;
    let truncation = max_length.map(|max_length| TruncationParams {
        max_length,
        strategy,
        stride,
        direction: tdir,
    });
    let padding = match padding {
        None => None,
        Some(p) => {
            let strategy = match p {
                "longest" => PaddingStrategy::Longest,
                // `padding_length` pads without truncating; else `max_length` does both.
                "max_length" => {
                    PaddingStrategy::Fixed(padding_length.or(max_length).ok_or_else(|| {
                        invalid_input_error(
                            "padding='max_length' needs padding_length or max_length",
                        )
                    })?)
                }
                other => {
                    return Err(invalid_input_error(format!(
                        "padding must be None, 'longest' or 'max_length', got {other:?}"
                    )))
                }
            };
            Some(PaddingParams {
                strategy,
                direction: pdir,
                pad_to_multiple_of,
                pad_id,
                pad_type_id,
                pad_token: pad_token.to_owned(),
            })
        }
    };
    Ok(EncodeOptions {
        add_special_tokens,
        truncation,
        padding,
    })
}

fn json_to_py(py: Python<'_>, v: &serde_json::Value) -> PyResult<PyObject> {
    use serde_json::Value;
    Ok(match v {
        Value::Null => py.None(),
        Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any().unbind(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any().unbind()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any().unbind()
            } else {
                n.as_f64()
                    .unwrap_or(f64::NAN)
                    .into_pyobject(py)?
                    .into_any()
                    .unbind()
            }
        }
        Value::String(s) => s.into_pyobject(py)?.into_any().unbind(),
        Value::Array(a) => {
            let l = PyList::empty(py);
            for x in a {
                l.append(json_to_py(py, x)?)?;
            }
            l.into_any().unbind()
        }
        Value::Object(o) => {
            let d = PyDict::new(py);
            for (k, x) in o {
                d.set_item(k, json_to_py(py, x)?)?;
            }
            d.into_any().unbind()
        }
    })
}

#[pymethods]
impl PyTokenizer {
    /// Load from the text of a tokenizer.json.
    #[staticmethod]
    fn from_str(py: Python<'_>, json: &str) -> PyResult<Self> {
        let json = json.to_owned();
        let t = py
            .allow_threads(move || Tokenizer::from_str(&json))
            .map_err(TokErr)?;
        Ok(Self { inner: Arc::new(t) })
    }

    /// Load from a tokenizer.json path.
    #[staticmethod]
    fn from_file(py: Python<'_>, path: &str) -> PyResult<Self> {
        let path = path.to_owned();
        let t = py
            .allow_threads(move || Tokenizer::from_file(&path))
            .map_err(TokErr)?;
        Ok(Self { inner: Arc::new(t) })
    }

    #[pyo3(signature = (text, pair=None, add_special_tokens=true))]
    fn encode(
        &self,
        py: Python<'_>,
        text: &str,
        pair: Option<&str>,
        add_special_tokens: bool,
    ) -> PyResult<PyEncoding> {
        let t = &self.inner;
        let e = py
            .allow_threads(|| t.encode(text, pair, add_special_tokens))
            .map_err(TokErr)?;
        Ok(PyEncoding { inner: e })
    }

    #[pyo3(signature = (texts, pairs=None, add_special_tokens=true, *, max_length=None,
        truncation_strategy="longest_first", stride=0, truncation_side="right", padding=None,
        pad_to_multiple_of=None, padding_side="right", pad_id=0, pad_type_id=0, pad_token="[PAD]",
        padding_length=None))]
    #[allow(clippy::too_many_arguments)]
    fn encode_batch(
        &self,
        py: Python<'_>,
        texts: &Bound<'_, PyAny>,
        pairs: Option<&Bound<'_, PyAny>>,
        add_special_tokens: bool,
        max_length: Option<usize>,
        truncation_strategy: &str,
        stride: usize,
        truncation_side: &str,
        padding: Option<&str>,
        pad_to_multiple_of: Option<usize>,
        padding_side: &str,
        pad_id: u32,
        pad_type_id: u32,
        pad_token: &str,
        padding_length: Option<usize>,
    ) -> PyResult<Vec<PyEncoding>> {
        let texts = texts_from(texts, "texts")?;
        let pairs = pairs.map(|p| texts_from(p, "pairs")).transpose()?;
        let opts = options(
            add_special_tokens,
            max_length,
            truncation_strategy,
            stride,
            truncation_side,
            padding,
            pad_to_multiple_of,
            padding_side,
            pad_id,
            pad_type_id,
            pad_token,
            padding_length,
        )?;
        let t = &self.inner;
        let out = py
            .allow_threads(|| t.encode_batch(&texts, pairs.as_deref(), &opts))
            .map_err(TokErr)?;
        Ok(out.into_iter().map(|inner| PyEncoding { inner }).collect())
    }

    /// Fast path: ids only, no padding.
    #[pyo3(signature = (texts, add_special_tokens=true))]
    fn encode_batch_ids<'py>(
        &self,
        py: Python<'py>,
        texts: &Bound<'py, PyAny>,
        add_special_tokens: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let texts = texts_from(texts, "texts")?;
        let t = &*self.inner;
        if texts.len() >= STREAM_MIN_TEXTS && rayon::current_num_threads() > 1 {
            let list = stream_batch(
                py,
                texts.len(),
                |i| t.encode_ids(&texts[i], add_special_tokens),
                |ids| Ok(PyList::new(py, ids)?.into_any()),
            )?
            .map_err(TokErr)?;
            return Ok(list.into_any());
        }
        let out = py
            .allow_threads(|| t.encode_batch_ids(&texts, add_special_tokens))
            .map_err(TokErr)?;
        Ok(PyList::new(py, out)?.into_any())
    }

    /// int64 `[B, T]` arrays `input_ids`, `attention_mask`, `token_type_ids` built in Rust.
    /// Rows must end up the same length: `padding` defaults to "longest".
    #[pyo3(signature = (texts, pairs=None, add_special_tokens=true, *, max_length=None,
        truncation_strategy="longest_first", stride=0, truncation_side="right", padding=Some("longest"),
        pad_to_multiple_of=None, padding_side="right", pad_id=0, pad_type_id=0, pad_token="[PAD]",
        padding_length=None))]
    #[allow(clippy::too_many_arguments)]
    fn encode_batch_arrays<'py>(
        &self,
        py: Python<'py>,
        texts: &Bound<'py, PyAny>,
        pairs: Option<&Bound<'py, PyAny>>,
        add_special_tokens: bool,
        max_length: Option<usize>,
        truncation_strategy: &str,
        stride: usize,
        truncation_side: &str,
        padding: Option<&str>,
        pad_to_multiple_of: Option<usize>,
        padding_side: &str,
        pad_id: u32,
        pad_type_id: u32,
        pad_token: &str,
        padding_length: Option<usize>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let texts = texts_from(texts, "texts")?;
        let pairs = pairs.map(|p| texts_from(p, "pairs")).transpose()?;
        let opts = options(
            add_special_tokens,
            max_length,
            truncation_strategy,
            stride,
            truncation_side,
            padding,
            pad_to_multiple_of,
            padding_side,
            pad_id,
            pad_type_id,
            pad_token,
            padding_length,
        )?;
        let t = &self.inner;
        let built = py.allow_threads(|| -> Result<_, String> {
            let encs = t
                .encode_batch_fast(&texts, pairs.as_deref(), &opts)
                .map_err(|e| format!("\u{0}{e}"))?;
            let b = encs.len();
            let width = encs.first().map_or(0, Encoding::len);
            if encs.iter().any(|e| e.len() != width) {
                return Err(
                    "encode_batch_arrays: rows have different lengths; pass padding='longest' \
                     or 'max_length'"
                        .into(),
                );
            }
            let mut ids = Vec::with_capacity(b * width);
            let mut mask = Vec::with_capacity(b * width);
            let mut types = Vec::with_capacity(b * width);
            for e in &encs {
                ids.extend(e.ids.iter().map(|&x| x as i64));
                mask.extend(e.attention_mask.iter().map(|&x| x as i64));
                types.extend(e.type_ids.iter().map(|&x| x as i64));
            }
            let shape = (b, width);
            let mk = |v: Vec<i64>| Array2::from_shape_vec(shape, v).map_err(|e| e.to_string());
            Ok((mk(ids)?, mk(mask)?, mk(types)?))
        });
        let (ids, mask, types) = built.map_err(|m| match m.strip_prefix('\u{0}') {
            Some(core) => tokenizer_error(core),
            None => invalid_input_error(m),
        })?;
        let d = PyDict::new(py);
        // `into_pyarray` hands the Rust buffer to numpy without copying.
        let ids: Bound<'py, PyArray2<i64>> = ids.into_pyarray(py);
        d.set_item("input_ids", ids)?;
        d.set_item("attention_mask", mask.into_pyarray(py))?;
        d.set_item("token_type_ids", types.into_pyarray(py))?;
        Ok(d)
    }

    #[pyo3(signature = (ids, skip_special_tokens=false))]
    fn decode(
        &self,
        py: Python<'_>,
        ids: &Bound<'_, PyAny>,
        skip_special_tokens: bool,
    ) -> PyResult<String> {
        let ids = ids_from(ids)?;
        let t = &self.inner;
        Ok(py
            .allow_threads(|| t.decode(&ids, skip_special_tokens))
            .map_err(TokErr)?)
    }

    #[pyo3(signature = (sequences, skip_special_tokens=false))]
    fn decode_batch(
        &self,
        py: Python<'_>,
        sequences: &Bound<'_, PyAny>,
        skip_special_tokens: bool,
    ) -> PyResult<Vec<String>> {
        let mut batch = Vec::new();
        for s in sequences
            .try_iter()
            .map_err(|_| tokenizer_error("sequences: expected a list of lists of ints"))?
        {
            batch.push(ids_from(&s?)?);
        }
        let t = &self.inner;
        Ok(py
            .allow_threads(|| t.decode_batch(&batch, skip_special_tokens))
            .map_err(TokErr)?)
    }

    fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    fn id_to_token(&self, id: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
        match id.extract::<i64>() {
            Ok(i) if (0..=u32::MAX as i64).contains(&i) => {
                Ok(self.inner.id_to_token(i as u32).map(str::to_owned))
            }
            Ok(_) => Ok(None),
            Err(_) if id.is_instance_of::<PyInt>() => Ok(None),
            Err(_) => Err(tokenizer_error("id_to_token: the id must be an int")),
        }
    }

    #[pyo3(signature = (with_added_tokens=true))]
    fn get_vocab(&self, with_added_tokens: bool) -> std::collections::HashMap<String, u32> {
        self.inner.get_vocab(with_added_tokens)
    }

    #[pyo3(signature = (with_added_tokens=true))]
    fn get_vocab_size(&self, with_added_tokens: bool) -> usize {
        self.inner.get_vocab_size(with_added_tokens)
    }

    /// Added tokens sorted by id.
    #[getter]
    fn added_tokens(&self) -> Vec<PyAddedToken> {
        self.inner
            .added_tokens()
            .into_iter()
            .map(|(id, t)| PyAddedToken {
                id,
                content: t.content.clone(),
                special: t.special,
                single_word: t.single_word,
                lstrip: t.lstrip,
                rstrip: t.rstrip,
                normalized: t.normalized,
            })
            .collect()
    }

    /// The model type: "BPE", "WordPiece", "Unigram" or "WordLevel".
    #[getter]
    fn model_type(&self) -> &'static str {
        self.inner.model().type_name()
    }

    /// The model's unknown token, if any.
    #[getter]
    fn unk_token(&self) -> Option<String> {
        self.inner.model().unk_token().map(str::to_owned)
    }

    /// The tokenizer.json's own `truncation` section (never applied by the core).
    #[getter]
    fn truncation(&self, py: Python<'_>) -> PyResult<PyObject> {
        json_to_py(py, &self.inner.file_truncation)
    }

    /// The tokenizer.json's own `padding` section (never applied by the core).
    #[getter]
    fn padding(&self, py: Python<'_>) -> PyResult<PyObject> {
        json_to_py(py, &self.inner.file_padding)
    }

    /// Apply only the normalizer.
    fn normalize_str(&self, text: &str) -> PyResult<String> {
        Ok(self.inner.normalize_str(text).map_err(TokErr)?)
    }

    /// Apply only the pre-tokenizer: `[(piece, (start, end))]` with char offsets.
    fn pre_tokenize_str(&self, text: &str) -> PyResult<Vec<(String, (usize, usize))>> {
        Ok(self.inner.pre_tokenize_str(text).map_err(TokErr)?)
    }

    fn is_special_token(&self, token: &str) -> bool {
        self.inner.is_special_token(token)
    }

    fn __repr__(&self) -> String {
        format!(
            "Tokenizer(model={}, vocab_size={})",
            self.inner.model().type_name(),
            self.inner.get_vocab_size(true)
        )
    }
}
