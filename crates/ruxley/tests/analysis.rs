//! Spike features of a real recording (BluePyEfe's cell B6, IDRest sweeps
//! 181-185, bundled in data/ephys): the spike counts in the 2 s step equal
//! those its SOURCE.md lists (26, 50, 68, 82, 89), counted when the data
//! were collected.

use ruxley::analysis::{SpikeDetection, spike_features};

#[test]
fn spike_counts_of_the_b6_recording() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/ephys/bluepyefe_B6_IDRest/B6_IDRest_181-185.csv"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let rows: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').map(|x| x.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 12000);
    let dt = rows[1][0] - rows[0][0];
    assert_eq!(dt, 0.25);
    let expected = [26, 50, 68, 82, 89];
    for (sweep, want) in (181..=185).zip(expected) {
        let column = header
            .iter()
            .position(|h| *h == format!("V_{sweep}_mV"))
            .unwrap();
        let v: Vec<f64> = rows.iter().map(|r| r[column]).collect();
        let f = spike_features(&v, dt, (700.0, 2700.0), &SpikeDetection::default()).unwrap();
        eprintln!(
            "sweep {sweep}: {} spikes ({:.1} Hz), adaptation {:.3}, AP amplitude {:.1} mV, \
             half-width {:.2} ms",
            f.spike_times.len(),
            f.rate_hz,
            f.adaptation_index.unwrap(),
            f.ap_amplitude.unwrap(),
            f.ap_half_width.unwrap()
        );
        assert_eq!(f.spike_times.len(), want, "sweep {sweep}");
        // Nothing fires outside the step.
        let before = spike_features(&v, dt, (0.0, 700.0), &SpikeDetection::default()).unwrap();
        assert!(before.spike_times.is_empty());
    }
}
