//! Checks a channel's reverse-mode derivatives against central finite
//! differences of its forward kernels. Use it in the tests of every channel.
//!
//! For each kernel y = f(v, params, states) and a pseudo-random cotangent c
//! and direction d, the identity c . (J d) = (J^T c) . d must hold, with J d
//! from central differences and J^T c from the channel's VJP.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::channel::{Channel, ChannelEnv, ChannelKernels, Columns, ColumnsMut, Cot};
use crate::compiled::CompiledChannel;
use crate::dual::LANES;

/// One compartment's inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Voltage (mV).
    pub v: f64,
    /// Parameter values, in spec order.
    pub params: Vec<f64>,
    /// State values, in spec order.
    pub states: Vec<f64>,
    /// Ion input values, in [`Channel::inputs`] order.
    pub inputs: Vec<f64>,
}

/// Column-major storage of one per-point vector.
fn columns(points: &[Point], f: impl Fn(&Point) -> &[f64]) -> Vec<f64> {
    let n = f(&points[0]).len();
    let mut out = Vec::with_capacity(n * points.len());
    for j in 0..n {
        out.extend(points.iter().map(|p| f(p)[j]));
    }
    out
}

/// Central difference step for a value x: 1e-3 of it (1e-5 for 0).
/// Derivatives are estimated with Richardson extrapolation of central
/// differences at this step and its half, whose error is fourth order in the
/// step; a step this large keeps the amplification of rounding in the
/// kernels (1 ulp of exp near the 0/0 points of vtrap) far below the
/// tolerance, and a relative one suits small concentrations (cai ~ 1e-4 mM).
fn step(x: f64) -> f64 {
    if x == 0.0 { 1e-5 } else { 1e-3 * x.abs() }
}

/// Compares `lhs` (finite differences) with `rhs` (the VJP).
fn agree(what: &str, lhs: f64, rhs: f64, tolerance: f64) -> Result<(), String> {
    let scale = lhs.abs().max(rhs.abs()).max(1e-12);
    if (lhs - rhs).abs() <= tolerance * scale {
        Ok(())
    } else {
        Err(format!(
            "{what}: finite differences give {lhs:e}, the VJP {rhs:e}"
        ))
    }
}

/// The inputs of a kernel: v, parameters, states and ion inputs.
#[derive(Clone)]
struct Inputs([Vec<f64>; 4]);

const KINDS: [&str; 4] = ["v", "params", "states", "inputs"];

/// Checks `init_states_vjp`, `advance_states_vjp` and `current_vjp` of
/// `channel` at `points` with step `dt` and temperature `celsius`, to relative
/// `tolerance` (1e-6 suits smooth kernels in f64). Pools are checked for
/// `init_states` and `advance_states` only (they carry no current).
///
/// Kernels may treat blocks of [`LANES`] rows apart from the rest, so the
/// points are repeated to at least `LANES + 1` rows.
///
/// Both kernel sets of the channel are checked: its native ones (if it has
/// them) and those compiled from its graphs ([`Channel::ir`]).
pub fn check_channel(
    channel: &dyn Channel,
    points: &[Point],
    dt: f64,
    celsius: f64,
    tolerance: f64,
) -> Result<(), String> {
    if let Some(native) = channel.native() {
        check_kernels(channel, native, points, dt, celsius, tolerance)
            .map_err(|e| format!("native kernels: {e}"))?;
    }
    let compiled = CompiledChannel::<f64>::new(&channel.ir(dt, celsius));
    check_kernels(channel, &compiled, points, dt, celsius, tolerance)
        .map_err(|e| format!("compiled kernels: {e}"))
}

