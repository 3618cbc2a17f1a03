//! Bindings of the generation core: one crossing per decoding step. Logits come in as a
//! C-contiguous float32 numpy array `[rows, vocab]` that is processed in place (zero-copy) with
//! the GIL released; token ids come in as int64 `[rows, seq]` (other integer arrays and nested
//! lists are converted). Every core error becomes `onnxformers.InvalidInputError`.
//!
//! Generation configs are plain dicts (a `generation_config.json`, or anything with a
//! `to_dict()` method), parsed by the core with transformers' defaults.
use crate::errors::{describe, invalid_input_error};
use numpy::ndarray::Array2;
use numpy::{
    IntoPyArray, PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2,
    PyUntypedArrayMethods,
};
use onnxformers_core::generation as core;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::Value;
use std::sync::{Mutex, MutexGuard};

fn err(e: core::GenerationError) -> PyErr {
    invalid_input_error(e)
}

/// A Python value (dict / list / tuple / scalars / numpy scalars and arrays / objects with
/// `to_dict()`) as JSON.
fn to_json(obj: &Bound<'_, PyAny>, depth: usize) -> PyResult<Value> {
    if depth > 16 {
        return Err(invalid_input_error(
            "generation config is nested too deeply",
        ));
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.downcast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        return match obj.extract::<i64>() {
            Ok(i) => Ok(Value::from(i)),
            Err(_) => Err(invalid_input_error(format!(
                "generation config: integer {obj} is out of range"
            ))),
        };
    }
    if obj.is_instance_of::<PyFloat>() {
        let f: f64 = obj.extract()?;
        return serde_json::Number::from_f64(f)
            .map(Value::Number)
            .ok_or_else(|| {
                invalid_input_error(format!("generation config: {f} is not a finite number"))
            });
    }
    if let Ok(s) = obj.downcast::<PyString>() {
        return Ok(Value::String(s.to_cow()?.into_owned()));
    }
    if let Ok(d) = obj.downcast::<PyDict>() {
        let mut map = serde_json::Map::new();
        for (k, v) in d.iter() {
            let key = k.downcast::<PyString>().map_err(|_| {
                invalid_input_error(format!("generation config keys must be strings, got {k}"))
            })?;
            map.insert(key.to_cow()?.into_owned(), to_json(&v, depth + 1)?);
        }
        return Ok(Value::Object(map));
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let items: Vec<Value> = obj
            .try_iter()?
            .map(|x| to_json(&x?, depth + 1))
            .collect::<PyResult<_>>()?;
        return Ok(Value::Array(items));
    }
    // numpy scalars / arrays, then config objects
    for method in ["tolist", "to_dict"] {
        if obj.hasattr(method)? {
            return to_json(&obj.call_method0(method)?, depth + 1);
        }
    }
    Err(invalid_input_error(format!(
        "generation config: unsupported value {obj} of type {}",
        obj.get_type().name()?
    )))
}

fn parse_config(config: &Bound<'_, PyAny>) -> PyResult<core::GenerationConfig> {
    let v = to_json(config, 0)?;
    core::GenerationConfig::from_json(&v).map_err(err)
}

/// An int64 C-contiguous 2-D view of `obj` (converted with numpy when it is not one already).
fn ids_array<'py>(obj: &Bound<'py, PyAny>, what: &str) -> PyResult<PyReadonlyArray2<'py, i64>> {
    let py = obj.py();
    let converted;
    let arr = match obj.downcast::<PyArray2<i64>>() {
        Ok(a) if a.is_c_contiguous() => a,
        _ => {
            let np = py.import("numpy")?;
            let kwargs = PyDict::new(py);
            kwargs.set_item("dtype", np.getattr("int64")?)?;
            converted = np
                .call_method("ascontiguousarray", (obj,), Some(&kwargs))
                .map_err(|e| invalid_input_error(format!("{what} must be an int64 array: {e}")))?;
            converted.downcast::<PyArray2<i64>>().map_err(|_| {
                invalid_input_error(format!(
                    "{what} must be 2-D [rows, sequence_length], got shape {}",
                    converted
                        .getattr("shape")
                        .map(|s| s.to_string())
                        .unwrap_or_default()
                ))
            })?
        }
    };
    Ok(arr.try_readonly()?)
}

