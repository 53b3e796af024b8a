use ruxley_core::{Dual, Real};

use crate::{Expr, Op, Program, Scratch, trace};

/// Every operation and both kinds of select, as channel code writes them.
fn f<R: Real>(x: &[R]) -> Vec<R> {
    let (a, b, c) = (x[0], x[1], x[2]);
    let u = (a * 0.3).exp() / (b.powi(2) + 1.0) + b.powf(1.5) * b.ln() - a.recip()
        + (c * 0.2).tanh()
        - b.sqrt();
    let g = u.if_lt(1.0, a * 2.0, u) + a.if_eq(2.7, c.abs(), -c * 3.0);
    let s = (a - b).spike(c);
    vec![
        g * s + (a / c - 4.0),
        (R::cst(2.0) * 3.0 + a) * b,
        R::cst(5.0),
    ]
}

const POINTS: [[f64; 3]; 6] = [
    [0.3, 1.2, -0.4],
    [1.9, 0.5, 2.0],
    [2.7, 2.7, 0.8],
    [1.5, 0.1, -3.0],
    [-0.8, 3.3, 1.0e-3],
    [4.0, 4.0, 0.05],
];

#[test]
fn traced_graphs_compute_what_the_code_computes() {
    let g = trace(3, f);
    for p in POINTS {
        let want = f(&p);
        let got = g.eval(&p);
        for (w, v) in want.iter().zip(&got) {
            assert!(
                w.to_bits() == v.to_bits() || (w.is_nan() && v.is_nan()),
                "{p:?}: {w} vs {v}"
            );
        }
    }
    // The third output is a constant.
    assert_eq!(g.constant_output(2), Some(5.0));
}

#[test]
fn constant_arithmetic_is_folded() {
    let g = trace(1, |x| vec![(Expr::cst(2.0) * 3.0 + x[0]) * x[0]]);
    let consts: Vec<f64> = g
        .ops()
        .iter()
        .filter_map(|o| match o {
            Op::Const(bits) => Some(f64::from_bits(*bits)),
            _ => None,
        })
        .collect();
    assert_eq!(consts, [6.0]);
    assert_eq!(g.eval(&[1.5]), [(6.0 + 1.5) * 1.5]);
}

#[test]
fn equal_subexpressions_are_recorded_once() {
    let g = trace(1, |x| {
        let e1 = (x[0] * 2.0).exp();
        let e2 = (x[0] * 2.0).exp();
        vec![e1 + e2]
    });
    let exps = g.ops().iter().filter(|o| matches!(o, Op::Exp(_))).count();
    assert_eq!(exps, 1);
}

/// Derivatives of output `k` of `f` at `p` in every input, by dual numbers.
fn dual_gradient(p: &[f64; 3], k: usize) -> [f64; 3] {
    std::array::from_fn(|i| {
        let x: Vec<Dual<f64>> = (0..3).map(|j| Dual::lift(p[j], i == j)).collect();
        f(&x)[k].eps
    })
}

#[test]
fn vjp_graphs_equal_dual_number_derivatives() {
    let g = trace(3, f);
    let vjp = g.vjp(&[0, 1, 2]);
    assert_eq!(vjp.n_inputs(), 6);
    for p in POINTS {
        let cot = [0.7, -1.3, 2.0];
        let mut inputs = p.to_vec();
        inputs.extend(cot);
        let got = vjp.eval(&inputs);
        for i in 0..3 {
            let want: f64 = (0..3).map(|k| cot[k] * dual_gradient(&p, k)[i]).sum();
            let tol = 1e-13 * (1.0 + want.abs());
            assert!(
                (got[i] - want).abs() <= tol,
                "{p:?} input {i}: {} vs {want}",
                got[i]
            );
        }
    }
}

#[test]
fn forward_derivative_graphs_equal_dual_numbers() {
    let g = trace(3, f);
    for wrt in 0..3 {
        let d = g.with_derivatives(wrt);
        assert_eq!(d.outputs().len(), 6);
        for p in POINTS {
            let got = d.eval(&p);
            for k in 0..3 {
                let want = dual_gradient(&p, k)[wrt];
                let tol = 1e-13 * (1.0 + want.abs());
                assert!(
                    (got[3 + k] - want).abs() <= tol,
                    "{p:?} d{k}/d{wrt}: {} vs {want}",
                    got[3 + k]
                );
            }
        }
    }
}

#[test]
fn second_derivatives_through_derived_graphs() {
    // d/dx of (d/dy f), by differentiating a derivative graph again.
    let g = trace(3, |x| vec![(x[0] * x[1]).exp() * x[1].powi(3)]);
    let dy = g.with_derivatives(1);
    let dxy = dy.with_derivatives(0);
    let (x, y): (f64, f64) = (0.3, 1.7);
    let got = dxy.eval(&[x, y, 0.0])[3];
    // d2/dxdy e^(xy) y^3 = e^(xy) (x y^4 + 4 y^3), and by nested duals.
    let closed = (x * y).exp() * (x * y.powi(4) + 4.0 * y.powi(3));
    let dd = {
        let xx = Dual::new(Dual::new(x, 1.0), Dual::new(0.0, 0.0));
        let yy = Dual::new(Dual::new(y, 0.0), Dual::new(1.0, 0.0));
        ((xx * yy).exp() * yy.powi(3)).eps.eps
    };
    for want in [closed, dd] {
        assert!((got - want).abs() <= 1e-14 * want.abs(), "{got} vs {want}");
    }
}

