//! Stopping criteria (transformers' `MaxLengthCriteria`, `MaxTimeCriteria`,
//! `EosTokenCriteria`, and Transformers.js' `InterruptableStoppingCriteria`).

use super::config::GenerationConfig;
use super::Tokens;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A flag another thread can raise to stop a generation at the next step boundary
/// (`InterruptableStoppingCriteria.interrupt()` / `reset()`). Clones share the flag.
#[derive(Clone, Debug, Default)]
pub struct InterruptFlag(Arc<AtomicBool>);

impl InterruptFlag {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn interrupt(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn reset(&self) {
        self.0.store(false, Ordering::SeqCst);
    }

    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// The criteria `generate()` checks after each appended token.
#[derive(Clone, Debug)]
pub struct StoppingCriteria {
    /// Stop every row once `input_ids.shape[-1] >= max_length`.
    pub max_length: Option<usize>,
    /// Stop every row once more than `max_time` has passed since `start`.
    pub max_time: Option<Duration>,
    pub start: Instant,
    /// Stop a row whose last token is one of these.
    pub eos_token_id: Vec<i64>,
    /// Stop every row once raised.
    pub interrupt: Option<InterruptFlag>,
}

impl StoppingCriteria {
    /// From a resolved config (`max_length` already includes `max_new_tokens`); the clock
    /// starts now.
    pub fn from_config(cfg: &GenerationConfig, interrupt: Option<InterruptFlag>) -> Self {
        StoppingCriteria {
            max_length: Some(cfg.max_length),
            max_time: cfg
                .max_time
                .map(|s| Duration::from_secs_f64(s.clamp(0.0, 1.0e9))),
            start: Instant::now(),
            eos_token_id: cfg.eos_ids().to_vec(),
            interrupt,
        }
    }

    pub fn has_eos(&self) -> bool {
        !self.eos_token_id.is_empty()
    }

    /// Whether every row stops for a reason shared by all rows (length, time, interrupt).
    pub fn all_stop(&self, cur_len: usize) -> bool {
        self.max_length.is_some_and(|m| cur_len >= m)
            || self.max_time.is_some_and(|t| self.start.elapsed() > t)
            || self.interrupt.as_ref().is_some_and(InterruptFlag::is_set)
    }

    /// Per-row flags: `stop[i] = true` where row `i` of `ids` (after the new token) is done.
    pub fn check(&self, ids: Tokens<'_>, stop: &mut [bool]) {
        if self.all_stop(ids.len()) {
            stop.iter_mut().for_each(|s| *s = true);
            return;
        }
        if self.has_eos() && !ids.is_empty() {
            for (i, s) in stop.iter_mut().enumerate().take(ids.rows()) {
                let last = ids.row(i)[ids.len() - 1];
                *s = self.eos_token_id.contains(&last);
            }
        } else {
            stop.iter_mut().for_each(|s| *s = false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_stopping_eos_length_time_interrupt() {
        let cfg = GenerationConfig {
            max_length: 4,
            eos_token_id: Some(vec![2, 7]),
            ..Default::default()
        };
        let flag = InterruptFlag::new();
        let c = StoppingCriteria::from_config(&cfg, Some(flag.clone()));
        let ids = [5, 2, 5, 7, 5, 5];
        let t = Tokens::new(&ids, 3, 2).unwrap();
        let mut stop = [false; 3];
        c.check(t, &mut stop);
        assert_eq!(stop, [true, true, false]);
        let long = [1, 1, 1, 1];
        c.check(Tokens::new(&long, 1, 4).unwrap(), &mut stop[..1]);
        assert!(stop[0]);
        flag.interrupt();
        c.check(t, &mut stop);
        assert_eq!(stop, [true, true, true]);
        flag.reset();
        assert!(!c.all_stop(2));
        let timed = StoppingCriteria {
            max_time: Some(Duration::from_secs(0)),
            start: Instant::now() - Duration::from_millis(5),
            ..c
        };
        assert!(timed.all_stop(2));
    }
}
