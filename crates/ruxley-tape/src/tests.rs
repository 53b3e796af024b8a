//! The tape on a toy system: a damped rotation with a parameter.

use proptest::prelude::*;

use super::*;

/// x_{k+1} = R(theta) x_k * (1 - 0.01 k mod 3), theta a parameter; tracks
/// d/dtheta and records the states it reverses through.
struct Spin {
    theta: f64,
    grad_theta: f64,
    reversed: Vec<(usize, [f64; 2])>,
}

fn rot(theta: f64, k: usize, x: [f64; 2]) -> [f64; 2] {
    let damp = 1.0 - 0.01 * (k % 3) as f64;
    let (s, c) = theta.sin_cos();
    [damp * (c * x[0] - s * x[1]), damp * (s * x[0] + c * x[1])]
}

impl Reversible for Spin {
    type State = [f64; 2];
    type Cotangent = [f64; 2];
    fn forward(&mut self, k: usize, x: &mut [f64; 2]) {
        *x = rot(self.theta, k, *x);
    }
    fn reverse(&mut self, k: usize, x: &[f64; 2], after: Option<&[f64; 2]>, cot: &mut [f64; 2]) {
        self.reversed.push((k, *x));
        if let Some(a) = after {
            assert_eq!(*a, rot(self.theta, k, *x), "the state after step {k}");
        }
        let damp = 1.0 - 0.01 * (k % 3) as f64;
        let (s, c) = self.theta.sin_cos();
        // d/dtheta of the step, and the transpose of its Jacobian in x.
        let dx = [damp * (-s * x[0] - c * x[1]), damp * (c * x[0] - s * x[1])];
        self.grad_theta += cot[0] * dx[0] + cot[1] * dx[1];
        *cot = [
            damp * (c * cot[0] + s * cot[1]),
            damp * (-s * cot[0] + c * cot[1]),
        ];
    }
    fn state_bytes(&self, _: &[f64; 2]) -> usize {
        16
    }
}

/// Loss sum_k w_k . x_k with w_k = (cos k, sin 2k); returns (loss, dL/dtheta, seeds seen, system, stats).
fn run(theta: f64, n: usize, schedule: &Schedule) -> (f64, f64, Vec<usize>, Spin, Stats) {
    let w = |k: usize| [(k as f64).cos(), (2.0 * k as f64).sin()];
    let mut sys = Spin {
        theta,
        grad_theta: 0.0,
        reversed: Vec::new(),
    };
    let mut loss = 0.0;
    let tape = forward(&mut sys, &[1.0, 0.5], n, schedule, |k, x| {
        loss += w(k)[0] * x[0] + w(k)[1] * x[1]
    })
    .unwrap();
    let mut seeds = Vec::new();
    let mut cot = [0.0, 0.0];
    let stats = reverse(
        &mut sys,
        tape,
        |k, c| {
            seeds.push(k);
            c[0] += w(k)[0];
            c[1] += w(k)[1];
        },
        &mut cot,
    );
    (loss, sys.grad_theta, seeds, sys, stats)
}

fn schedules(n: usize) -> Vec<Schedule> {
    vec![
        Schedule::StoreAll,
        Schedule::Uniform(1),
        Schedule::Uniform(7),
        Schedule::Uniform(n + 3),
        Schedule::Nested(vec![4, 5]),
        Schedule::Nested(vec![2, 3, 4]),
        Schedule::sqrt(n),
        Schedule::Revolve(1),
        Schedule::Revolve(2),
        Schedule::Revolve(5),
        Schedule::Revolve(n + 1),
    ]
}

#[test]
fn every_schedule_gives_the_same_gradient_and_matches_finite_differences() {
    for n in [0, 1, 2, 19, 64] {
        let (loss, grad, _, _, _) = run(0.3, n, &Schedule::StoreAll);
        let h = 1e-6;
        let fd = (run(0.3 + h, n, &Schedule::StoreAll).0 - run(0.3 - h, n, &Schedule::StoreAll).0)
            / (2.0 * h);
        assert!(
            (grad - fd).abs() <= 1e-7 * fd.abs().max(1.0),
            "n {n}: {grad} vs {fd}"
        );
        for s in schedules(n) {
            let (l, g, seeds, sys, stats) = run(0.3, n, &s);
            assert_eq!(l, loss);
            assert_eq!(g, grad, "{s:?}, n {n}");
            assert_eq!(
                seeds,
                (0..=n).rev().collect::<Vec<_>>(),
                "{s:?}: seed order"
            );
            // Every step reversed once, in order, at its true state.
            let ks: Vec<usize> = sys.reversed.iter().map(|r| r.0).collect();
            assert_eq!(ks, (0..n).rev().collect::<Vec<_>>(), "{s:?}");
            let mut x = [1.0, 0.5];
            let mut truth = Vec::new();
            for k in 0..n {
                truth.push((k, x));
                x = rot(0.3, k, x);
            }
            truth.reverse();
            assert_eq!(sys.reversed, truth, "{s:?}");
            assert_eq!(stats.reversed_steps, n);
        }
    }
}

