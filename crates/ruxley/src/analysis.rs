//! Analysis of recorded traces: spike times and the features
//! electrophysiologists compare a model with a recording by (spike count,
//! firing rate, adaptation, action-potential amplitude and width), in the
//! spirit of eFEL's definitions.

/// Times (ms) at which `v` crosses `threshold` upwards, linearly
/// interpolated between samples taken every `dt` ms from t = 0.
pub fn spike_times(v: &[f64], dt: f64, threshold: f64) -> Vec<f64> {
    (0..v.len().saturating_sub(1))
        .filter_map(|k| rising(v, k, threshold))
        .map(|x| x * dt)
        .collect()
}

/// Where `v` crosses `level` upwards between samples k and k + 1, as a
/// linearly interpolated fractional sample index.
fn rising(v: &[f64], k: usize, level: f64) -> Option<f64> {
    (v[k] < level && v[k + 1] >= level).then(|| k as f64 + (level - v[k]) / (v[k + 1] - v[k]))
}

/// Why features cannot be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FeatureError {
    /// A sample is NaN or infinite.
    #[error("voltage sample {index} is {value}")]
    NonFinite {
        /// Its index.
        index: usize,
        /// Its value.
        value: f64,
    },
    /// The settings make no sense.
    #[error("{0}")]
    Invalid(String),
}

/// How spikes are found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpikeDetection {
    /// A spike crosses this voltage upwards (mV).
    pub threshold: f64,
    /// Its onset is where the voltage's slope last rose above this before
    /// the crossing (mV/ms).
    pub onset_slope: f64,
}

impl Default for SpikeDetection {
    /// 0 mV and 10 mV/ms.
    fn default() -> Self {
        Self {
            threshold: 0.0,
            onset_slope: 10.0,
        }
    }
}

/// Features of a voltage trace in a time window.
#[derive(Debug, Clone, PartialEq)]
pub struct SpikeFeatures {
    /// Spike times (ms) inside the window.
    pub spike_times: Vec<f64>,
    /// Spikes per second over the window.
    pub rate_hz: f64,
    /// Mean over consecutive inter-spike intervals of
    /// (ISI_k+1 - ISI_k) / (ISI_k+1 + ISI_k): positive when firing slows
    /// (needs 3 spikes).
    pub adaptation_index: Option<f64>,
    /// Mean peak voltage minus onset voltage (mV).
    pub ap_amplitude: Option<f64>,
    /// Mean width (ms) at half the amplitude above the onset voltage.
    pub ap_half_width: Option<f64>,
}