/// [`check_channel`] for one set of kernels.
fn check_kernels(
    channel: &dyn Channel,
    kernels: &dyn ChannelKernels<f64>,
    points: &[Point],
    dt: f64,
    celsius: f64,
    tolerance: f64,
) -> Result<(), String> {
    if points.is_empty() {
        return Err("no points to check".into());
    }
    let rows = points.len().max(LANES + 1);
    let points: Vec<Point> = points.iter().cycle().take(rows).cloned().collect();
    let (np, ns, ni) = (
        channel.params().len(),
        channel.states().len(),
        channel.inputs().len(),
    );
    let x = Inputs([
        points.iter().map(|p| p.v).collect(),
        columns(&points, |p| &p.params),
        columns(&points, |p| &p.states),
        columns(&points, |p| &p.inputs),
    ]);
    for (k, n) in [(1, np), (2, ns), (3, ni)] {
        assert_eq!(x.0[k].len(), n * rows, "{} count", KINDS[k]);
    }
    let mut rng = StdRng::seed_from_u64(0x5eed);
    let mut random = |n: usize| {
        (0..n)
            .map(|_| rng.random_range(-1.0..1.0))
            .collect::<Vec<f64>>()
    };
    let dir: Vec<Vec<f64>> = x.0.iter().map(|c| random(c.len())).collect();
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    // Inputs moved by t along the direction in one kind.
    let shifted = |t: f64, kind: usize| {
        let mut y = x.clone();
        for (a, d) in y.0[kind].iter_mut().zip(&dir[kind]) {
            *a += t * step(*a) * d;
        }
        y
    };
    let scaled = |kind: usize| -> Vec<f64> {
        x.0[kind]
            .iter()
            .zip(&dir[kind])
            .map(|(a, b)| step(*a) * b)
            .collect()
    };
    // Richardson extrapolation of g(t) = (F(t) - F(-t)) / 2t, with F(t) the
    // cotangent-weighted output at inputs moved by t along the direction.
    let richardson = |f: &dyn Fn(f64) -> f64| {
        let g = |t: f64| (f(t) - f(-t)) / (2.0 * t);
        (4.0 * g(0.5) - g(1.0)) / 3.0
    };
    let env = |y: &Inputs| -> (Vec<f64>, Vec<f64>) { (y.0[0].clone(), y.0[3].clone()) };
    let check =
        |kernel: &str, kinds: &[usize], cots: &[Vec<f64>; 4], f: &dyn Fn(&Inputs) -> f64| {
            for &kind in kinds {
                let fd = richardson(&|t| f(&shifted(t, kind)));
                agree(
                    &format!("{} {kernel} wrt {}", channel.name(), KINDS[kind]),
                    fd,
                    dot(&cots[kind], &scaled(kind)),
                    tolerance,
                )?;
            }
            Ok::<(), String>(())
        };
    let zeros = || -> [Vec<f64>; 4] { std::array::from_fn(|k| vec![0.0; x.0[k].len()]) };

    // init_states: inputs v, params and ion inputs.
    let init = |y: &Inputs| {
        let (v, inp) = env(y);
        let mut out = vec![0.0; ns * rows];
        let e = ChannelEnv {
            inputs: Columns::new(&inp, rows),
            ..ChannelEnv::new(&v, dt, celsius)
        };
        kernels.init_states(
            &e,
            Columns::new(&y.0[1], rows),
            ColumnsMut::new(&mut out, rows),
        );
        out
    };
    let c = random(ns * rows);
    let mut cots = zeros();
    {
        let [cv, cp, _, ci] = &mut cots;
        kernels.init_states_vjp(
            &ChannelEnv {
                inputs: Columns::new(&x.0[3], rows),
                ..ChannelEnv::new(&x.0[0], dt, celsius)
            },
            Columns::new(&x.0[1], rows),
            Columns::new(&c, rows),
            Cot {
                v: cv,
                params: ColumnsMut::new(cp, rows),
                inputs: ColumnsMut::new(ci, rows),
            },
        );
    }
    check("init_states", &[0, 1, 3], &cots, &|y| dot(&c, &init(y)))?;

    // advance_states: every input.
    let advance = |y: &Inputs| {
        let (v, inp) = env(y);
        let mut out = y.0[2].clone();
        let e = ChannelEnv {
            inputs: Columns::new(&inp, rows),
            ..ChannelEnv::new(&v, dt, celsius)
        };
        kernels.advance_states(
            &e,
            Columns::new(&y.0[1], rows),
            ColumnsMut::new(&mut out, rows),
        );
        out
    };
    let c = random(ns * rows);
    let mut cots = zeros();
    cots[2].copy_from_slice(&c);
    {
        let [cv, cp, cs, ci] = &mut cots;
        kernels.advance_states_vjp(
            &ChannelEnv {
                inputs: Columns::new(&x.0[3], rows),
                ..ChannelEnv::new(&x.0[0], dt, celsius)
            },
            Columns::new(&x.0[1], rows),
            Columns::new(&x.0[2], rows),
            ColumnsMut::new(cs, rows),
            Cot {
                v: cv,
                params: ColumnsMut::new(cp, rows),
                inputs: ColumnsMut::new(ci, rows),
            },
        );
    }
    check("advance_states", &[0, 1, 2, 3], &cots, &|y| {
        dot(&c, &advance(y))
    })?;
    if channel.pool().is_some() {
        return Ok(());
    }

    // current: every input; outputs i and di/dv.
    let current = |y: &Inputs| {
        let (v, inp) = env(y);
        let (mut i, mut g) = (vec![0.0; rows], vec![0.0; rows]);
        let e = ChannelEnv {
            inputs: Columns::new(&inp, rows),
            ..ChannelEnv::new(&v, dt, celsius)
        };
        kernels.current(
            &e,
            Columns::new(&y.0[1], rows),
            Columns::new(&y.0[2], rows),
            &mut i,
            &mut g,
        );
        (i, g)
    };
    let (ci, cg) = (random(rows), random(rows));
    let mut cots = zeros();
    {
        let [cv, cp, cs, cin] = &mut cots;
        kernels.current_vjp(
            &ChannelEnv {
                inputs: Columns::new(&x.0[3], rows),
                ..ChannelEnv::new(&x.0[0], dt, celsius)
            },
            Columns::new(&x.0[1], rows),
            Columns::new(&x.0[2], rows),
            &ci,
            &cg,
            ColumnsMut::new(cs, rows),
            Cot {
                v: cv,
                params: ColumnsMut::new(cp, rows),
                inputs: ColumnsMut::new(cin, rows),
            },
        );
    }
    check("current", &[0, 1, 2, 3], &cots, &|y| {
        let (i, g) = current(y);
        dot(&ci, &i) + dot(&cg, &g)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Hh, Leak};

    fn points(channel: &dyn Channel) -> Vec<Point> {
        let params: Vec<f64> = channel.params().iter().map(|p| p.default).collect();
        [-90.0, -65.0, -55.0 + 1e-9, -40.0, -39.7, -20.0, 0.0, 35.0]
            .iter()
            .enumerate()
            .map(|(k, &v)| Point {
                v,
                params: params.iter().map(|x| x * (1.0 + 0.1 * k as f64)).collect(),
                states: (0..channel.states().len())
                    .map(|j| 0.1 + 0.1 * ((k + j) % 8) as f64)
                    .collect(),
                inputs: Vec::new(),
            })
            .collect()
    }

    #[test]
    fn hh_derivatives_match_finite_differences() {
        let hh = Hh::new();
        for celsius in [6.3, 20.0] {
            check_channel(&hh, &points(&hh), 0.025, celsius, 1e-6).unwrap();
        }
        check_channel(&hh, &points(&hh), 0.5, 6.3, 1e-6).unwrap();
    }

    #[test]
    fn leak_derivatives_match_finite_differences() {
        let leak = Leak::new();
        check_channel(&leak, &points(&leak), 0.025, 6.3, 1e-6).unwrap();
    }

    #[test]
    fn a_wrong_derivative_is_caught() {
        #[derive(Debug, Clone)]
        struct Broken(Leak);
        impl Channel for Broken {
            fn name(&self) -> &str {
                "Broken"
            }
            fn params(&self) -> &[crate::ParamSpec] {
                self.0.params()
            }
            fn states(&self) -> &[crate::StateSpec] {
                &[]
            }
            fn ir(&self, dt: f64, celsius: f64) -> crate::ChannelIr {
                self.0.ir(dt, celsius)
            }
            fn native(&self) -> Option<&dyn ChannelKernels<f64>> {
                Some(self)
            }
            fn clone_box(&self) -> Box<dyn Channel> {
                Box::new(self.clone())
            }
        }
        impl ChannelKernels<f64> for Broken {
            fn init_states(&self, _: &ChannelEnv, _: Columns, _: ColumnsMut) {}
            fn advance_states(&self, _: &ChannelEnv, _: Columns, _: ColumnsMut) {}
            fn current(
                &self,
                e: &ChannelEnv,
                p: Columns,
                s: Columns,
                i: &mut [f64],
                g: &mut [f64],
            ) {
                self.0.current(e, p, s, i, g)
            }
            fn init_states_vjp(&self, _: &ChannelEnv, _: Columns, _: Columns, _: Cot) {}
            fn advance_states_vjp(
                &self,
                _: &ChannelEnv,
                _: Columns,
                _: Columns,
                _: ColumnsMut,
                _: Cot,
            ) {
            }
            fn current_vjp(
                &self,
                e: &ChannelEnv,
                p: Columns,
                s: Columns,
                ci: &[f64],
                cg: &[f64],
                cs: ColumnsMut,
                cot: Cot,
            ) {
                cot.v[0] += 1.0;
                self.0.current_vjp(e, p, s, ci, cg, cs, cot);
            }
        }
        let b = Broken(Leak::new());
        let err = check_channel(&b, &points(&b), 0.025, 6.3, 1e-6).unwrap_err();
        assert!(
            err.contains("native kernels") && err.contains("current wrt v"),
            "{err}"
        );
    }
}
