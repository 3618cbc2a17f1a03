//! Pillow's convolution resampling for 8-bit images, bit for bit (`src/libImaging/Resample.c`:
//! `precompute_coeffs`, `normalize_coeffs_8bpc`, `ImagingResampleHorizontal_8bpc` /
//! `ImagingResampleVertical_8bpc`, `ImagingResampleInner`), so that resized pixels equal what
//! `PIL.Image.resize(size, filter)` gives (which `transformers`' image processors call).
//!
//! Exactness: the filter weights are computed in f64 with the same expressions and operation order
//! as the C code, rounded to i32 fixed point (22 fractional bits) the same way, and the pixel sums
//! are the same i32 sums (u8 × i32 products; Pillow sizes the precision so they never overflow).
//! Integer addition is associative, so summing in another order or in SIMD lanes changes nothing.
//!
//! Speed: the horizontal pass (every used source row × output width × ~2·scale taps) dominates a
//! downscale. It works on blocks of 8 rows transposed to column-major, so each tap is one 8-lane
//! i32 multiply-add per channel; the vertical pass runs along rows (contiguous). Both are compiled
//! a second time for AVX2 and picked at run time.

use super::ImageError;

/// Which of the two passes Pillow runs first (the order changes the result: the intermediate image
/// is rounded to 8 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassOrder {
    /// Pillow 13: vertical first when the height shrinks by more than twice what the width does
    /// (`(in_h - out_h) > 0 && (in_h - out_h) > (in_w - out_w) * 2`), else horizontal first.
    Pillow13,
    /// Older Pillow: always horizontal first.
    HorizontalFirst,
}

impl PassOrder {
    /// Whether the horizontal pass runs first for this resize.
    pub fn horizontal_first(self, in_w: usize, in_h: usize, out_w: usize, out_h: usize) -> bool {
        match self {
            PassOrder::HorizontalFirst => true,
            PassOrder::Pillow13 => {
                let dy = in_h as i64 - out_h as i64;
                let dx = in_w as i64 - out_w as i64;
                !(dy > 0 && dy > dx * 2)
            }
        }
    }
}

/// Fixed-point precision of the 8-bit coefficients: `32 - 8 - 2` (Pillow's `PRECISION_BITS`).
const PRECISION_BITS: u32 = 32 - 8 - 2;
/// Initial value of every sum: one half, so `>> PRECISION_BITS` rounds to nearest.
const HALF: i32 = 1 << (PRECISION_BITS - 1);
/// Rows per block of the horizontal pass (i32 lanes of one AVX2 register).
const LANES: usize = 8;

/// Pillow's convolution filters (`PIL.Image.Resampling` minus NEAREST, which is not a convolution).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    Box,
    Bilinear,
    Hamming,
    Bicubic,
    Lanczos,
}

impl Filter {
    /// The filter of a Pillow id: 1 LANCZOS, 2 BILINEAR, 3 BICUBIC, 4 BOX, 5 HAMMING (0 NEAREST → None).
    pub fn from_pillow_id(id: i64) -> Option<Filter> {
        match id {
            1 => Some(Filter::Lanczos),
            2 => Some(Filter::Bilinear),
            3 => Some(Filter::Bicubic),
            4 => Some(Filter::Box),
            5 => Some(Filter::Hamming),
            _ => None,
        }
    }

    /// Half-width of the filter at scale 1.
    pub fn support(self) -> f64 {
        match self {
            Filter::Box => 0.5,
            Filter::Bilinear | Filter::Hamming => 1.0,
            Filter::Bicubic => 2.0,
            Filter::Lanczos => 3.0,
        }
    }

    /// The filter's weight at `x` (same expressions, constants and branches as Resample.c).
    pub fn eval(self, x: f64) -> f64 {
        match self {
            Filter::Box => {
                if x > -0.5 && x <= 0.5 {
                    1.0
                } else {
                    0.0
                }
            }
            Filter::Bilinear => {
                let x = if x < 0.0 { -x } else { x };
                if x < 1.0 {
                    1.0 - x
                } else {
                    0.0
                }
            }
            Filter::Hamming => {
                let x = if x < 0.0 { -x } else { x };
                if x == 0.0 {
                    1.0
                } else if x >= 1.0 {
                    0.0
                } else {
                    let x = x * std::f64::consts::PI;
                    // C: `0.54f + 0.46f * cos(x)`: the constants are floats promoted to double
                    x.sin() / x * (0.54f32 as f64 + 0.46f32 as f64 * x.cos())
                }
            }
            Filter::Bicubic => {
                const A: f64 = -0.5;
                let x = if x < 0.0 { -x } else { x };
                if x < 1.0 {
                    ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
                } else if x < 2.0 {
                    (((x - 5.0) * x + 8.0) * x - 4.0) * A
                } else {
                    0.0
                }
            }
            Filter::Lanczos => {
                if (-3.0..3.0).contains(&x) {
                    sinc(x) * sinc(x / 3.0)
                } else {
                    0.0
                }
            }
        }
    }
}

