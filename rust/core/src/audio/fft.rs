//! Real FFT of any length (400 for Whisper: mixed radix, no power-of-two padding) through
//! `realfft`/`rustfft`. Plans are built once per length and shared process-wide; each worker owns
//! its input/output/scratch buffers and reuses them for every frame.
use super::{AudioError, Result};
use realfft::num_complex::Complex64;
use realfft::{RealFftPlanner, RealToComplex};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

type Plan = Arc<dyn RealToComplex<f64>>;
type PlanCache = Mutex<(RealFftPlanner<f64>, HashMap<usize, Plan>)>;

/// Process-wide plan cache: planning costs far more than one transform, and plans are immutable
/// (`Send + Sync`), so every thread shares them.
fn plan(len: usize) -> Plan {
    static CACHE: OnceLock<PlanCache> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new((RealFftPlanner::new(), HashMap::new())));
    // A poisoned lock only means another thread panicked while planning; the map is still valid.
    let mut guard = cache.lock().unwrap_or_else(|e| e.into_inner());
    let (planner, plans) = &mut *guard;
    plans
        .entry(len)
        .or_insert_with(|| planner.plan_fft_forward(len))
        .clone()
}

/// A real-to-complex FFT of a fixed length with its own reusable buffers.
pub struct RealFft {
    plan: Plan,
    len: usize,
    input: Vec<f64>,
    output: Vec<Complex64>,
    scratch: Vec<Complex64>,
}

impl RealFft {
    pub fn new(len: usize) -> Result<Self> {
        if len == 0 {
            return Err(AudioError::InvalidArgument(
                "fft_length must be at least 1".into(),
            ));
        }
        let plan = plan(len);
        Ok(Self {
            input: plan.make_input_vec(),
            output: plan.make_output_vec(),
            scratch: plan.make_scratch_vec(),
            plan,
            len,
        })
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The input buffer (length `len`). It must be fully rewritten before each `process`:
    /// the transform uses it as scratch space.
    pub fn input_mut(&mut self) -> &mut [f64] {
        &mut self.input
    }

    /// Transforms the input buffer; returns the `len / 2 + 1` non-negative-frequency bins.
    pub fn process(&mut self) -> Result<&[Complex64]> {
        self.plan
            .process_with_scratch(&mut self.input, &mut self.output, &mut self.scratch)
            .map_err(|e| AudioError::InvalidArgument(format!("FFT failed: {e}")))?;
        Ok(&self.output)
    }
}

/// One-shot real FFT (`numpy.fft.rfft`), for tests and occasional use.
pub fn rfft(signal: &[f64]) -> Result<Vec<Complex64>> {
    let mut fft = RealFft::new(signal.len())?;
    fft.input_mut().copy_from_slice(signal);
    Ok(fft.process()?.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_dft(x: &[f64]) -> Vec<Complex64> {
        let n = x.len();
        (0..n / 2 + 1)
            .map(|k| {
                x.iter()
                    .enumerate()
                    .fold(Complex64::new(0.0, 0.0), |acc, (t, &v)| {
                        let angle = -2.0 * std::f64::consts::PI * (k * t % n) as f64 / n as f64;
                        acc + Complex64::new(v * angle.cos(), v * angle.sin())
                    })
            })
            .collect()
    }

    fn signal(n: usize, seed: u64) -> Vec<f64> {
        // xorshift: deterministic pseudo-random samples in [-1, 1)
        let mut s = seed | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn matches_naive_dft_for_many_lengths() {
        // powers of two, Whisper's 400, odd, prime and tiny lengths
        for &n in &[1usize, 2, 3, 5, 8, 16, 97, 256, 400, 512, 441, 1000] {
            let x = signal(n, n as u64 + 7);
            let fast = rfft(&x).unwrap();
            let slow = naive_dft(&x);
            assert_eq!(fast.len(), n / 2 + 1);
            let scale = (n as f64).max(1.0);
            for (a, b) in fast.iter().zip(&slow) {
                assert!((a - b).norm() < 1e-12 * scale, "n={n}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn buffers_are_reusable_and_plans_shared() {
        let mut fft = RealFft::new(400).unwrap();
        for seed in 0..3 {
            let x = signal(400, seed + 1);
            fft.input_mut().copy_from_slice(&x);
            let got = fft.process().unwrap().to_vec();
            assert_eq!(got, rfft(&x).unwrap());
        }
        assert!(Arc::ptr_eq(&plan(400), &plan(400)));
        assert!(RealFft::new(0).is_err());
    }

    #[test]
    fn pure_tone_lands_in_its_bin() {
        let n = 400;
        let x: Vec<f64> = (0..n)
            .map(|t| (2.0 * std::f64::consts::PI * 25.0 * t as f64 / n as f64).cos())
            .collect();
        let spec = rfft(&x).unwrap();
        for (k, c) in spec.iter().enumerate() {
            let expect = if k == 25 { n as f64 / 2.0 } else { 0.0 };
            assert!((c.norm() - expect).abs() < 1e-9, "bin {k}: {c}");
        }
    }
}
