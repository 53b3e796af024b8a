//! The evidence network: its wiring, the trials, the ideal observer, exact
//! gradients in all 109 conductances and a short training run.

use evidence::{
    BASE, Config, DT, GAIN, N_CELLS, STRENGTHS, ideal_accuracy, ideal_choice, network, readout,
    run, trial, trials,
};
use rand::SeedableRng;
use ruxley::cpu::CpuBackend;
use ruxley::train::{TrainOptions, evaluate, value_and_grad};
use ruxley::{RunOptions, Schedule, Waveform};
use ruxley_conformance::fdcheck::worst_deviation;

#[test]
fn the_network_has_109_trainable_conductances_half_of_them_inhibitory_by_their_source() {
    let (net, parts) = network(7).unwrap();
    assert_eq!(net.n_comps(), 3 * N_CELLS + 3);
    assert_eq!(net.n_synapses(), 109);
    let layout = net.build().unwrap();
    assert_eq!(layout.trainables().len(), 109);
    assert_eq!(parts.somas.len(), N_CELLS);
    assert_eq!(layout.probes().len(), 2);
    // A synapse from an inhibitory cell (10-19) reverses at -80 mV, any other
    // (the input, excitatory cells) at 0 mV.
    let syn = &layout.synapses()[0];
    let e_syn = layout
        .parameters()
        .get("IonotropicSynapse_e_syn")
        .expect("a block of reversal potentials");
    assert_eq!(e_syn.len(), 109);
    let comp_of_node = layout.comp_of_node();
    let mut inhibitory = 0;
    for (row, &pre) in syn.pre.iter().enumerate() {
        let comp = comp_of_node[pre as usize] as usize;
        let from_inhibitory = parts.somas[N_CELLS / 2..].contains(&comp);
        inhibitory += usize::from(from_inhibitory);
        let expected = if from_inhibitory { -80.0 } else { 0.0 };
        assert_eq!(
            e_syn[row], expected,
            "synapse {row} from compartment {comp}"
        );
    }
    // Half of the 40 readout synapses, and the recurrent ones from cells
    // 10-19 (those whose presynaptic compartment is an inhibitory soma).
    let recurrent_inhibitory = syn.pre[N_CELLS..N_CELLS + 49]
        .iter()
        .filter(|&&pre| parts.somas[N_CELLS / 2..].contains(&(comp_of_node[pre as usize] as usize)))
        .count();
    assert!(
        recurrent_inhibitory > 10 && recurrent_inhibitory < 40,
        "{recurrent_inhibitory}"
    );
    assert_eq!(inhibitory, 20 + recurrent_inhibitory);
}

#[test]
fn trials_hold_noisy_evidence_around_their_mean() {
    let layout = network(7).unwrap().0.build().unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let t = trial(&layout, 0.4, 100.0, &mut rng);
    assert_eq!(t.label, 1);
    let Waveform::Series(i) = &t.stimuli[0].current else {
        panic!("a series")
    };
    assert_eq!(i.len(), 4000);
    // Held for 40 steps (1 ms), then redrawn.
    assert!(i.chunks(40).all(|c| c.iter().all(|x| *x == c[0])));
    assert!(
        i.chunks(40)
            .zip(i.chunks(40).skip(1))
            .all(|(a, b)| a[0] != b[0])
    );
    // 100 draws of sd GAIN: the mean is within 4 standard errors.
    let mean = i.iter().sum::<f64>() / i.len() as f64;
    let expected = BASE + GAIN * 0.4;
    assert!(
        (mean - expected).abs() < 4.0 * GAIN / 10.0,
        "{mean} vs {expected}"
    );
    assert_eq!(trial(&layout, -0.1, 10.0, &mut rng).label, 0);
    // Reproducible by seed, strengths in turn with random signs: over 10,000
    // draws each trial's mean is within 4 standard errors (0.04) of its own
    // strength, closer than the 0.05 halfway to the next one.
    let set = trials(&layout, 8, 10_000.0, 5);
    assert_eq!(set, trials(&layout, 8, 10_000.0, 5));
    assert_ne!(set, trials(&layout, 8, 10_000.0, 6));
    for (k, s) in set.iter().enumerate() {
        let Waveform::Series(i) = &s.stimuli[0].current else {
            panic!("a series")
        };
        let mu = (i.iter().sum::<f64>() / i.len() as f64 - BASE) / GAIN;
        let strength = STRENGTHS[k % STRENGTHS.len()];
        let signed = if s.label == 1 { strength } else { -strength };
        assert!(
            (mu - signed).abs() < 4.0 / 100.0,
            "trial {k}: {mu} vs {signed}"
        );
    }
}

#[test]
fn the_ideal_observer_is_the_normal_cdf_of_the_summed_evidence() {
    // Phi(1) = 0.841345 and Phi(2) = 0.977250 (tables).
    assert!((ideal_accuracy(0.1, 100.0) - 0.841_345).abs() < 1e-6);
    assert!((ideal_accuracy(-0.2, 100.0) - 0.977_250).abs() < 1e-6);
    assert_eq!(ideal_accuracy(0.0, 500.0), 0.5);
    assert!((ideal_choice(-0.1, 100.0) - (1.0 - 0.841_345)).abs() < 1e-6);
}

#[test]
fn gradients_in_all_109_conductances_equal_finite_differences() {
    let layout = network(7).unwrap().0.build().unwrap();
    let samples = trials(&layout, 2, 20.0, 11);
    let options = RunOptions::new(DT, 20.0);
    let backend = CpuBackend::new();
    let theta = layout.trainables().initial();
    let r = readout(20.0);
    let loss = |t: &[f64]| {
        evaluate(&backend, &layout, t, &samples, &options, &r)
            .unwrap()
            .loss
    };
    let (_, grad) = value_and_grad(
        &backend,
        &layout,
        &theta,
        &samples,
        &options,
        &r,
        &Schedule::sqrt(800),
    )
    .unwrap();
    let worst = worst_deviation(&loss, &theta, &grad, 1e-3, 1e-4);
    eprintln!("worst relative deviation {worst:e}");
    // Achieved: 1.4e-7.
    assert!(worst <= 1e-6, "{worst}");
}

#[test]
fn a_short_run_learns_the_sign() {
    let config = Config {
        n_train: 256,
        n_test: 64,
        epochs: 1,
        per_level: 2,
        ..Config::default_run()
    };
    let o = run(&config, &TrainOptions::default()).unwrap();
    let e = &o.report.epochs;
    eprintln!(
        "{:?}",
        e.iter()
            .map(|r| (r.test_loss, r.test_accuracy))
            .collect::<Vec<_>>()
    );
    // Achieved: loss 0.693 -> 0.562, accuracy 45 % -> 94 % in 8 steps.
    let last = e.last().unwrap();
    assert!(
        last.test_loss < 0.9 * e[0].test_loss && last.test_accuracy > 0.75,
        "{e:?}"
    );
    // 17 levels from -0.8 to 0.8; the ideal observer is at 1/2 at mu = 0.
    assert_eq!(o.psychometric.len(), 17);
    assert_eq!((o.psychometric[8].0, o.psychometric[8].2), (0.0, 0.5));
}