fn sinc(x: f64) -> f64 {
    if x == 0.0 {
        return 1.0;
    }
    let x = x * std::f64::consts::PI;
    x.sin() / x
}

/// The weights of one pass (`precompute_coeffs`): for each output index, the first input index and
/// the number of taps, and `ksize` f64 weights (normalized to sum 1; unused ones are 0).
#[derive(Debug, Clone, PartialEq)]
pub struct Coefficients {
    pub ksize: usize,
    /// (first input index, number of taps) per output index
    pub bounds: Vec<(usize, usize)>,
    /// `out_size * ksize` weights
    pub weights: Vec<f64>,
}

impl Coefficients {
    /// `normalize_coeffs_8bpc`: the weights as i32 with `PRECISION_BITS` fractional bits, rounded
    /// half away from zero by truncation of `w * 2^22 ± 0.5`.
    pub fn to_fixed(&self) -> Vec<i32> {
        let one = (1u32 << PRECISION_BITS) as f64;
        self.weights
            .iter()
            .map(|&w| {
                if w < 0.0 {
                    (-0.5 + w * one) as i32
                } else {
                    (0.5 + w * one) as i32
                }
            })
            .collect()
    }
}

/// Pillow's `precompute_coeffs(inSize, in0, in1, outSize, filter)`: `in0`/`in1` are the box edges
/// in input pixels (C floats; the whole image is `0, inSize`).
pub fn precompute_coeffs(
    in_size: usize,
    in0: f32,
    in1: f32,
    out_size: usize,
    filter: Filter,
) -> Coefficients {
    // `(double)(in1 - in0) / outSize`: the difference is taken in float
    let scale = (in1 - in0) as f64 / out_size as f64;
    let filterscale = if scale < 1.0 { 1.0 } else { scale };
    let support = filter.support() * filterscale;
    let ksize = (support.ceil() as usize) * 2 + 1;
    let mut weights = vec![0.0f64; out_size * ksize];
    let mut bounds = Vec::with_capacity(out_size);
    let ss = 1.0 / filterscale;
    for xx in 0..out_size {
        let center = in0 as f64 + (xx as f64 + 0.5) * scale;
        // `(int)(...)` truncates toward zero, as `as i64` does
        let xmin = ((center - support + 0.5) as i64).max(0);
        let xmax = ((center + support + 0.5) as i64).min(in_size as i64);
        let count = (xmax - xmin).max(0) as usize;
        let k = &mut weights[xx * ksize..xx * ksize + count.min(ksize)];
        let mut ww = 0.0;
        for (x, slot) in k.iter_mut().enumerate() {
            let w = filter.eval(((x as i64 + xmin) as f64 - center + 0.5) * ss);
            *slot = w;
            ww += w;
        }
        if ww != 0.0 {
            for slot in k.iter_mut() {
                *slot /= ww;
            }
        }
        bounds.push((xmin as usize, count.min(ksize)));
    }
    Coefficients {
        ksize,
        bounds,
        weights,
    }
}

/// The fixed-point form of one pass, as the kernels use it.
struct Fixed {
    ksize: usize,
    bounds: Vec<(usize, usize)>,
    k: Vec<i32>,
}

impl Fixed {
    fn new(c: &Coefficients) -> Fixed {
        Fixed {
            ksize: c.ksize,
            bounds: c.bounds.clone(),
            k: c.to_fixed(),
        }
    }

    #[inline(always)]
    fn taps(&self, i: usize) -> (usize, &[i32]) {
        let (first, count) = self.bounds[i];
        (first, &self.k[i * self.ksize..i * self.ksize + count])
    }
}

/// `clip8`: the sum back to 8 bits (Pillow's lookup table covers every reachable value; a clamp
/// gives the same bytes).
#[inline(always)]
fn clip8(ss: i32) -> u8 {
    (ss >> PRECISION_BITS).clamp(0, 255) as u8
}

/// `Image.resize((out_w, out_h), filter)` of an 8-bit image given as row-major interleaved pixels
/// (`height × width × channels`, 1 to 4 channels, each channel resampled independently, as Pillow
/// does for L / RGB / RGBX; premultiplied alpha is the caller's business). Returns
/// `out_h × out_w × channels` bytes.
#[allow(clippy::too_many_arguments)]
pub fn resample_u8(
    src: &[u8],
    width: usize,
    height: usize,
    channels: usize,
    out_w: usize,
    out_h: usize,
    filter: Filter,
    order: PassOrder,
) -> Result<Vec<u8>, ImageError> {
    resample_u8_padded(
        src, width, height, channels, channels, out_w, out_h, filter, order,
    )
}