/// The features of `v` (sampled every `dt` ms from t = 0) in the window
/// `[start, end)` ms.
pub fn spike_features(
    v: &[f64],
    dt: f64,
    window: (f64, f64),
    detection: &SpikeDetection,
) -> Result<SpikeFeatures, FeatureError> {
    if let Some((index, &value)) = v.iter().enumerate().find(|(_, x)| !x.is_finite()) {
        return Err(FeatureError::NonFinite { index, value });
    }
    let (start, end) = window;
    let span = v.len().saturating_sub(1) as f64 * dt;
    if !(dt > 0.0 && start < end && start >= 0.0 && end.is_finite() && start < span) {
        return Err(FeatureError::Invalid(format!(
            "need dt > 0 and a window 0 <= start < end with start inside the trace (dt {dt}, \
             window {start}..{end}, trace {span} ms)"
        )));
    }
    // Crossings between samples k and k + 1 with k dt < end; the spike's
    // peak and width may lie beyond the window.
    let first = (start / dt).floor() as usize;
    let last = ((end / dt).ceil() as usize).min(v.len() - 1);
    let mut times = Vec::new();
    let (mut amplitudes, mut widths) = (Vec::new(), Vec::new());
    let theta = detection.threshold;
    for k in first..last {
        let Some(x) = rising(v, k, theta) else {
            continue;
        };
        let t = x * dt;
        if t < start || t >= end {
            continue;
        }
        times.push(t);
        // The peak: the largest sample before the voltage falls below threshold.
        let fall = (k + 1..v.len()).find(|&j| v[j] < theta).unwrap_or(v.len());
        let peak = (k + 1..fall).fold(k + 1, |best, j| if v[j] > v[best] { j } else { best });
        // The onset: walk back while the slope stays above onset_slope.
        let mut onset = k;
        while onset > 0 && (v[onset] - v[onset - 1]) / dt > detection.onset_slope {
            onset -= 1;
        }
        let amplitude = v[peak] - v[onset];
        amplitudes.push(amplitude);
        // Width at half amplitude, crossings interpolated.
        let half = v[onset] + 0.5 * amplitude;
        let up = (onset..peak).find_map(|j| rising(v, j, half));
        let down = (peak..v.len() - 1).find(|&j| v[j] >= half && v[j + 1] < half);
        if let (Some(t_up), Some(d)) = (up, down) {
            let t_down = d as f64 + (v[d] - half) / (v[d] - v[d + 1]);
            widths.push((t_down - t_up) * dt);
        }
    }
    let mean = |x: &[f64]| (!x.is_empty()).then(|| x.iter().sum::<f64>() / x.len() as f64);
    let isis: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    let ratios: Vec<f64> = isis
        .windows(2)
        .map(|w| (w[1] - w[0]) / (w[1] + w[0]))
        .collect();
    Ok(SpikeFeatures {
        rate_hz: times.len() as f64 / ((end.min(span) - start) * 1e-3),
        adaptation_index: mean(&ratios),
        ap_amplitude: mean(&amplitudes),
        ap_half_width: mean(&widths),
        spike_times: times,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn crossings_are_interpolated() {
        let v = [-70.0, -10.0, 10.0, 30.0, -5.0, 5.0];
        assert_eq!(super::spike_times(&v, 0.5, 0.0), vec![0.75, 2.25]);
    }

    /// Triangular spikes starting at `starts` (ms): from -70 mV up 100 mV in
    /// 1 ms, down again in 2 ms; sampled every 0.01 ms for `t` ms.
    fn triangles(starts: &[f64], t: f64) -> Vec<f64> {
        let dt = 0.01;
        (0..=(t / dt).round() as usize)
            .map(|i| {
                let t = i as f64 * dt;
                starts
                    .iter()
                    .map(|&s| {
                        let x = t - s;
                        if (0.0..1.0).contains(&x) {
                            100.0 * x
                        } else if (1.0..3.0).contains(&x) {
                            100.0 - 50.0 * (x - 1.0)
                        } else {
                            0.0
                        }
                    })
                    .sum::<f64>()
                    - 70.0
            })
            .collect()
    }

    #[test]
    fn features_of_known_spikes() {
        use super::{SpikeDetection, spike_features};
        // ISIs 10, 15, 20 ms: adaptation ((15-10)/25 + (20-15)/35) / 2.
        let v = triangles(&[10.0, 20.0, 35.0, 55.0], 100.0);
        let f = spike_features(&v, 0.01, (0.0, 100.0), &SpikeDetection::default()).unwrap();
        let crossings = [10.7, 20.7, 35.7, 55.7];
        assert_eq!(f.spike_times.len(), 4);
        for (t, c) in f.spike_times.iter().zip(crossings) {
            assert!((t - c).abs() < 1e-9, "{t} vs {c}");
        }
        assert!((f.rate_hz - 40.0).abs() < 1e-9);
        let adaptation = (5.0 / 25.0 + 5.0 / 35.0) / 2.0;
        assert!((f.adaptation_index.unwrap() - adaptation).abs() < 1e-9);
        // Onset at -70 mV, peak +30 mV; half level -20 mV is crossed at 0.5 ms
        // on the way up and at 2 ms on the way down.
        assert!((f.ap_amplitude.unwrap() - 100.0).abs() < 1e-9);
        assert!((f.ap_half_width.unwrap() - 1.5).abs() < 1e-9);
        // A window keeps the spikes that cross inside it.
        let f = spike_features(&v, 0.01, (15.0, 50.0), &SpikeDetection::default()).unwrap();
        assert_eq!(f.spike_times.len(), 2);
        assert!((f.rate_hz - 2.0 / 0.035).abs() < 1e-9);
        assert_eq!(f.adaptation_index, None);
        // A window ending just after a crossing keeps that spike whole.
        let f = spike_features(&v, 0.01, (0.0, 10.705), &SpikeDetection::default()).unwrap();
        assert_eq!(f.spike_times.len(), 1);
        assert!((f.ap_amplitude.unwrap() - 100.0).abs() < 1e-9);
        assert!((f.ap_half_width.unwrap() - 1.5).abs() < 1e-9);
        let f = spike_features(&v, 0.01, (0.0, 10.695), &SpikeDetection::default()).unwrap();
        assert!(f.spike_times.is_empty());
    }

    #[test]
    fn no_spikes_and_bad_input() {
        use super::{FeatureError, SpikeDetection, spike_features};
        let flat = vec![-65.0; 1000];
        let f = spike_features(&flat, 0.025, (0.0, 25.0), &SpikeDetection::default()).unwrap();
        assert!(f.spike_times.is_empty());
        assert_eq!(
            (f.rate_hz, f.ap_amplitude, f.ap_half_width),
            (0.0, None, None)
        );
        let mut bad = triangles(&[5.0], 20.0);
        bad[700] = f64::NAN;
        let err = spike_features(&bad, 0.01, (0.0, 20.0), &SpikeDetection::default());
        assert!(
            matches!(err, Err(FeatureError::NonFinite { index: 700, .. })),
            "{err:?}"
        );
        for window in [(10.0, 5.0), (30.0, 40.0)] {
            let err = spike_features(&flat, 0.025, window, &SpikeDetection::default());
            assert!(matches!(err, Err(FeatureError::Invalid(_))), "{err:?}");
        }
        let err = spike_features(&[], 0.025, (0.0, 1.0), &SpikeDetection::default());
        assert!(matches!(err, Err(FeatureError::Invalid(_))), "{err:?}");
    }
}
