//! uint8 HWC pixels → float32 CHW planes through a per-channel 256-entry table, in one pass.
//!
//! The table holds the rescaled/normalized value of every level, computed by the caller with the
//! exact float steps of `transformers` (`ImageProcessor._table`), so a lookup is bit-identical to the
//! per-pixel arithmetic. The destination planes may be a window of a larger (padded) batch: rows
//! and channels have their own strides, columns are contiguous.

use super::ImageError;

/// Where the planes of the output live in the destination slice (strides in f32 elements).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlaneLayout {
    /// distance between the first elements of two consecutive channel planes
    pub channel_stride: usize,
    /// distance between the first elements of two consecutive rows of a plane
    pub row_stride: usize,
}

impl PlaneLayout {
    /// Elements from the first to one past the last one written for `channels × height × width`.
    pub fn extent(&self, channels: usize, height: usize, width: usize) -> Option<usize> {
        if channels == 0 || height == 0 || width == 0 {
            return Some(0);
        }
        (channels - 1)
            .checked_mul(self.channel_stride)?
            .checked_add((height - 1).checked_mul(self.row_stride)?)?
            .checked_add(width)
    }
}

/// `dst[oc][y][x] = table[c][src[y][x][c]]` with `oc = c`, or `channels - 1 - c` when `flip` (RGB →
/// BGR after normalizing, as `do_flip_channel_order`). `table` is `channels × 256`.
#[allow(clippy::too_many_arguments)]
pub fn u8_hwc_to_f32_chw(
    src: &[u8],
    height: usize,
    width: usize,
    channels: usize,
    table: &[f32],
    dst: &mut [f32],
    layout: PlaneLayout,
    flip: bool,
) -> Result<(), ImageError> {
    if channels == 0 || channels > 4 {
        return Err(ImageError::new(format!(
            "to_float supports 1 to 4 channels, got {channels}"
        )));
    }
    if src.len() != height * width * channels {
        return Err(ImageError::new(format!(
            "pixel buffer has {} bytes; {width}x{height} with {channels} channel(s) needs {}",
            src.len(),
            height * width * channels
        )));
    }
    if table.len() != channels * 256 {
        return Err(ImageError::new(format!(
            "the lookup table must be {channels} x 256 float32 values, got {}",
            table.len()
        )));
    }
    let extent = layout
        .extent(channels, height, width)
        .ok_or_else(|| ImageError::new("destination strides overflow"))?;
    if extent > dst.len() {
        return Err(ImageError::new(format!(
            "destination too small: needs {extent} elements, has {}",
            dst.len()
        )));
    }
    if height == 0 || width == 0 {
        return Ok(());
    }
    if width > layout.row_stride && height > 1 {
        return Err(ImageError::new(
            "destination rows overlap (row stride < width)",
        ));
    }
    match channels {
        1 => convert::<1>(src, height, width, table, dst, layout, flip),
        2 => convert::<2>(src, height, width, table, dst, layout, flip),
        3 => convert::<3>(src, height, width, table, dst, layout, flip),
        _ => convert::<4>(src, height, width, table, dst, layout, flip),
    }
    Ok(())
}

fn convert<const C: usize>(
    src: &[u8],
    height: usize,
    width: usize,
    table: &[f32],
    dst: &mut [f32],
    layout: PlaneLayout,
    flip: bool,
) {
    let tables: [&[f32; 256]; C] =
        std::array::from_fn(|c| table[c * 256..c * 256 + 256].try_into().unwrap());
    for (y, srow) in src.chunks_exact(width * C).enumerate().take(height) {
        for (c, t) in tables.iter().enumerate() {
            let oc = if flip { C - 1 - c } else { c };
            let start = oc * layout.channel_stride + y * layout.row_stride;
            let drow = &mut dst[start..start + width];
            // a u8 index into a 256-entry array needs no bounds check
            for (d, px) in drow.iter_mut().zip(srow.chunks_exact(C)) {
                *d = t[px[c] as usize];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_transpose_flip_and_strides() {
        // 2x2 RGB, table[c][v] = 1000 c + v
        let src = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
        let table: Vec<f32> = (0..3)
            .flat_map(|c| (0..256).map(move |v| (1000 * c + v) as f32))
            .collect();
        // destination: 3 planes of 3x4 (padded), the image in the top-left 2x2
        let layout = PlaneLayout {
            channel_stride: 12,
            row_stride: 4,
        };
        let mut dst = vec![-1.0f32; 36];
        u8_hwc_to_f32_chw(&src, 2, 2, 3, &table, &mut dst, layout, false).unwrap();
        assert_eq!(&dst[0..2], &[1.0, 4.0]);
        assert_eq!(&dst[2..4], &[-1.0, -1.0]);
        assert_eq!(&dst[4..6], &[7.0, 10.0]);
        assert_eq!(&dst[12..14], &[1002.0, 1005.0]);
        assert_eq!(&dst[28..30], &[2009.0, 2012.0]);
        let mut dst = vec![0.0f32; 36];
        u8_hwc_to_f32_chw(&src, 2, 2, 3, &table, &mut dst, layout, true).unwrap();
        assert_eq!(&dst[0..2], &[2003.0, 2006.0]); // plane 0 = channel 2
        assert_eq!(&dst[24..26], &[1.0, 4.0]);
    }

    #[test]
    fn bad_arguments() {
        let table = vec![0.0f32; 768];
        let layout = PlaneLayout {
            channel_stride: 4,
            row_stride: 2,
        };
        let mut dst = vec![0.0f32; 12];
        assert!(u8_hwc_to_f32_chw(&[0; 12], 2, 2, 3, &table, &mut dst, layout, false).is_ok());
        assert!(u8_hwc_to_f32_chw(&[0; 11], 2, 2, 3, &table, &mut dst, layout, false).is_err());
        assert!(
            u8_hwc_to_f32_chw(&[0; 12], 2, 2, 3, &table[..700], &mut dst, layout, false).is_err()
        );
        assert!(
            u8_hwc_to_f32_chw(&[0; 12], 2, 2, 3, &table, &mut dst[..11], layout, false).is_err()
        );
        let overlapping = PlaneLayout {
            channel_stride: 4,
            row_stride: 1,
        };
        assert!(
            u8_hwc_to_f32_chw(&[0; 12], 2, 2, 3, &table, &mut dst, overlapping, false).is_err()
        );
    }
}
