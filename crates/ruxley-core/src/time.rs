//! The fixed time grid t_n = n dt, n = 0..=n_steps.

use std::fmt;

/// A fixed-step time grid from t = 0 to t_max inclusive.
///
/// A run of `n_steps` steps yields `n_steps + 1` samples; sample 0 is the
/// initial state. Step n advances from t_n to t_{n+1}.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeGrid {
    dt: f64,
    n_steps: usize,
}

/// Why a time grid could not be built.
#[derive(Debug, Clone, PartialEq)]
pub enum TimeGridError {
    /// dt is zero, negative, NaN or infinite.
    InvalidDt(f64),
    /// t_max is negative, NaN or infinite.
    InvalidTMax(f64),
    /// t_max / dt steps would exceed the limit.
    TooManySteps(f64),
}

impl fmt::Display for TimeGridError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidDt(dt) => write!(f, "time step dt = {dt} ms must be positive and finite"),
            Self::InvalidTMax(t) => {
                write!(f, "t_max = {t} ms must be non-negative and finite")
            }
            Self::TooManySteps(n) => write!(f, "t_max / dt = {n} steps is more than 2^40"),
        }
    }
}

impl std::error::Error for TimeGridError {}

/// Index n of the first grid point t_n >= t, treating t/dt within 1e-9
/// (relative) of an integer as that integer, so that 1.0 / 0.025 is 40.
pub fn grid_index(t: f64, dt: f64) -> f64 {
    let x = t / dt;
    let r = x.round();
    if (x - r).abs() <= 1e-9 * r.abs().max(1.0) {
        r
    } else {
        x.ceil()
    }
}

impl TimeGrid {
    /// The grid with step `dt` covering [0, t_max]: n_steps is t_max/dt rounded
    /// when within 1e-9 of an integer, otherwise rounded up.
    pub fn new(dt: f64, t_max: f64) -> Result<Self, TimeGridError> {
        if !(dt.is_finite() && dt > 0.0) {
            return Err(TimeGridError::InvalidDt(dt));
        }
        if !(t_max.is_finite() && t_max >= 0.0) {
            return Err(TimeGridError::InvalidTMax(t_max));
        }
        let n = grid_index(t_max, dt);
        if n > (1u64 << 40) as f64 {
            return Err(TimeGridError::TooManySteps(n));
        }
        Ok(Self {
            dt,
            n_steps: n as usize,
        })
    }

    /// The step size in ms.
    pub fn dt(&self) -> f64 {
        self.dt
    }

    /// The number of steps.
    pub fn n_steps(&self) -> usize {
        self.n_steps
    }

    /// The number of samples, `n_steps + 1`.
    pub fn n_samples(&self) -> usize {
        self.n_steps + 1
    }

    /// The time of sample n in ms.
    pub fn time(&self, n: usize) -> f64 {
        n as f64 * self.dt
    }

    /// The final time n_steps * dt.
    pub fn t_end(&self) -> f64 {
        self.time(self.n_steps)
    }

    /// The steps n whose interval [t_n, t_{n+1}) starts inside [t0, t1): the
    /// convention of NEURON's IClamp and Jaxley's `step_current`.
    pub fn steps_in(&self, t0: f64, t1: f64) -> std::ops::Range<usize> {
        let clamp = |x: f64| x.max(0.0).min(self.n_steps as f64) as usize;
        let a = clamp(grid_index(t0, self.dt));
        let b = clamp(grid_index(t1, self.dt));
        a..b.max(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchor_grids_have_the_expected_sample_counts() {
        assert_eq!(TimeGrid::new(0.025, 20.0).unwrap().n_samples(), 801);
        assert_eq!(TimeGrid::new(0.025, 5.0).unwrap().n_steps(), 200);
        assert_eq!(TimeGrid::new(0.025, 100.0).unwrap().n_steps(), 4000);
        assert_eq!(TimeGrid::new(0.1, 0.25).unwrap().n_steps(), 3);
        assert_eq!(TimeGrid::new(0.1, 0.0).unwrap().n_samples(), 1);
    }

    #[test]
    fn step_current_window_matches_neuron_iclamp() {
        let g = TimeGrid::new(0.025, 20.0).unwrap();
        assert_eq!(g.steps_in(1.0, 19.0), 40..760);
        assert_eq!(g.steps_in(-5.0, 100.0), 0..800);
        assert_eq!(g.steps_in(5.0, 1.0), 200..200);
    }

    #[test]
    fn invalid_inputs_are_errors() {
        assert!(matches!(
            TimeGrid::new(0.0, 1.0),
            Err(TimeGridError::InvalidDt(_))
        ));
        assert!(matches!(
            TimeGrid::new(-1.0, 1.0),
            Err(TimeGridError::InvalidDt(_))
        ));
        assert!(matches!(
            TimeGrid::new(f64::NAN, 1.0),
            Err(TimeGridError::InvalidDt(_))
        ));
        assert!(matches!(
            TimeGrid::new(0.1, -1.0),
            Err(TimeGridError::InvalidTMax(_))
        ));
        assert!(matches!(
            TimeGrid::new(1e-30, 1.0),
            Err(TimeGridError::TooManySteps(_))
        ));
    }
}
