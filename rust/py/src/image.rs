//! Bindings of the image kernels (`onnxformers_core::image`): Pillow-exact resampling and the fused
//! uint8 HWC → float32 CHW conversion. numpy in and out without copies, the GIL released for the
//! work, every bad argument an `onnxformers.InvalidInputError`.
use crate::errors::{describe, invalid_input_error};
use numpy::ndarray::Array3;
use numpy::{IntoPyArray, PyArray2, PyArray3, PyArrayMethods, PyUntypedArrayMethods};
use onnxformers_core::image as core;
use pyo3::prelude::*;
use pyo3::types::PyCapsule;
use std::ffi::c_void;

fn pixels_arg<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyArray3<u8>>> {
    obj.downcast::<PyArray3<u8>>().cloned().map_err(|_| {
        invalid_input_error(format!(
            "pixels must be a (height, width, channels) uint8 numpy array, got {}",
            describe(obj)
        ))
    })
}

/// `resample_u8(pixels, width, height, filter)`: `PIL.Image.resize((width, height), filter)` of
/// (H, W, C) uint8 pixels (C in 1-4, each channel independently), bit for bit. `filter` is
/// Pillow's id: 1 lanczos, 2 bilinear, 3 bicubic, 4 box, 5 hamming. Returns (height, width, C) uint8.
///
/// `horizontal_first`: run the horizontal pass first whatever the sizes (Pillow before 13) instead of
/// Pillow 13's rule (vertical first when the height shrinks more than twice as much as the width).
#[pyfunction]
#[pyo3(signature = (pixels, width, height, filter, horizontal_first = false))]
fn resample_u8<'py>(
    py: Python<'py>,
    pixels: &Bound<'py, PyAny>,
    width: i64,
    height: i64,
    filter: i64,
    horizontal_first: bool,
) -> PyResult<Bound<'py, PyArray3<u8>>> {
    let (filter_kind, order) = filter_and_order(filter, horizontal_first)?;
    let (ow, oh) = positive_size(width, height)?;
    let array = pixels_arg(pixels)?;
    let readonly = array.try_readonly()?;
    let shape = readonly.shape().to_vec();
    let (h, w, c) = (shape[0], shape[1], shape[2]);
    if !(1..=4).contains(&c) || h == 0 || w == 0 {
        return Err(invalid_input_error(format!(
            "pixels must be (height, width, channels) with positive sizes and 1 to 4 channels, \
             got shape {shape:?}"
        )));
    }
    let src = readonly
        .as_slice()
        .map_err(|_| invalid_input_error("pixels must be C-contiguous"))?;
    let out = py
        .allow_threads(|| core::resample_u8(src, w, h, c, ow, oh, filter_kind, order))
        .map_err(invalid_input_error)?;
    Array3::from_shape_vec((oh, ow, c), out)
        .map(|a| a.into_pyarray(py))
        .map_err(|e| invalid_input_error(format!("internal shape error: {e}")))
}

/// The Arrow C data interface's array struct (`ArrowArray`, a stable C ABI).
#[repr(C)]
struct FfiArrowArray {
    length: i64,
    null_count: i64,
    offset: i64,
    n_buffers: i64,
    n_children: i64,
    buffers: *mut *const c_void,
    children: *mut *mut FfiArrowArray,
    dictionary: *mut FfiArrowArray,
    release: Option<unsafe extern "C" fn(*mut FfiArrowArray)>,
    private_data: *mut c_void,
}

/// The data buffer (`buffers[1]`) of a primitive Arrow array of `length` bytes, checked.
///
/// # Safety
/// `array` must be null or point to a live `ArrowArray` whose owner outlives the slice.
unsafe fn arrow_bytes<'a>(array: *const FfiArrowArray, length: usize) -> PyResult<&'a [u8]> {
    let bad = |what: &str| invalid_input_error(format!("unexpected Arrow image array: {what}"));
    let a = array.as_ref().ok_or_else(|| bad("null"))?;
    if a.release.is_none() {
        return Err(bad("already released"));
    }
    if a.length != length as i64 || a.offset != 0 || a.n_buffers != 2 || a.buffers.is_null() {
        return Err(bad("length, offset or buffers"));
    }
    let data = *a.buffers.add(1) as *const u8;
    if data.is_null() {
        return Err(bad("no data buffer"));
    }
    Ok(std::slice::from_raw_parts(data, length))
}