#[test]
fn schedules_trade_memory_for_recomputation() {
    let n = 400;
    let (_, _, _, _, all) = run(0.3, n, &Schedule::StoreAll);
    assert_eq!(all.recomputed_steps, 0);
    // Every state before a step, and the final one.
    assert_eq!(all.peak_states, n + 1);
    let (_, _, _, _, nested) = run(0.3, n, &Schedule::Nested(vec![20, 20]));
    assert!(nested.recomputed_steps <= n, "{nested:?}");
    assert!(nested.peak_states <= 20 + 20 + 1, "{nested:?}");
    let (_, _, _, _, three) = run(0.3, n, &Schedule::Nested(vec![8, 8, 8]));
    assert!(three.peak_states <= 7 + 8 + 8 + 2, "{three:?}");
    assert!(three.recomputed_steps <= 2 * n, "{three:?}");
    let (_, _, _, _, rev) = run(0.3, n, &Schedule::Revolve(10));
    assert!(rev.peak_states <= 10 + 1, "{rev:?}");
    // Binomial bound: with 9 free slots, C(9 + t, 9) >= 400 first for t = 4,
    // so every step is recomputed at most 4 times.
    assert!(rev.recomputed_steps <= 4 * n, "{rev:?}");
    let (_, _, _, _, tight) = run(0.3, n, &Schedule::Revolve(3));
    assert!(
        tight.peak_states <= 4 && tight.recomputed_steps > rev.recomputed_steps,
        "{tight:?}"
    );
}

#[test]
fn invalid_schedules_are_errors() {
    let mut sys = Spin {
        theta: 0.1,
        grad_theta: 0.0,
        reversed: Vec::new(),
    };
    for s in [
        Schedule::Uniform(0),
        Schedule::Nested(vec![]),
        Schedule::Nested(vec![3, 0]),
        Schedule::Revolve(0),
    ] {
        assert!(
            forward(&mut sys, &[1.0, 0.0], 5, &s, |_, _| {}).is_err(),
            "{s:?}"
        );
    }
}

/// A random schedule for `n` steps.
fn any_schedule(n: usize) -> impl Strategy<Value = Schedule> {
    prop_oneof![
        Just(Schedule::StoreAll),
        (1..n + 5).prop_map(Schedule::Uniform),
        proptest::collection::vec(1usize..12, 1..4).prop_map(Schedule::Nested),
        (1..n + 3).prop_map(Schedule::Revolve),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Whatever the schedule and length: the same loss and gradient bits as
    /// storing everything, every step reversed once, in order, at its true
    /// state, and Revolve within its slots.
    #[test]
    fn any_schedule_reverses_every_state_exactly(
        (n, s) in (0usize..300).prop_flat_map(|n| (Just(n), any_schedule(n)))
    ) {
        let (loss, grad, _, _, _) = run(0.3, n, &Schedule::StoreAll);
        let (l, g, seeds, sys, stats) = run(0.3, n, &s);
        prop_assert_eq!(l.to_bits(), loss.to_bits());
        prop_assert_eq!(g.to_bits(), grad.to_bits());
        prop_assert_eq!(seeds, (0..=n).rev().collect::<Vec<_>>());
        let ks: Vec<usize> = sys.reversed.iter().map(|r| r.0).collect();
        prop_assert_eq!(ks, (0..n).rev().collect::<Vec<_>>());
        let mut x = [1.0, 0.5];
        for k in 0..n {
            let got = sys.reversed[n - 1 - k].1;
            prop_assert_eq!(got, x, "step {}", k);
            x = rot(0.3, k, x);
        }
        prop_assert_eq!(stats.reversed_steps, n);
        if let Schedule::Revolve(slots) = s {
            prop_assert!(stats.peak_states <= slots + 1, "{:?}", stats);
        }
    }
}
