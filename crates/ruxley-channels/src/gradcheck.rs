//! Checks a channel's reverse-mode derivatives against central finite
//! differences of its forward kernels. Use it in the tests of every channel.
//!
//! For each kernel y = f(v, params, states) and a pseudo-random cotangent c
//! and direction d, the identity c . (J d) = (J^T c) . d must hold, with J d
//! from central differences and J^T c from the channel's VJP.

use crate::channel::{Channel, ChannelEnv, Columns, ColumnsMut};

/// One compartment's inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Voltage (mV).
    pub v: f64,
    /// Parameter values, in spec order.
    pub params: Vec<f64>,
    /// State values, in spec order.
    pub states: Vec<f64>,
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }
}

/// Column-major storage of the points' parameters and states.
fn columns(points: &[Point], f: impl Fn(&Point) -> &[f64]) -> Vec<f64> {
    let n = f(&points[0]).len();
    let mut out = Vec::with_capacity(n * points.len());
    for j in 0..n {
        out.extend(points.iter().map(|p| f(p)[j]));
    }
    out
}

/// Central difference step for a value of magnitude x. Derivatives are
/// estimated with Richardson extrapolation of central differences at this
/// step and its half, whose error is fourth order in the step; a step this
/// large keeps the amplification of rounding in the kernels (1 ulp of exp
/// near the 0/0 points of vtrap) far below the tolerance.
fn step(x: f64) -> f64 {
    1e-3 * x.abs().max(1e-2)
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

/// Checks `init_states_vjp`, `advance_states_vjp` and `current_vjp` of
/// `channel` at `points` with step `dt` and temperature `celsius`, to relative
/// `tolerance` (1e-6 suits smooth kernels in f64).
pub fn check_channel(
    channel: &dyn Channel,
    points: &[Point],
    dt: f64,
    celsius: f64,
    tolerance: f64,
) -> Result<(), String> {
    let rows = points.len();
    let (np, ns) = (channel.params().len(), channel.states().len());
    let v: Vec<f64> = points.iter().map(|p| p.v).collect();
    let p = columns(points, |p| &p.params);
    let s = if ns == 0 {
        Vec::new()
    } else {
        columns(points, |p| &p.states)
    };
    assert_eq!(p.len(), np * rows, "parameter count");
    assert_eq!(s.len(), ns * rows, "state count");
    let mut rng = Rng(0x5eed);
    let mut random = |n: usize| (0..n).map(|_| rng.next()).collect::<Vec<f64>>();
    let (dv, dp, ds) = (random(rows), random(np * rows), random(ns * rows));
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    // Inputs moved by t along the direction, per input kind.
    let shifted = |t: f64, kind: usize| {
        let mv = |x: &[f64], d: &[f64], on: bool| -> Vec<f64> {
            x.iter()
                .zip(d)
                .map(|(a, b)| if on { a + t * step(*a) * b } else { *a })
                .collect()
        };
        (
            mv(&v, &dv, kind == 0),
            mv(&p, &dp, kind == 1),
            mv(&s, &ds, kind == 2),
        )
    };
    let scaled =
        |x: &[f64], d: &[f64]| -> Vec<f64> { x.iter().zip(d).map(|(a, b)| step(*a) * b).collect() };
    // Richardson extrapolation of g(t) = (F(t) - F(-t)) / 2t, with F(t) the
    // cotangent-weighted output at inputs moved by t along the direction.
    let richardson = |f: &dyn Fn(f64) -> f64| {
        let g = |t: f64| (f(t) - f(-t)) / (2.0 * t);
        (4.0 * g(0.5) - g(1.0)) / 3.0
    };

    // init_states: inputs v and params.
    let init = |v: &[f64], p: &[f64]| {
        let mut out = vec![0.0; ns * rows];
        channel.init_states(
            &ChannelEnv { v, dt, celsius },
            Columns::new(p, rows),
            ColumnsMut::new(&mut out, rows),
        );
        out
    };
    let c = random(ns * rows);
    let (mut cv, mut cp) = (vec![0.0; rows], vec![0.0; np * rows]);
    channel.init_states_vjp(
        &ChannelEnv { v: &v, dt, celsius },
        Columns::new(&p, rows),
        Columns::new(&c, rows),
        &mut cv,
        ColumnsMut::new(&mut cp, rows),
    );
    for (kind, name, cot, d) in [
        (0, "v", &cv, scaled(&v, &dv)),
        (1, "params", &cp, scaled(&p, &dp)),
    ] {
        let fd = richardson(&|t| {
            let (v1, p1, _) = shifted(t, kind);
            dot(&c, &init(&v1, &p1))
        });
        agree(
            &format!("{} init_states wrt {name}", channel.name()),
            fd,
            dot(cot, &d),
            tolerance,
        )?;
    }

    // advance_states: inputs v, params, states.
    let advance = |v: &[f64], p: &[f64], s: &[f64]| {
        let mut out = s.to_vec();
        channel.advance_states(
            &ChannelEnv { v, dt, celsius },
            Columns::new(p, rows),
            ColumnsMut::new(&mut out, rows),
        );
        out
    };
    let c = random(ns * rows);
    let (mut cv, mut cp, mut cs) = (vec![0.0; rows], vec![0.0; np * rows], c.clone());
    channel.advance_states_vjp(
        &ChannelEnv { v: &v, dt, celsius },
        Columns::new(&p, rows),
        Columns::new(&s, rows),
        ColumnsMut::new(&mut cs, rows),
        &mut cv,
        ColumnsMut::new(&mut cp, rows),
    );
    for (kind, name, cot, d) in [
        (0, "v", &cv, scaled(&v, &dv)),
        (1, "params", &cp, scaled(&p, &dp)),
        (2, "states", &cs, scaled(&s, &ds)),
    ] {
        let fd = richardson(&|t| {
            let (v1, p1, s1) = shifted(t, kind);
            dot(&c, &advance(&v1, &p1, &s1))
        });
        agree(
            &format!("{} advance_states wrt {name}", channel.name()),
            fd,
            dot(cot, &d),
            tolerance,
        )?;
    }

    // current: inputs v, params, states; outputs i and di/dv.
    let current = |v: &[f64], p: &[f64], s: &[f64]| {
        let (mut i, mut g) = (vec![0.0; rows], vec![0.0; rows]);
        channel.current(
            &ChannelEnv { v, dt, celsius },
            Columns::new(p, rows),
            Columns::new(s, rows),
            &mut i,
            &mut g,
        );
        (i, g)
    };
    let (ci, cg) = (random(rows), random(rows));
    let (mut cv, mut cp, mut cs) = (vec![0.0; rows], vec![0.0; np * rows], vec![0.0; ns * rows]);
    channel.current_vjp(
        &ChannelEnv { v: &v, dt, celsius },
        Columns::new(&p, rows),
        Columns::new(&s, rows),
        &ci,
        &cg,
        &mut cv,
        ColumnsMut::new(&mut cs, rows),
        ColumnsMut::new(&mut cp, rows),
    );
    for (kind, name, cot, d) in [
        (0, "v", &cv, scaled(&v, &dv)),
        (1, "params", &cp, scaled(&p, &dp)),
        (2, "states", &cs, scaled(&s, &ds)),
    ] {
        let fd = richardson(&|t| {
            let (v1, p1, s1) = shifted(t, kind);
            let (i, g) = current(&v1, &p1, &s1);
            dot(&ci, &i) + dot(&cg, &g)
        });
        agree(
            &format!("{} current wrt {name}", channel.name()),
            fd,
            dot(cot, &d),
            tolerance,
        )?;
    }
    Ok(())
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
            fn init_states_vjp(
                &self,
                _: &ChannelEnv,
                _: Columns,
                _: Columns,
                _: &mut [f64],
                _: ColumnsMut,
            ) {
            }
            fn advance_states_vjp(
                &self,
                _: &ChannelEnv,
                _: Columns,
                _: Columns,
                _: ColumnsMut,
                _: &mut [f64],
                _: ColumnsMut,
            ) {
            }
            fn current_vjp(
                &self,
                e: &ChannelEnv,
                p: Columns,
                s: Columns,
                ci: &[f64],
                cg: &[f64],
                cv: &mut [f64],
                cs: ColumnsMut,
                cp: ColumnsMut,
            ) {
                self.0.current_vjp(e, p, s, ci, cg, cv, cs, cp);
                cv[0] += 1.0;
            }
            fn clone_box(&self) -> Box<dyn Channel> {
                Box::new(self.clone())
            }
        }
        let b = Broken(Leak::new());
        let err = check_channel(&b, &points(&b), 0.025, 6.3, 1e-6).unwrap_err();
        assert!(err.contains("current wrt v"), "{err}");
    }
}