fn tokens<'a>(a: &'a PyReadonlyArray2<'_, i64>) -> PyResult<core::Tokens<'a>> {
    let (rows, len) = (a.shape()[0], a.shape()[1]);
    let data = a
        .as_slice()
        .map_err(|_| invalid_input_error("token ids must be C-contiguous"))?;
    core::Tokens::new(data, rows, len).map_err(err)
}

/// Runs `f` on the logits array in place (C-contiguous float32 `[rows, vocab]`), GIL released.
fn with_logits<R: Send>(
    logits: &Bound<'_, PyAny>,
    f: impl FnOnce(&mut [f32], usize, usize) -> R + Send,
) -> PyResult<R> {
    let arr = logits.downcast::<PyArray2<f32>>().map_err(|_| {
        invalid_input_error(format!(
            "logits must be a 2-D float32 numpy array [rows, vocab] (processed in place), got {}",
            describe(logits)
        ))
    })?;
    let mut rw = arr
        .try_readwrite()
        .map_err(|_| invalid_input_error("logits must be writeable and not borrowed elsewhere"))?;
    let (rows, vocab) = (rw.shape()[0], rw.shape()[1]);
    let slice = rw.as_slice_mut().map_err(|_| {
        invalid_input_error("logits must be C-contiguous (use np.ascontiguousarray)")
    })?;
    Ok(logits.py().allow_threads(move || f(slice, rows, vocab)))
}

fn matrix<'py>(
    py: Python<'py>,
    data: Vec<i64>,
    rows: usize,
    len: usize,
) -> PyResult<Bound<'py, PyArray2<i64>>> {
    Array2::from_shape_vec((rows, len), data)
        .map(|a| a.into_pyarray(py))
        .map_err(|e| invalid_input_error(format!("internal shape error: {e}")))
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // a panic cannot leave the state half-updated in a way worse than an error would
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// `LogitsProcessorList(config, prompt_length, encoder_input_ids=None)`: the processors
/// `generate()` builds from a generation config, in transformers' order. Immutable.
#[pyclass(frozen, module = "onnxformers._core", name = "LogitsProcessorList")]
struct LogitsProcessorList {
    inner: core::LogitsProcessorList,
}

#[pymethods]
impl LogitsProcessorList {
    #[new]
    #[pyo3(signature = (config, prompt_length, encoder_input_ids = None))]
    fn new(
        config: &Bound<'_, PyAny>,
        prompt_length: usize,
        encoder_input_ids: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let cfg = parse_config(config)?;
        let enc = encoder_input_ids
            .map(|e| ids_array(e, "encoder_input_ids"))
            .transpose()?;
        let enc_tokens = enc.as_ref().map(tokens).transpose()?;
        let inner = core::LogitsProcessorList::from_config(
            &cfg,
            &core::BuildContext {
                prompt_length,
                encoder_input_ids: enc_tokens,
            },
        )
        .map_err(err)?;
        Ok(LogitsProcessorList { inner })
    }

    /// Applies the processors in order to `logits` (float32 `[rows, vocab]`, modified in
    /// place) given `input_ids` (int64 `[rows, seq]`; with classifier-free guidance `logits`
    /// has twice the rows and the result is in the first half).
    fn __call__(&self, input_ids: &Bound<'_, PyAny>, logits: &Bound<'_, PyAny>) -> PyResult<()> {
        let ids = ids_array(input_ids, "input_ids")?;
        let t = tokens(&ids)?;
        let list = &self.inner;
        let factor = list.rows_per_input_row();
        with_logits(logits, move |x, rows, vocab| {
            if rows != t.rows() * factor {
                return Err(core::GenerationError::InvalidInput(format!(
                    "logits have {rows} rows, input_ids {} (expected {} logits rows)",
                    t.rows(),
                    t.rows() * factor
                )));
            }
            list.process(t, x, vocab).map(|_| ())
        })?
        .map_err(err)
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    /// The processor names, in order.
    #[getter]
    fn names(&self) -> Vec<&'static str> {
        self.inner.names()
    }