/// [`resample_u8`] of pixels stored with `stored` bytes each, of which the first `channels` are
/// resampled and returned: `stored == channels`, or 4 bytes holding 3 channels (Pillow's RGB
/// storage, R G B and a padding byte, as its Arrow export hands it out).
#[allow(clippy::too_many_arguments)]
pub fn resample_u8_padded(
    src: &[u8],
    width: usize,
    height: usize,
    stored: usize,
    channels: usize,
    out_w: usize,
    out_h: usize,
    filter: Filter,
    order: PassOrder,
) -> Result<Vec<u8>, ImageError> {
    if !(1..=4).contains(&channels) || !(stored == channels || (stored, channels) == (4, 3)) {
        return Err(ImageError::new(format!(
            "resample supports 1 to 4 channels (or 3 stored in 4 bytes), got {channels} in {stored}"
        )));
    }
    if width == 0 || height == 0 || out_w == 0 || out_h == 0 {
        return Err(ImageError::new(format!(
            "resample needs positive sizes, got {width}x{height} -> {out_w}x{out_h}"
        )));
    }
    // Pillow keeps sizes in C ints; beyond that its box (floats) and sums are not what we port
    const LIMIT: usize = 1 << 24;
    if width > LIMIT || height > LIMIT || out_w > LIMIT || out_h > LIMIT {
        return Err(ImageError::new(format!(
            "resample sizes must be at most {LIMIT}, got {width}x{height} -> {out_w}x{out_h}"
        )));
    }
    let expected = width
        .checked_mul(height)
        .and_then(|n| n.checked_mul(stored))
        .ok_or_else(|| ImageError::new("image size overflows"))?;
    if src.len() != expected {
        return Err(ImageError::new(format!(
            "pixel buffer has {} bytes; {width}x{height} with {stored} byte(s) per pixel needs {expected}",
            src.len()
        )));
    }
    // The output and the intermediate image are allocated below with `vec!`, which aborts the
    // process when memory runs out: ask for that much once, fallibly, so that an absurd target
    // size is an error (as Pillow's MemoryError) instead.
    // (sides are at most 2^24, so these u64 products cannot overflow)
    let (w, h, ow, oh) = (width as u64, height as u64, out_w as u64, out_h as u64);
    let temp = (oh * w * stored as u64).max(h * ow * channels as u64);
    let budget = usize::try_from(ow * oh * channels as u64 + temp).ok();
    if budget.is_none_or(|n| Vec::<u8>::new().try_reserve_exact(n).is_err()) {
        return Err(ImageError::new(format!(
            "not enough memory to resize {width}x{height} to {out_w}x{out_h}"
        )));
    }
    let need_h = out_w != width;
    let need_v = out_h != height;
    let vert = precompute_coeffs(height, 0.0, height as f32, out_h, filter);
    let horiz = || Fixed::new(&precompute_coeffs(width, 0.0, width as f32, out_w, filter));
    let row_len = width * stored;
    if !order.horizontal_first(width, height, out_w, out_h) {
        // vertical pass over whole source rows, then the horizontal pass over `out_h` rows
        let mut tmp = vec![0u8; out_h * row_len];
        vertical(src, row_len, &Fixed::new(&vert), out_h, &mut tmp);
        if !need_h {
            return Ok(drop_padding(tmp, stored, channels));
        }
        return Ok(horizontal(
            &tmp,
            out_h,
            width,
            stored,
            channels,
            &horiz(),
            out_w,
        ));
    }
    // the source rows the vertical pass reads: the horizontal pass only resamples those
    let ybox_first = vert.bounds[0].0;
    let (last_first, last_count) = vert.bounds[out_h - 1];
    let ybox_last = last_first + last_count;
    let tmp;
    // (rows for the vertical pass, their length, first source row, bytes per pixel)
    let (vsrc, vsrc_row_len, offset, vstored) = if need_h {
        let rows = &src[ybox_first * row_len..ybox_last * row_len];
        let nrows = ybox_last - ybox_first;
        tmp = horizontal(rows, nrows, width, stored, channels, &horiz(), out_w);
        (&tmp[..], out_w * channels, ybox_first, channels)
    } else {
        (src, row_len, 0, stored)
    };
    if !need_v {
        // without a vertical pass the (horizontally resampled) rows are the result
        return Ok(drop_padding(vsrc.to_vec(), vstored, channels));
    }
    let mut vfixed = Fixed::new(&vert);
    for b in vfixed.bounds.iter_mut() {
        b.0 -= offset;
    }
    let mut out = vec![0u8; out_h * vsrc_row_len];
    vertical(vsrc, vsrc_row_len, &vfixed, out_h, &mut out);
    Ok(drop_padding(out, vstored, channels))
}

