//! Stimuli, clamps and recordings.

use ruxley_core::TimeGrid;

/// A time course sampled once per step.
#[derive(Debug, Clone, PartialEq)]
pub enum Waveform {
    /// `amplitude` during the steps whose interval starts in
    /// [delay, delay + duration) (NEURON's IClamp and Jaxley's `step_current`),
    /// off elsewhere.
    Step {
        /// Onset in ms.
        delay: f64,
        /// Duration in ms.
        duration: f64,
        /// Value while on.
        amplitude: f64,
    },
    /// One value per step (step n runs from t_n to t_{n+1}). A shorter series
    /// is off for the remaining steps; extra values are ignored.
    Series(Vec<f64>),
}

impl Waveform {
    /// A step (see [`Waveform::Step`]).
    pub fn step(delay: f64, duration: f64, amplitude: f64) -> Self {
        Self::Step {
            delay,
            duration,
            amplitude,
        }
    }

    /// Checks that every number is finite (for a series: finite or, where
    /// `allow_nan`, NaN) and the step has a non-negative duration.
    pub fn validate(&self, allow_nan: bool) -> Result<(), String> {
        match self {
            Self::Step {
                delay,
                duration,
                amplitude,
            } => {
                if !(delay.is_finite() && duration.is_finite() && amplitude.is_finite()) {
                    return Err(format!(
                        "step ({delay}, {duration}, {amplitude}) is not finite"
                    ));
                }
                if *duration < 0.0 {
                    return Err(format!("step duration {duration} is negative"));
                }
                Ok(())
            }
            Self::Series(v) => match v
                .iter()
                .position(|x| !(x.is_finite() || allow_nan && x.is_nan()))
            {
                Some(k) => Err(format!("series value {} at step {k} is not finite", v[k])),
                None => Ok(()),
            },
        }
    }

    /// The value in each step of `grid`, `off` where the waveform is off.
    pub fn sample(&self, grid: &TimeGrid, off: f64) -> Vec<f64> {
        let n = grid.n_steps();
        match self {
            Self::Step {
                delay,
                duration,
                amplitude,
            } => {
                let mut out = vec![off; n];
                for x in &mut out[grid.steps_in(*delay, delay + duration)] {
                    *x = *amplitude;
                }
                out
            }
            Self::Series(v) => (0..n).map(|k| v.get(k).copied().unwrap_or(off)).collect(),
        }
    }
}

/// What a recording measures at its compartment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observable {
    /// Membrane voltage (mV).
    Voltage,
    /// A channel state, by full name (`HH_m`).
    State(String),
    /// A channel's membrane current density (mA/cm2), by channel name
    /// (recorded as `i_<name>`).
    Current(String),
    /// A state of one synapse, by full name (`IonotropicSynapse_s`).
    SynapseState {
        /// The state.
        name: String,
        /// The synapse id.
        synapse: usize,
    },
}

impl Observable {
    /// Parses `v`, `i_<channel>` or a state name.
    pub fn parse(s: &str) -> Self {
        if s == "v" {
            Self::Voltage
        } else if let Some(ch) = s.strip_prefix("i_") {
            Self::Current(ch.to_string())
        } else {
            Self::State(s.to_string())
        }
    }

    /// The name as written by the user (`v`, `HH_m`, `i_HH`).
    pub fn name(&self) -> String {
        match self {
            Self::Voltage => "v".into(),
            Self::State(s) | Self::SynapseState { name: s, .. } => s.clone(),
            Self::Current(c) => format!("i_{c}"),
        }
    }

    /// The unit of the recorded values.
    pub fn unit(&self) -> &'static str {
        match self {
            Self::Voltage => "mV",
            Self::State(_) | Self::SynapseState { .. } => "",
            Self::Current(_) => "mA/cm2",
        }
    }
}

/// A recording: an observable at one compartment, with a label.
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    /// Global compartment index.
    pub comp: usize,
    /// What is recorded.
    pub observable: Observable,
    /// The label of the site (e.g. `soma`, `b2_c2`).
    pub label: String,
    /// The column name in traces, if given instead of the default one.
    pub column: Option<String>,
}

/// A current injection (nA) at one compartment.
#[derive(Debug, Clone, PartialEq)]
pub struct Stimulus {
    /// Global compartment index.
    pub comp: usize,
    /// The current in nA (positive depolarises).
    pub current: Waveform,
}

/// An ideal voltage clamp at one compartment: while on, the compartment's
/// voltage at the end of each step equals the waveform's value.
#[derive(Debug, Clone, PartialEq)]
pub struct Clamp {
    /// Global compartment index.
    pub comp: usize,
    /// The command voltage in mV; off where NaN (series) or outside the step.
    pub voltage: Waveform,
}