    fn __repr__(&self) -> String {
        format!("LogitsProcessorList({})", self.inner.names().join(", "))
    }
}

/// A flag another thread can raise to stop a generation at its next step.
#[pyclass(frozen, module = "onnxformers._core", name = "InterruptFlag")]
struct InterruptFlag {
    inner: core::InterruptFlag,
}

#[pymethods]
impl InterruptFlag {
    #[new]
    fn new() -> Self {
        InterruptFlag {
            inner: core::InterruptFlag::new(),
        }
    }

    fn interrupt(&self) {
        self.inner.interrupt();
    }

    fn reset(&self) {
        self.inner.reset();
    }

    #[getter]
    fn is_set(&self) -> bool {
        self.inner.is_set()
    }

    fn __bool__(&self) -> bool {
        self.inner.is_set()
    }
}

/// `(next_tokens, beam_indices | None, done)` as numpy arrays.
#[allow(clippy::type_complexity)]
fn step_result(
    py: Python<'_>,
    out: core::StepOutput,
) -> (
    Bound<'_, PyArray1<i64>>,
    Option<Bound<'_, PyArray1<i64>>>,
    bool,
) {
    let beams = out
        .beam_indices
        .map(|b| PyArray1::from_vec(py, b.into_iter().map(|i| i as i64).collect()));
    (PyArray1::from_vec(py, out.next_tokens), beams, out.done)
}

impl GenerationState {
    /// Runs `f` on the state and the logits (in place, GIL released) once their row count is
    /// checked against the generation's.
    fn on_logits<R: Send>(
        &self,
        logits: &Bound<'_, PyAny>,
        f: impl FnOnce(&mut core::GenerationState, &mut [f32], usize) -> core::Result<R> + Send,
    ) -> PyResult<R> {
        with_logits(logits, |x, rows, vocab| {
            let mut st = lock(&self.inner);
            if rows != st.logits_rows() {
                return Err(core::GenerationError::InvalidInput(format!(
                    "logits have {rows} rows, this generation runs {} rows",
                    st.logits_rows()
                )));
            }
            f(&mut st, x, vocab)
        })?
        .map_err(err)
    }
}

/// `GenerationState(config, input_ids, *, encoder_input_ids=None, seed=None, interrupt=None)`:
/// the state of one `generate()` call (greedy, sampling, beam search or beam sampling).
#[pyclass(frozen, module = "onnxformers._core", name = "GenerationState")]
struct GenerationState {
    inner: Mutex<core::GenerationState>,
    interrupt: core::InterruptFlag,
}

#[pymethods]
impl GenerationState {
    #[new]
    #[pyo3(signature = (config, input_ids, *, encoder_input_ids = None, seed = None, interrupt = None))]
    fn new(
        config: &Bound<'_, PyAny>,
        input_ids: &Bound<'_, PyAny>,
        encoder_input_ids: Option<&Bound<'_, PyAny>>,
        seed: Option<u64>,
        interrupt: Option<&Bound<'_, InterruptFlag>>,
    ) -> PyResult<Self> {
        let cfg = parse_config(config)?;
        let ids = ids_array(input_ids, "input_ids")?;
        let enc = encoder_input_ids
            .map(|e| ids_array(e, "encoder_input_ids"))
            .transpose()?;
        let flag = interrupt.map(|f| f.get().inner.clone()).unwrap_or_default();
        let state = core::GenerationState::new(
            &cfg,
            tokens(&ids)?,
            enc.as_ref().map(tokens).transpose()?,
            seed,
            Some(flag.clone()),
        )
        .map_err(err)?;
        Ok(GenerationState {
            inner: Mutex::new(state),
            interrupt: flag,
        })
    }