/// Pixels of `stored` bytes → their first `channels` bytes.
fn drop_padding(pixels: Vec<u8>, stored: usize, channels: usize) -> Vec<u8> {
    if stored == channels {
        return pixels;
    }
    pixels
        .chunks_exact(stored)
        .flat_map(|p| p[..channels].iter().copied())
        .collect()
}

// ------------------------------------------------------------------------------ horizontal pass

fn horizontal(
    rows: &[u8],
    nrows: usize,
    width: usize,
    stored: usize,
    channels: usize,
    co: &Fixed,
    out_w: usize,
) -> Vec<u8> {
    let mut out = vec![0u8; nrows * out_w * channels];
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above)
            unsafe {
                match (channels, stored) {
                    (1, _) => horizontal_avx2::<1, 1>(rows, nrows, width, co, out_w, &mut out),
                    (2, _) => horizontal_avx2::<2, 2>(rows, nrows, width, co, out_w, &mut out),
                    (3, 3) => horizontal_avx2::<3, 3>(rows, nrows, width, co, out_w, &mut out),
                    (3, _) => horizontal_avx2::<3, 4>(rows, nrows, width, co, out_w, &mut out),
                    _ => horizontal_avx2::<4, 4>(rows, nrows, width, co, out_w, &mut out),
                }
            }
            return out;
        }
    }
    match (channels, stored) {
        (1, _) => horizontal_impl::<1, 1>(rows, nrows, width, co, out_w, &mut out),
        (2, _) => horizontal_impl::<2, 2>(rows, nrows, width, co, out_w, &mut out),
        (3, 3) => horizontal_impl::<3, 3>(rows, nrows, width, co, out_w, &mut out),
        (3, _) => horizontal_impl::<3, 4>(rows, nrows, width, co, out_w, &mut out),
        _ => horizontal_impl::<4, 4>(rows, nrows, width, co, out_w, &mut out),
    }
    out
}

/// The horizontal pass with explicit AVX2: per tap and channel, 8 rows' bytes widened to i32
/// (`vpmovzxbd`), one `vpmulld` and one `vpaddd` (the same i32 arithmetic as the generic kernel).
/// `C` channels are resampled out of pixels stored in `S >= C` bytes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn horizontal_avx2<const C: usize, const S: usize>(
    rows: &[u8],
    nrows: usize,
    width: usize,
    co: &Fixed,
    out_w: usize,
    out: &mut [u8],
) {
    use std::arch::x86_64::*;
    let row_len = width * S;
    let out_row_len = out_w * C;
    assert!(rows.len() >= nrows * row_len && out.len() >= nrows * out_row_len);
    // every tap reads inside the block: checked once here, relied on by the raw loads below
    assert!(co.bounds[..out_w]
        .iter()
        .all(|&(first, n)| first + n <= width));
    let half = _mm256_set1_epi32(HALF);
    let zero = _mm256_setzero_si256();
    let max = _mm256_set1_epi32(255);
    let mut lanes = [[0i32; LANES]; C];
    for_each_row_block(rows, nrows, row_len, |r0, n, block| {
        for x in 0..out_w {
            let (first, k) = co.taps(x);
            let mut acc = [half; C];
            // SAFETY: first + k.len() <= width (asserted above), so every 8-byte load at
            // ((first + t) * S + ch) * LANES is inside `block` (row_len * LANES bytes)
            let mut p = block.as_ptr().add(first * S * LANES);
            for &kt in k {
                let kv = _mm256_set1_epi32(kt);
                for (ch, a) in acc.iter_mut().enumerate() {
                    let v =
                        _mm256_cvtepu8_epi32(_mm_loadl_epi64(p.add(ch * LANES) as *const __m128i));
                    *a = _mm256_add_epi32(*a, _mm256_mullo_epi32(v, kv));
                }
                p = p.add(S * LANES);
            }
            for (ch, a) in acc.iter().enumerate() {
                // clip8: >> 22, clamped to 0..=255
                let v = _mm256_min_epi32(
                    _mm256_max_epi32(_mm256_srai_epi32::<{ PRECISION_BITS as i32 }>(*a), zero),
                    max,
                );
                _mm256_storeu_si256(lanes[ch].as_mut_ptr() as *mut __m256i, v);
            }
            for (l, r) in (r0..r0 + n).enumerate() {
                let o = &mut out[r * out_row_len + x * C..r * out_row_len + x * C + C];
                for ch in 0..C {
                    o[ch] = lanes[ch][l] as u8;
                }
            }
        }
    });
}

