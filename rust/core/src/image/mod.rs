//! Image kernels for the vision preprocessing path: a pixel-exact port of Pillow's 8-bit
//! convolution resampling ([`resample`]) and the fused uint8 → float32 lookup/transposition that
//! turns resized HWC pixels into (a slice of) the CHW model input ([`convert`]).
pub mod convert;
pub mod resample;

pub use convert::{u8_hwc_to_f32_chw, PlaneLayout};
pub use resample::{
    precompute_coeffs, resample_u8, resample_u8_padded, Coefficients, Filter, PassOrder,
};

/// Invalid arguments to an image kernel (bad sizes, unknown filter, short buffers).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ImageError(pub String);

impl ImageError {
    pub(crate) fn new(msg: impl Into<String>) -> Self {
        ImageError(msg.into())
    }
}