#[test]
fn programs_equal_the_reference_evaluation() {
    let g = trace(3, f);
    let vjp = g.vjp(&[0, 1, 2]);
    // 150 rows: two full blocks and a remainder.
    let rows = 150;
    let cols: Vec<Vec<f64>> = (0..6)
        .map(|j| {
            (0..rows)
                .map(|r| {
                    POINTS[r % 6][j % 3] * (1.0 + 0.01 * (r / 6) as f64)
                        + if j >= 3 { 0.5 } else { 0.0 }
                })
                .collect()
        })
        .collect();
    let views: Vec<&[f64]> = cols.iter().map(|c| c.as_slice()).collect();
    let program = Program::<f64>::new(&vjp);
    let mut out = vec![vec![0.0; rows]; 3];
    program.run(rows, &views, &mut Scratch::default(), &mut |k, r, v| {
        out[k][r..r + v.len()].copy_from_slice(v)
    });
    for r in 0..rows {
        let point: Vec<f64> = cols.iter().map(|c| c[r]).collect();
        let want = vjp.eval(&point);
        for k in 0..3 {
            assert!(
                want[k].to_bits() == out[k][r].to_bits()
                    || (want[k].is_nan() && out[k][r].is_nan()),
                "row {r} output {k}: {} vs {}",
                out[k][r],
                want[k]
            );
        }
    }
    // In single precision, the program computes what f32 arithmetic does.
    let cols32: Vec<Vec<f32>> = cols
        .iter()
        .map(|c| c.iter().map(|&x| x as f32).collect())
        .collect();
    let views32: Vec<&[f32]> = cols32.iter().map(|c| c.as_slice()).collect();
    let p32 = Program::<f32>::new(&g);
    let mut out32 = vec![vec![0.0f32; rows]; 3];
    p32.run(
        rows,
        &views32[..3],
        &mut Scratch::default(),
        &mut |k, r, v| out32[k][r..r + v.len()].copy_from_slice(v),
    );
    for r in 0..rows {
        let point: Vec<f32> = cols32[..3].iter().map(|c| c[r]).collect();
        let want = g.eval_in::<f32>(&point);
        for k in 0..3 {
            assert_eq!(
                out32[k][r].to_bits(),
                want[k].to_bits(),
                "row {r} output {k}"
            );
        }
    }
}

#[test]
fn a_program_reuses_registers() {
    // A chain of 800 operations on two constants: a register for each
    // constant and few for the values in flight.
    let g = trace(1, |x| {
        let mut y = x[0];
        for _ in 0..200 {
            y = (y * 0.5 + 1.0).exp().ln();
        }
        vec![y]
    });
    assert!(g.ops().len() > 800);
    let p = Program::<f64>::new(&g);
    assert!(p.registers() <= 4, "{} registers", p.registers());
    let mut out = 0.0;
    p.run(1, &[&[0.25]], &mut Scratch::default(), &mut |_, _, v| {
        out = v[0]
    });
    assert_eq!(out, g.eval(&[0.25])[0]);
}

#[test]
#[should_panic(expected = "does not nest")]
fn traces_do_not_nest() {
    trace(1, |x| {
        trace(1, |y| vec![y[0]]);
        vec![x[0]]
    });
}

#[test]
#[should_panic(expected = "outside ruxley_ir::trace")]
fn exprs_live_inside_their_trace() {
    let mut kept = None;
    trace(1, |x| {
        kept = Some(x[0]);
        vec![x[0]]
    });
    let _ = kept.unwrap() + 1.0;
}

#[test]
fn a_panicking_trace_leaves_the_thread_usable() {
    let r = std::panic::catch_unwind(|| trace(1, |_: &[Expr]| -> Vec<Expr> { panic!("boom") }));
    assert!(r.is_err());
    let g = trace(1, |x| vec![x[0] * 2.0]);
    assert_eq!(g.eval(&[3.0]), vec![6.0]);
}

#[test]
fn derivatives_ignore_the_branch_a_select_did_not_take() {
    // vtrap at its singularity: the unused branch is 0/0.
    let g = trace(1, |x| {
        let u = x[0] * 0.1;
        let exact = x[0] / (u.exp() - 1.0);
        let taylor = (Expr::cst(1.0) - u * 0.5) * 10.0;
        vec![u.abs().if_lt(1e-6, taylor, exact) * x[0]]
    });
    let vjp = g.vjp(&[0]);
    let d = vjp.eval(&[0.0, 1.0])[0];
    assert_eq!(d, 10.0);
    let fwd = g.with_derivatives(0).eval(&[0.0])[1];
    assert_eq!(fwd, 10.0);
}