#[inline(always)]
fn horizontal_impl<const C: usize, const S: usize>(
    rows: &[u8],
    nrows: usize,
    width: usize,
    co: &Fixed,
    out_w: usize,
    out: &mut [u8],
) {
    let row_len = width * S;
    let out_row_len = out_w * C;
    for_each_row_block(rows, nrows, row_len, |r0, n, block| {
        for x in 0..out_w {
            let (first, k) = co.taps(x);
            let cols = &block[first * S * LANES..(first + k.len()) * S * LANES];
            let mut acc = [[HALF; LANES]; C];
            for (&kt, col) in k.iter().zip(cols.chunks_exact(S * LANES)) {
                for (ch, lanes) in acc.iter_mut().enumerate() {
                    // a fixed-size array: no bounds checks, loads LLVM can vectorize
                    let col: &[u8; LANES] = col[ch * LANES..ch * LANES + LANES].try_into().unwrap();
                    for l in 0..LANES {
                        lanes[l] = lanes[l].wrapping_add((col[l] as i32).wrapping_mul(kt));
                    }
                }
            }
            for (l, r) in (r0..r0 + n).enumerate() {
                let o = &mut out[r * out_row_len + x * C..r * out_row_len + x * C + C];
                for ch in 0..C {
                    o[ch] = clip8(acc[ch][l]);
                }
            }
        }
    });
}

/// Calls `f(first_row, rows_in_block, block)` for each block of `LANES` rows, `block` holding them
/// transposed: `block[m * LANES + l]` = byte `m` of row `l`, so one tap of one channel for the 8
/// rows is 8 contiguous bytes. A short last block repeats its last row (computed, never written
/// out by the kernels, which only write `rows_in_block` rows).
#[inline(always)]
fn for_each_row_block(
    rows: &[u8],
    nrows: usize,
    row_len: usize,
    mut f: impl FnMut(usize, usize, &[u8]),
) {
    let mut block = vec![0u8; row_len * LANES];
    let mut r0 = 0;
    while r0 < nrows {
        let n = LANES.min(nrows - r0);
        let block_rows: [&[u8]; LANES] = std::array::from_fn(|l| {
            let r = r0 + l.min(n - 1);
            &rows[r * row_len..(r + 1) * row_len]
        });
        transpose8(&block_rows, &mut block);
        f(r0, n, &block);
        r0 += LANES;
    }
}

/// `block[m * 8 + l] = rows[l][m]` for every byte column `m`.
#[inline(always)]
fn transpose8(rows: &[&[u8]; LANES], block: &mut [u8]) {
    let len = rows[0].len();
    #[cfg(target_arch = "x86_64")]
    let done = transpose8_sse2(rows, block);
    #[cfg(not(target_arch = "x86_64"))]
    let done = 0;
    for m in done..len {
        for l in 0..LANES {
            block[m * LANES + l] = rows[l][m];
        }
    }
}

/// 8 rows × 16 byte columns at a time with SSE2 unpacks (SSE2 is part of x86_64). Returns how many
/// columns it did (a multiple of 16).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn transpose8_sse2(rows: &[&[u8]; LANES], block: &mut [u8]) -> usize {
    use std::arch::x86_64::*;
    let len = rows[0].len();
    let chunks = len / 16;
    assert!(rows.iter().all(|r| r.len() == len) && block.len() >= chunks * 16 * LANES);
    // SAFETY: every load reads 16 bytes at `m0 < chunks * 16 <= len` of a row of `len` bytes, every
    // store writes 16 bytes below `chunks * 16 * LANES <= block.len()` (asserted above); unaligned
    // loads/stores; SSE2 is always available on x86_64.
    unsafe {
        for c in 0..chunks {
            let m0 = c * 16;
            let a: [__m128i; LANES] =
                std::array::from_fn(
                    |l| _mm_loadu_si128(rows[l].as_ptr().add(m0) as *const __m128i),
                );
            let b0 = _mm_unpacklo_epi8(a[0], a[1]);
            let b1 = _mm_unpackhi_epi8(a[0], a[1]);
            let b2 = _mm_unpacklo_epi8(a[2], a[3]);
            let b3 = _mm_unpackhi_epi8(a[2], a[3]);
            let b4 = _mm_unpacklo_epi8(a[4], a[5]);
            let b5 = _mm_unpackhi_epi8(a[4], a[5]);
            let b6 = _mm_unpacklo_epi8(a[6], a[7]);
            let b7 = _mm_unpackhi_epi8(a[6], a[7]);
            // rows 0-3 of columns 0-3, 4-7, 8-11, 12-15
            let c0 = _mm_unpacklo_epi16(b0, b2);
            let c1 = _mm_unpackhi_epi16(b0, b2);
            let c2 = _mm_unpacklo_epi16(b1, b3);
            let c3 = _mm_unpackhi_epi16(b1, b3);
            // rows 4-7 of the same columns
            let c4 = _mm_unpacklo_epi16(b4, b6);
            let c5 = _mm_unpackhi_epi16(b4, b6);
            let c6 = _mm_unpacklo_epi16(b5, b7);
            let c7 = _mm_unpackhi_epi16(b5, b7);
            let d = [
                _mm_unpacklo_epi32(c0, c4),
                _mm_unpackhi_epi32(c0, c4),
                _mm_unpacklo_epi32(c1, c5),
                _mm_unpackhi_epi32(c1, c5),
                _mm_unpacklo_epi32(c2, c6),
                _mm_unpackhi_epi32(c2, c6),
                _mm_unpacklo_epi32(c3, c7),
                _mm_unpackhi_epi32(c3, c7),
            ];
            let dst = block.as_mut_ptr().add(m0 * LANES);
            for (i, v) in d.iter().enumerate() {
                _mm_storeu_si128(dst.add(i * 16) as *mut __m128i, *v);
            }
        }
    }
    chunks * 16
}