    /// One step: `logits` (float32 `[logits_rows, vocab]`, the last position of the forward
    /// pass) are processed in place, tokens chosen, sequences updated. Returns
    /// `(next_tokens int64[num_rows], beam_indices int64[num_rows] | None, done)`; with
    /// `beam_indices`, reorder the KV cache rows (`cache[beam_indices]`) before the next pass.
    #[allow(clippy::type_complexity)]
    fn step<'py>(
        &self,
        py: Python<'py>,
        logits: &Bound<'py, PyAny>,
    ) -> PyResult<(
        Bound<'py, PyArray1<i64>>,
        Option<Bound<'py, PyArray1<i64>>>,
        bool,
    )> {
        let out = self.on_logits(logits, |st, x, vocab| st.step(x, vocab))?;
        Ok(step_result(py, out))
    }

    /// First half of a step split around custom processors: beam modes turn `logits` into
    /// log-probabilities, then the built-in processors run (in place, GIL released). Modify
    /// `logits[:num_rows]` in place (custom processors, given `sequences` as their input ids),
    /// then call `select(logits)`. Only needed with custom processors: `step` is both halves.
    fn process_logits(&self, logits: &Bound<'_, PyAny>) -> PyResult<()> {
        self.on_logits(logits, |st, x, vocab| st.process_logits(x, vocab))
    }

    /// Second half of a split step: the sampling warpers and the token choice. Same result
    /// as `step`: `(next_tokens, beam_indices | None, done)`.
    #[allow(clippy::type_complexity)]
    fn select<'py>(
        &self,
        py: Python<'py>,
        logits: &Bound<'py, PyAny>,
    ) -> PyResult<(
        Bound<'py, PyArray1<i64>>,
        Option<Bound<'py, PyArray1<i64>>>,
        bool,
    )> {
        let out = self.on_logits(logits, |st, x, vocab| st.select(x, vocab))?;
        Ok(step_result(py, out))
    }

    /// `(sequences int64[rows, len], scores float32[rows] | None)`: greedy/sampling, the
    /// running rows (prompt included, finished rows padded); beam modes, the
    /// `num_return_sequences` best hypotheses per prompt and their scores.
    #[allow(clippy::type_complexity)]
    fn finalize<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyArray2<i64>>, Option<Bound<'py, PyArray1<f32>>>)> {
        let f = py
            .allow_threads(|| lock(&self.inner).finalize())
            .map_err(err)?;
        let scores = f.scores.map(|s| PyArray1::from_vec(py, s));
        Ok((matrix(py, f.sequences, f.rows, f.len)?, scores))
    }

    /// `finalize()` plus transformers' `beam_indices`: `(sequences, scores, beam_indices)`
    /// where beam modes give int64 `[rows, len - prompt_length]`: for each generated token of
    /// each returned hypothesis, the running row whose logits produced it (`-1` past the
    /// hypothesis' end); greedy/sampling give None.
    #[allow(clippy::type_complexity)]
    fn finalize_with_beam_indices<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(
        Bound<'py, PyArray2<i64>>,
        Option<Bound<'py, PyArray1<f32>>>,
        Option<Bound<'py, PyArray2<i64>>>,
    )> {
        let (f, prompt_len) = py
            .allow_threads(|| {
                let st = lock(&self.inner);
                st.finalize().map(|f| (f, st.prompt_len()))
            })
            .map_err(err)?;
        let scores = f.scores.map(|s| PyArray1::from_vec(py, s));
        let width = f.len.saturating_sub(prompt_len);
        let beams = f
            .beam_indices
            .map(|b| matrix(py, b, f.rows, width))
            .transpose()?;
        Ok((matrix(py, f.sequences, f.rows, f.len)?, scores, beams))
    }

    /// Custom stopping criteria's verdict after a step (bool `[num_rows]`): greedy/sampling rows
    /// finish one by one, beam modes stop when every row says so. Returns `done`.
    fn stop_rows(&self, stop: PyReadonlyArray1<'_, bool>) -> PyResult<bool> {
        let stop = stop.as_slice()?;
        lock(&self.inner).stop_rows(stop).map_err(err)
    }

    /// Stops the generation at its next step (safe to call from any thread, even while
    /// `step` runs).
    fn interrupt(&self) {
        self.interrupt.interrupt();
    }

    /// The running sequences, int64 `[num_rows, cur_len]` (a copy).
    #[getter]
    fn sequences<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<i64>>> {
        let (data, rows, len) = {
            let st = lock(&self.inner);
            let s = st.sequences();
            let mut data = Vec::with_capacity(s.rows() * s.len());
            for r in 0..s.rows() {
                data.extend_from_slice(s.row(r));
            }
            (data, s.rows(), s.len())
        };
        matrix(py, data, rows, len)
    }

    /// Per-row "still generating" flags (greedy / sampling).
    #[getter]
    fn unfinished<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<bool>> {
        PyArray1::from_vec(py, lock(&self.inner).unfinished().to_vec())
    }

    /// Running beam scores (beam modes), else None.
    #[getter]
    fn beam_scores<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyArray1<f32>>> {
        let st = lock(&self.inner);
        st.mode()
            .is_beam()
            .then(|| PyArray1::from_vec(py, st.beam_scores().to_vec()))
    }

    /// "greedy", "sample", "beam_search" or "beam_sample".
    #[getter]
    fn mode(&self) -> &'static str {
        lock(&self.inner).mode().name()
    }

    #[getter]
    fn done(&self) -> bool {
        lock(&self.inner).is_done()
    }

    #[getter]
    fn batch_size(&self) -> usize {
        lock(&self.inner).batch_size()
    }

    /// Rows per prompt: repeat the model inputs this many times (`np.repeat(x, n, axis=0)`).
    #[getter]
    fn expand_size(&self) -> usize {
        lock(&self.inner).expand_size()
    }

    #[getter]
    fn num_rows(&self) -> usize {
        lock(&self.inner).num_rows()
    }

    /// Logits rows `step` expects (`num_rows`, doubled with classifier-free guidance).
    #[getter]
    fn logits_rows(&self) -> usize {
        lock(&self.inner).logits_rows()
    }

    #[getter]
    fn prompt_length(&self) -> usize {
        lock(&self.inner).prompt_len()
    }

    #[getter]
    fn cur_len(&self) -> usize {
        lock(&self.inner).cur_len()
    }

    /// Resolved maximum length (prompt included).
    #[getter]
    fn max_length(&self) -> usize {
        lock(&self.inner).max_length()
    }

    #[getter]
    fn pad_token_id(&self) -> Option<i64> {
        lock(&self.inner).config().pad_token_id
    }

    #[getter]
    fn processor_names(&self) -> Vec<&'static str> {
        lock(&self.inner).processors().names()
    }
}