/// `resample_arrow(array, width, height, channels, out_width, out_height, filter, horizontal_first=False)`:
/// `resample_u8` straight from Pillow's memory, exported through the Arrow PyCapsule interface
/// (`PIL.Image.__arrow_c_array__()[1]`), instead of a `tobytes()` copy (which holds the GIL).
/// `channels` 1 (mode L: `uint8` values) or 3 (mode RGB: fixed-size lists of 4 bytes, R G B and
/// padding, which is skipped). Returns (out_height, out_width, channels).
#[pyfunction]
#[pyo3(signature = (array, width, height, channels, out_width, out_height, filter, horizontal_first = false))]
#[allow(clippy::too_many_arguments)]
fn resample_arrow<'py>(
    py: Python<'py>,
    array: &Bound<'py, PyAny>,
    width: i64,
    height: i64,
    channels: usize,
    out_width: i64,
    out_height: i64,
    filter: i64,
    horizontal_first: bool,
) -> PyResult<Bound<'py, PyArray3<u8>>> {
    let (filter_kind, order) = filter_and_order(filter, horizontal_first)?;
    let (ow, oh) = positive_size(out_width, out_height)?;
    let (width, height) = positive_size(width, height)?;
    let capsule = array.downcast::<PyCapsule>().map_err(|_| {
        invalid_input_error(format!(
            "array must be an 'arrow_array' PyCapsule, got {}",
            describe(array)
        ))
    })?;
    if capsule.name()?.map(|n| n.to_bytes()) != Some(b"arrow_array".as_slice()) {
        return Err(invalid_input_error(
            "array must be an 'arrow_array' PyCapsule",
        ));
    }
    let pixels = width
        .checked_mul(height)
        .filter(|&n| n > 0 && n < (1 << 40))
        .ok_or_else(|| invalid_input_error(format!("bad image size {width}x{height}")))?;
    let root = capsule.pointer() as *const FfiArrowArray;
    // SAFETY: a live 'arrow_array' capsule points to an ArrowArray that stays valid, with its
    // buffers, until the capsule is released; the capsule is borrowed for this whole call.
    let (src, stored) = unsafe {
        match channels {
            1 => (arrow_bytes(root, pixels)?, 1),
            3 => {
                let a = root
                    .as_ref()
                    .ok_or_else(|| invalid_input_error("null Arrow array"))?;
                if a.release.is_none()
                    || a.length != pixels as i64
                    || a.offset != 0
                    || a.n_children != 1
                    || a.children.is_null()
                {
                    return Err(invalid_input_error(
                        "unexpected Arrow image array: not one fixed-size list of 4 bytes per pixel",
                    ));
                }
                (arrow_bytes(*a.children, pixels * 4)?, 4)
            }
            _ => {
                return Err(invalid_input_error(format!(
                    "channels must be 1 or 3, got {channels}"
                )))
            }
        }
    };
    let out = py
        .allow_threads(|| {
            core::resample_u8_padded(
                src,
                width,
                height,
                stored,
                channels,
                ow,
                oh,
                filter_kind,
                order,
            )
        })
        .map_err(invalid_input_error)?;
    Array3::from_shape_vec((oh, ow, channels), out)
        .map(|a| a.into_pyarray(py))
        .map_err(|e| invalid_input_error(format!("internal shape error: {e}")))
}

fn filter_and_order(
    filter: i64,
    horizontal_first: bool,
) -> PyResult<(core::Filter, core::PassOrder)> {
    let kind = core::Filter::from_pillow_id(filter).ok_or_else(|| {
        invalid_input_error(format!(
            "resample filter must be 1 (lanczos), 2 (bilinear), 3 (bicubic), 4 (box) or 5 \
             (hamming), got {filter}"
        ))
    })?;
    let order = if horizontal_first {
        core::PassOrder::HorizontalFirst
    } else {
        core::PassOrder::Pillow13
    };
    Ok((kind, order))
}