// ------------------------------------------------------------------------------ vertical pass

fn vertical(src: &[u8], row_len: usize, co: &Fixed, out_h: usize, out: &mut [u8]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above)
            unsafe { vertical_avx2(src, row_len, co, out_h, out) };
            return;
        }
    }
    vertical_impl(src, row_len, co, out_h, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn vertical_avx2(src: &[u8], row_len: usize, co: &Fixed, out_h: usize, out: &mut [u8]) {
    vertical_impl(src, row_len, co, out_h, out)
}

/// Output bytes per register-resident accumulator chunk of the vertical pass.
const VCHUNK: usize = 64;

#[inline(always)]
fn vertical_impl(src: &[u8], row_len: usize, co: &Fixed, out_h: usize, out: &mut [u8]) {
    for yy in 0..out_h {
        let (first, k) = co.taps(yy);
        let taps = &src[first * row_len..(first + k.len()) * row_len];
        let orow = &mut out[yy * row_len..(yy + 1) * row_len];
        let mut i0 = 0;
        while i0 + VCHUNK <= row_len {
            let mut acc = [HALF; VCHUNK];
            for (&kt, srow) in k.iter().zip(taps.chunks_exact(row_len)) {
                let s = &srow[i0..i0 + VCHUNK];
                for j in 0..VCHUNK {
                    acc[j] = acc[j].wrapping_add((s[j] as i32).wrapping_mul(kt));
                }
            }
            for j in 0..VCHUNK {
                orow[i0 + j] = clip8(acc[j]);
            }
            i0 += VCHUNK;
        }
        if i0 < row_len {
            let w = row_len - i0;
            let mut acc = [HALF; VCHUNK];
            for (&kt, srow) in k.iter().zip(taps.chunks_exact(row_len)) {
                for (a, &s) in acc[..w].iter_mut().zip(&srow[i0..]) {
                    *a = a.wrapping_add((s as i32).wrapping_mul(kt));
                }
            }
            for (o, &a) in orow[i0..].iter_mut().zip(&acc[..w]) {
                *o = clip8(a);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A straight transcription of Pillow's loops (one pixel, one tap at a time, every row) to
    /// check the blocked/SIMD kernels and the pass order against.
    fn ref_pass(
        src: &[u8],
        w: usize,
        h: usize,
        c: usize,
        o: usize,
        f: Filter,
        horiz: bool,
    ) -> Vec<u8> {
        let (n_in, n_other) = if horiz { (w, h) } else { (h, w) };
        let co = precompute_coeffs(n_in, 0.0, n_in as f32, o, f);
        let k = co.to_fixed();
        let (ow, oh) = if horiz { (o, h) } else { (w, o) };
        let mut out = vec![0u8; ow * oh * c];
        for j in 0..n_other {
            for i in 0..o {
                let (first, n) = co.bounds[i];
                for ch in 0..c {
                    let mut ss = HALF;
                    for t in 0..n {
                        let (x, y) = if horiz {
                            (first + t, j)
                        } else {
                            (j, first + t)
                        };
                        ss += src[(y * w + x) * c + ch] as i32 * k[i * co.ksize + t];
                    }
                    let (x, y) = if horiz { (i, j) } else { (j, i) };
                    out[(y * ow + x) * c + ch] = clip8(ss);
                }
            }
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn reference(
        src: &[u8],
        w: usize,
        h: usize,
        c: usize,
        ow: usize,
        oh: usize,
        f: Filter,
        order: PassOrder,
    ) -> Vec<u8> {
        let mut img = src.to_vec();
        if order.horizontal_first(w, h, ow, oh) {
            if ow != w {
                img = ref_pass(&img, w, h, c, ow, f, true);
            }
            if oh != h {
                img = ref_pass(&img, ow, h, c, oh, f, false);
            }
        } else {
            img = ref_pass(&img, w, h, c, oh, f, false);
            if ow != w {
                img = ref_pass(&img, w, oh, c, ow, f, true);
            }
        }
        img
    }

    fn pseudo_random(n: usize, seed: u64) -> Vec<u8> {
        let mut s = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (s >> 56) as u8
            })
            .collect()
    }

    #[test]
    fn filters_match_pillow_values() {
        assert_eq!(Filter::Box.eval(0.5), 1.0);
        assert_eq!(Filter::Box.eval(-0.5), 0.0);
        assert_eq!(Filter::Bilinear.eval(-0.25), 0.75);
        assert_eq!(Filter::Bicubic.eval(0.0), 1.0);
        assert_eq!(Filter::Bicubic.eval(1.0), 0.0);
        assert_eq!(Filter::Bicubic.eval(1.5), -0.0625);
        assert_eq!(Filter::Lanczos.eval(0.0), 1.0);
        assert_eq!(Filter::Lanczos.eval(3.0), 0.0);
        assert!(Filter::Lanczos.eval(-3.0).abs() < 1e-15); // inside the support, sin(-3π) ≈ 0
        assert_eq!(Filter::Hamming.eval(1.0), 0.0);
        // the float constants: 0.54f + 0.46f is not exactly 1 in double
        let h = Filter::Hamming.eval(1e-9);
        assert!((h - (0.54f32 as f64 + 0.46f32 as f64)).abs() < 1e-12);
        assert_eq!(Filter::from_pillow_id(0), None);
        assert_eq!(Filter::from_pillow_id(2), Some(Filter::Bilinear));
    }

    #[test]
    fn coefficients_halving_bilinear() {
        // 4 → 2 bilinear: scale 2, support 2, centers 1 and 3, taps [0, 3) and [1, 4)
        let c = precompute_coeffs(4, 0.0, 4.0, 2, Filter::Bilinear);
        assert_eq!(c.ksize, 5);
        assert_eq!(c.bounds, vec![(0, 3), (1, 3)]);
        // weights 1-|x-1+0.5|/2 for x = 0,1,2: 0.75, 0.75, 0.25 → /1.75
        let w = &c.weights[..3];
        assert_eq!(w, &[0.75 / 1.75, 0.75 / 1.75, 0.25 / 1.75]);
        let k = c.to_fixed();
        assert_eq!(k[0], (0.5 + 0.75 / 1.75 * 4194304.0) as i32);
        assert_eq!(k[3..5], [0, 0]);
    }

    #[test]
    fn fixed_point_rounds_away_from_zero() {
        let c = Coefficients {
            ksize: 2,
            bounds: vec![(0, 2)],
            weights: vec![-0.1, 1.1],
        };
        assert_eq!(
            c.to_fixed(),
            vec![
                (-0.5 - 0.1 * 4194304.0) as i32,
                (0.5 + 1.1 * 4194304.0) as i32
            ]
        );
    }

    #[test]
    fn hand_cases() {
        // a constant image stays constant under every filter and size
        for f in [
            Filter::Box,
            Filter::Bilinear,
            Filter::Hamming,
            Filter::Bicubic,
            Filter::Lanczos,
        ] {
            let src = vec![77u8; 5 * 7 * 3];
            let out = resample_u8(&src, 5, 7, 3, 3, 11, f, PassOrder::Pillow13).unwrap();
            assert!(out.iter().all(|&v| v == 77), "{f:?}");
        }
        // 2x1 → 1x1 box: the mean, rounded half up ((10 + 21) / 2 = 15.5 → 16)
        assert_eq!(
            resample_u8(&[10, 21], 2, 1, 1, 1, 1, Filter::Box, PassOrder::Pillow13).unwrap(),
            vec![16]
        );
        // same size: a copy
        let src = pseudo_random(4 * 3 * 2, 1);
        assert_eq!(
            resample_u8(&src, 4, 3, 2, 4, 3, Filter::Lanczos, PassOrder::Pillow13).unwrap(),
            src
        );
    }

    #[test]
    fn blocked_kernels_equal_reference() {
        let sizes = [
            (1, 1, 1, 1),
            (1, 1, 5, 3),
            (37, 23, 5, 9),
            (5, 9, 37, 23),
            (40, 3, 7, 5),
            (3, 40, 5, 7),
            (100, 17, 33, 17),
            (33, 17, 100, 17),
            (17, 100, 17, 33),
            (64, 64, 31, 31),
            (36, 31, 32, 16),
            (20, 30, 67, 19),
            (50, 100, 40, 30),
            (4000, 3, 7, 5),
            (3, 4000, 5, 7),
        ];
        for (i, &(w, h, ow, oh)) in sizes.iter().enumerate() {
            for c in 1..=4 {
                let src = pseudo_random(w * h * c, (i * 10 + c) as u64);
                for f in [
                    Filter::Box,
                    Filter::Bilinear,
                    Filter::Hamming,
                    Filter::Bicubic,
                    Filter::Lanczos,
                ] {
                    for order in [PassOrder::Pillow13, PassOrder::HorizontalFirst] {
                        let got = resample_u8(&src, w, h, c, ow, oh, f, order).unwrap();
                        let want = reference(&src, w, h, c, ow, oh, f, order);
                        assert_eq!(got, want, "{w}x{h}x{c} -> {ow}x{oh} {f:?} {order:?}");
                    }
                }
            }
        }
    }

    /// The portable kernels (what a CPU without AVX2 runs) give the bytes the dispatched ones give.
    #[test]
    fn portable_kernels_equal_dispatched() {
        for &(w, h, ow, oh) in &[
            (37, 23, 5, 9),
            (5, 9, 37, 23),
            (100, 17, 33, 40),
            (19, 3, 64, 2),
        ] {
            for f in [Filter::Bilinear, Filter::Lanczos] {
                let hc = Fixed::new(&precompute_coeffs(w, 0.0, w as f32, ow, f));
                let vc = Fixed::new(&precompute_coeffs(h, 0.0, h as f32, oh, f));
                for c in 1..=4 {
                    let src = pseudo_random(w * h * c, (w + c) as u64);
                    let mut portable = vec![0u8; h * ow * c];
                    match c {
                        1 => horizontal_impl::<1, 1>(&src, h, w, &hc, ow, &mut portable),
                        2 => horizontal_impl::<2, 2>(&src, h, w, &hc, ow, &mut portable),
                        3 => horizontal_impl::<3, 3>(&src, h, w, &hc, ow, &mut portable),
                        _ => horizontal_impl::<4, 4>(&src, h, w, &hc, ow, &mut portable),
                    }
                    assert_eq!(portable, horizontal(&src, h, w, c, c, &hc, ow));
                    let mut a = vec![0u8; oh * w * c];
                    let mut b = vec![0u8; oh * w * c];
                    vertical_impl(&src, w * c, &vc, oh, &mut a);
                    vertical(&src, w * c, &vc, oh, &mut b);
                    assert_eq!(a, b);
                }
            }
        }
    }

    /// RGB stored as 4 bytes per pixel (Pillow's layout) gives what the packed RGB gives, whatever
    /// the padding bytes hold.
    #[test]
    fn padded_rgb_equals_packed() {
        for &(w, h, ow, oh) in &[
            (37, 23, 5, 9),
            (5, 9, 37, 23),
            (36, 31, 32, 16),
            (40, 3, 40, 7),
            (9, 9, 4, 9),
            (6, 6, 6, 6),
        ] {
            let padded = pseudo_random(w * h * 4, (w * h) as u64);
            let packed: Vec<u8> = padded
                .chunks_exact(4)
                .flat_map(|p| [p[0], p[1], p[2]])
                .collect();
            for f in [Filter::Bicubic, Filter::Box] {
                for order in [PassOrder::Pillow13, PassOrder::HorizontalFirst] {
                    let want = resample_u8(&packed, w, h, 3, ow, oh, f, order).unwrap();
                    let got = resample_u8_padded(&padded, w, h, 4, 3, ow, oh, f, order).unwrap();
                    assert_eq!(got, want, "{w}x{h} -> {ow}x{oh} {f:?} {order:?}");
                }
            }
            let hc = Fixed::new(&precompute_coeffs(w, 0.0, w as f32, ow, Filter::Lanczos));
            let mut portable = vec![0u8; h * ow * 3];
            horizontal_impl::<3, 4>(&padded, h, w, &hc, ow, &mut portable);
            assert_eq!(portable, horizontal(&packed, h, w, 3, 3, &hc, ow));
        }
        assert!(
            resample_u8_padded(&[0; 8], 2, 1, 4, 2, 1, 1, Filter::Box, PassOrder::Pillow13)
                .is_err()
        );
    }

    #[test]
    fn bad_arguments_are_errors() {
        assert!(resample_u8(&[0; 3], 1, 1, 3, 0, 1, Filter::Box, PassOrder::Pillow13).is_err());
        assert!(resample_u8(&[0; 3], 1, 1, 5, 1, 1, Filter::Box, PassOrder::Pillow13).is_err());
        assert!(resample_u8(&[0; 2], 1, 1, 3, 1, 1, Filter::Box, PassOrder::Pillow13).is_err());
        assert!(resample_u8(&[], 0, 1, 3, 1, 1, Filter::Box, PassOrder::Pillow13).is_err());
    }
}