/// `Sampler(do_sample=False, seed=None)`: argmax, or one multinomial draw per row from
/// `softmax(logits)` with a seeded xoshiro256** stream.
#[pyclass(frozen, module = "onnxformers._core", name = "Sampler")]
struct Sampler {
    do_sample: bool,
    rng: Mutex<core::Xoshiro256StarStar>,
}

#[pymethods]
impl Sampler {
    #[new]
    #[pyo3(signature = (do_sample = false, seed = None))]
    fn new(do_sample: bool, seed: Option<u64>) -> Self {
        let rng = match seed {
            Some(s) => core::Xoshiro256StarStar::seed_from_u64(s),
            None => core::Xoshiro256StarStar::from_entropy(),
        };
        Sampler {
            do_sample,
            rng: Mutex::new(rng),
        }
    }

    /// One token per row of `logits` (float32 `[rows, vocab]`, read only).
    fn sample<'py>(
        &self,
        py: Python<'py>,
        logits: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray1<i64>>> {
        let do_sample = self.do_sample;
        let out = with_logits(logits, |x, _rows, vocab| {
            let mut rng = lock(&self.rng);
            x.chunks(vocab.max(1))
                .map(|row| {
                    if do_sample {
                        core::sample_logits(row, &mut rng).map(|i| i as i64)
                    } else {
                        Ok(core::argmax(row) as i64)
                    }
                })
                .collect::<Result<Vec<i64>, _>>()
        })?
        .map_err(err)?;
        Ok(PyArray1::from_vec(py, out))
    }
}

/// `BeamSearchScorer(batch_size, num_beams, max_length, *, length_penalty=1.0,
/// early_stopping=False, num_return_sequences=1)`: transformers' scorer, for loops that pick
/// candidates themselves (`GenerationState` drives it for you).
#[pyclass(frozen, module = "onnxformers._core", name = "BeamSearchScorer")]
struct BeamSearchScorer {
    inner: Mutex<core::BeamSearchScorer>,
    max_length: usize,
}