fn positive_size(width: i64, height: i64) -> PyResult<(usize, usize)> {
    if width < 1 || height < 1 {
        return Err(invalid_input_error(format!(
            "resample needs a positive width and height, got {width}x{height}"
        )));
    }
    Ok((width as usize, height as usize))
}

/// `u8_to_f32_chw(pixels, table, out, flip=False)`: `out[c', y, x] = table[c, pixels[y, x, c]]` with
/// `c' = c` (or `C - 1 - c` with `flip`). `pixels` (H, W, C) uint8 C-contiguous, `table` (C, 256)
/// float32 C-contiguous, `out` a writable float32 (C, H, W) array whose last axis is contiguous (a
/// window of a padded batch, `batch[i, :, :h, :w]`, is fine). Returns None.
#[pyfunction]
#[pyo3(signature = (pixels, table, out, flip = false))]
fn u8_to_f32_chw(
    py: Python<'_>,
    pixels: &Bound<'_, PyAny>,
    table: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
    flip: bool,
) -> PyResult<()> {
    let array = pixels_arg(pixels)?;
    let readonly = array.try_readonly()?;
    let shape = readonly.shape().to_vec();
    let (h, w, c) = (shape[0], shape[1], shape[2]);
    let src = readonly
        .as_slice()
        .map_err(|_| invalid_input_error("pixels must be C-contiguous"))?;
    let table = table.downcast::<PyArray2<f32>>().map_err(|_| {
        invalid_input_error(format!(
            "table must be a (channels, 256) float32 numpy array, got {}",
            describe(table)
        ))
    })?;
    let table = table.try_readonly()?;
    if table.shape() != [c, 256] {
        return Err(invalid_input_error(format!(
            "table must have shape ({c}, 256) for {c}-channel pixels, got {:?}",
            table.shape()
        )));
    }
    let table = table
        .as_slice()
        .map_err(|_| invalid_input_error("table must be C-contiguous"))?;
    let dest = out.downcast::<PyArray3<f32>>().map_err(|_| {
        invalid_input_error(format!(
            "out must be a (channels, height, width) float32 numpy array, got {}",
            describe(out)
        ))
    })?;
    if dest.shape() != [c, h, w] {
        return Err(invalid_input_error(format!(
            "out has shape {:?}; the pixels need ({c}, {h}, {w})",
            dest.shape()
        )));
    }
    let mut writable = dest
        .try_readwrite()
        .map_err(|e| invalid_input_error(format!("out must be writable: {e}")))?;
    let mut view = writable.as_array_mut();
    let strides = view.strides().to_vec();
    if (w > 1 && strides[2] != 1) || strides[0] < 0 || strides[1] < 0 {
        return Err(invalid_input_error(format!(
            "out must have a contiguous last axis and non-negative strides, got strides {:?} \
             (in elements)",
            strides
        )));
    }
    let layout = core::PlaneLayout {
        channel_stride: strides[0] as usize,
        row_stride: strides[1] as usize,
    };
    let extent = layout
        .extent(c, h, w)
        .ok_or_else(|| invalid_input_error("out strides overflow"))?;
    // SAFETY: numpy guarantees every element `ptr + c·s0 + y·s1 + x` of the view is inside its
    // allocation; `extent` is one past the last of them, so [ptr, ptr + extent) lies in the same
    // allocation. We hold the view's write borrow; the elements of that span outside the view (the
    // padding between rows of a batch window) are only written where the view is (the kernel writes
    // exactly the view's elements).
    let dst: &mut [f32] = unsafe { std::slice::from_raw_parts_mut(view.as_mut_ptr(), extent) };
    py.allow_threads(|| core::u8_hwc_to_f32_chw(src, h, w, c, table, dst, layout, flip))
        .map_err(invalid_input_error)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(resample_u8, m)?)?;
    m.add_function(wrap_pyfunction!(resample_arrow, m)?)?;
    m.add_function(wrap_pyfunction!(u8_to_f32_chw, m)?)?;
    Ok(())
}