fn early_stopping(v: &Bound<'_, PyAny>) -> PyResult<core::EarlyStopping> {
    if let Ok(b) = v.downcast::<PyBool>() {
        return Ok(if b.is_true() {
            core::EarlyStopping::True
        } else {
            core::EarlyStopping::False
        });
    }
    match v.extract::<String>() {
        Ok(s) if s == "never" => Ok(core::EarlyStopping::Never),
        _ => Err(invalid_input_error(format!(
            "early_stopping must be True, False or \"never\", got {v}"
        ))),
    }
}

#[pymethods]
impl BeamSearchScorer {
    #[new]
    #[pyo3(signature = (batch_size, num_beams, max_length, *, length_penalty = 1.0, early_stopping = None, num_return_sequences = 1))]
    fn new(
        batch_size: usize,
        num_beams: usize,
        max_length: usize,
        length_penalty: f64,
        early_stopping: Option<&Bound<'_, PyAny>>,
        num_return_sequences: usize,
    ) -> PyResult<Self> {
        let es = early_stopping
            .map(self::early_stopping)
            .transpose()?
            .unwrap_or_default();
        let inner = core::BeamSearchScorer::new(
            batch_size,
            num_beams,
            length_penalty,
            es,
            num_return_sequences,
            Some(max_length),
        )
        .map_err(err)?;
        Ok(BeamSearchScorer {
            inner: Mutex::new(inner),
            max_length,
        })
    }

    /// transformers' `process`: `input_ids` int64 `[batch*num_beams, len]` (before this
    /// step's token); `next_scores` float32, `next_tokens` and `next_indices` (beam within the
    /// batch item) int64, all `[batch, k]`, best first. Returns `(beam_scores float32,
    /// beam_tokens int64, beam_indices int64)`, each `[batch*num_beams]`.
    #[allow(clippy::too_many_arguments, clippy::type_complexity)]
    #[pyo3(signature = (input_ids, next_scores, next_tokens, next_indices, *, pad_token_id = None, eos_token_id = None, decoder_prompt_len = 0))]
    fn process<'py>(
        &self,
        py: Python<'py>,
        input_ids: &Bound<'py, PyAny>,
        next_scores: PyReadonlyArray2<'py, f32>,
        next_tokens: &Bound<'py, PyAny>,
        next_indices: &Bound<'py, PyAny>,
        pad_token_id: Option<i64>,
        eos_token_id: Option<Vec<i64>>,
        decoder_prompt_len: usize,
    ) -> PyResult<(
        Bound<'py, PyArray1<f32>>,
        Bound<'py, PyArray1<i64>>,
        Bound<'py, PyArray1<i64>>,
    )> {
        let ids = ids_array(input_ids, "input_ids")?;
        let toks = ids_array(next_tokens, "next_tokens")?;
        let idx = ids_array(next_indices, "next_indices")?;
        let scores = next_scores
            .as_slice()
            .map_err(|_| invalid_input_error("next_scores must be C-contiguous"))?;
        let toks_s = toks.as_slice()?;
        let idx_s: Vec<usize> = idx
            .as_slice()?
            .iter()
            .map(|&i| usize::try_from(i).unwrap_or(usize::MAX))
            .collect();
        let eos = eos_token_id.unwrap_or_default();
        let t = tokens(&ids)?;
        let step = py
            .allow_threads(|| {
                lock(&self.inner).process(
                    t,
                    scores,
                    toks_s,
                    &idx_s,
                    pad_token_id,
                    &eos,
                    decoder_prompt_len,
                )
            })
            .map_err(err)?;
        Ok((
            PyArray1::from_vec(py, step.scores),
            PyArray1::from_vec(py, step.tokens),
            PyArray1::from_vec(py, step.indices.into_iter().map(|i| i as i64).collect()),
        ))
    }

    #[getter]
    fn is_done(&self) -> bool {
        lock(&self.inner).is_done()
    }

    /// transformers' `finalize`: `(sequences int64[batch*num_return_sequences, len],
    /// scores float32[batch*num_return_sequences])`.
    #[allow(clippy::type_complexity)]
    #[pyo3(signature = (input_ids, final_beam_scores, *, pad_token_id = None, eos_token_id = None, decoder_prompt_len = 0))]
    fn finalize<'py>(
        &self,
        py: Python<'py>,
        input_ids: &Bound<'py, PyAny>,
        final_beam_scores: Vec<f32>,
        pad_token_id: Option<i64>,
        eos_token_id: Option<Vec<i64>>,
        decoder_prompt_len: usize,
    ) -> PyResult<(Bound<'py, PyArray2<i64>>, Bound<'py, PyArray1<f32>>)> {
        let ids = ids_array(input_ids, "input_ids")?;
        let t = tokens(&ids)?;
        let eos = eos_token_id.unwrap_or_default();
        let f = lock(&self.inner)
            .clone()
            .finalize(
                t,
                &final_beam_scores,
                Some(self.max_length),
                pad_token_id,
                &eos,
                decoder_prompt_len,
            )
            .map_err(err)?;
        let scores = PyArray1::from_vec(py, f.scores.unwrap_or_default());
        Ok((matrix(py, f.sequences, f.rows, f.len)?, scores))
    }
}

/// Beam search's cache reorder, in place: afterwards row `i` of every array holds what its row
/// `rows_index[i]` held (axis 0 is `len(rows_index)` rows, or rows of several heads). The arrays
/// must be C-contiguous and writeable (e.g. onnxruntime's CPU outputs seen through
/// `OrtValue.numpy()`); only moved rows are copied, with the GIL released.
#[pyfunction]
fn gather_rows_in_place(
    py: Python<'_>,
    arrays: Vec<Bound<'_, numpy::PyUntypedArray>>,
    rows_index: PyReadonlyArray1<'_, i64>,
) -> PyResult<()> {
    let rows = rows_index.len();
    let src = rows_index
        .as_slice()?
        .iter()
        .map(|&j| {
            usize::try_from(j)
                .ok()
                .filter(|&j| j < rows)
                .ok_or_else(|| {
                    invalid_input_error(format!("row index {j} out of range for {rows} rows"))
                })
        })
        .collect::<PyResult<Vec<usize>>>()?;
    let mut buffers = Vec::with_capacity(arrays.len());
    for (k, array) in arrays.iter().enumerate() {
        // SAFETY: a live numpy array object (held by `arrays` for the whole call)
        let flags = unsafe { (*array.as_array_ptr()).flags };
        if !array.is_c_contiguous() || flags & numpy::npyffi::NPY_ARRAY_WRITEABLE == 0 {
            return Err(invalid_input_error(format!(
                "cache array {k} must be C-contiguous and writeable"
            )));
        }
        if array.ndim() == 0 || array.shape()[0] % rows.max(1) != 0 {
            return Err(invalid_input_error(format!(
                "cache array {k} of shape {:?} does not hold {rows} rows along axis 0",
                array.shape()
            )));
        }
        let bytes = array.len() * numpy::PyArrayDescrMethods::itemsize(&array.dtype());
        // SAFETY: as above; `data` points at `bytes` contiguous bytes owned by the array
        let data = unsafe { (*array.as_array_ptr()).data } as usize;
        buffers.push((data, bytes));
    }
    py.allow_threads(|| {
        for (data, bytes) in buffers {
            // SAFETY: each buffer is a distinct live, writeable, contiguous array (kept alive by
            // `arrays`); one slice exists at a time, so repeated arrays cannot alias mutably
            let slice = unsafe { std::slice::from_raw_parts_mut(data as *mut u8, bytes) };
            core::gather_rows_in_place(slice, &src)?;
        }
        Ok(())
    })
    .map_err(err)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(gather_rows_in_place, m)?)?;
    m.add_class::<LogitsProcessorList>()?;
    m.add_class::<InterruptFlag>()?;
    m.add_class::<GenerationState>()?;
    m.add_class::<Sampler>()?;
    m.add_class::<BeamSearchScorer>()?;
    Ok(())
}
