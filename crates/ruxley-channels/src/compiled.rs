//! Channel kernels compiled from a [`ChannelIr`] for the CPU, in any
//! precision: the kernels of channels without native ones, and of every
//! channel in f32.

use std::cell::RefCell;

use ruxley_core::Float;
use ruxley_ir::{Program, Scratch};

use crate::channel::{ChannelEnv, ChannelKernels, Columns, ColumnsMut, Cot};
use crate::ir::ChannelIr;

/// The most input slots a compiled kernel reads (with cotangents).
const MAX_SLOTS: usize = 64;

/// The forward and reverse-mode programs of one graph.
#[derive(Debug)]
struct Pair<F: Float> {
    forward: Program<F>,
    reverse: Program<F>,
}

impl<F: Float> Pair<F> {
    fn new(graph: &ruxley_ir::Graph) -> Self {
        let all: Vec<usize> = (0..graph.n_inputs()).collect();
        Self {
            forward: Program::new(graph),
            reverse: Program::new(&graph.vjp(&all)),
        }
    }
}

/// A channel's kernels run from its graphs: forward kernels from the
/// graphs, reverse-mode kernels from their derived VJP graphs.
#[derive(Debug)]
pub struct CompiledChannel<F: Float> {
    params: usize,
    states: usize,
    inputs: usize,
    init: Pair<F>,
    advance: Pair<F>,
    current: Pair<F>,
    set_voltage: Option<Pair<F>>,
    scratch: RefCell<Scratch<F>>,
    /// A copy of columns that a kernel reads and overwrites.
    copy: RefCell<Vec<F>>,
}

impl<F: Float> CompiledChannel<F> {
    /// Compiles the graphs of `ir`.
    pub fn new(ir: &ChannelIr) -> Self {
        // The reverse programs read the cotangents too: of v and the states
        // (set_voltage), of the states (advance, init), of i and di/dv.
        assert!(
            ir.n_slots() + (ir.states + 1).max(2) <= MAX_SLOTS,
            "a compiled channel reads at most {MAX_SLOTS} inputs"
        );
        Self {
            params: ir.params,
            states: ir.states,
            inputs: ir.inputs,
            init: Pair::new(&ir.init),
            advance: Pair::new(&ir.advance),
            current: Pair::new(&ir.current),
            set_voltage: ir.set_voltage.as_ref().map(Pair::new),
            scratch: RefCell::new(Scratch::default()),
            copy: RefCell::new(Vec::new()),
        }
    }

    /// The input columns of a graph: v, the parameters, the states (`None`
    /// where the graph does not read them), the ion inputs; then `extra`.
    fn slots<'s>(
        &self,
        env: &ChannelEnv<'s, F>,
        params: Columns<'s, F>,
        states: Option<&'s [F]>,
        extra: impl IntoIterator<Item = &'s [F]>,
    ) -> ([&'s [F]; MAX_SLOTS], usize) {
        let rows = env.v.len();
        let mut s: [&[F]; MAX_SLOTS] = [&[]; MAX_SLOTS];
        let mut n = 0;
        let mut push = |x: &'s [F]| {
            s[n] = x;
            n += 1;
        };
        push(env.v);
        for k in 0..self.params {
            push(params.col(k));
        }
        for k in 0..self.states {
            push(states.map_or(&[][..], |x| &x[k * rows..(k + 1) * rows]));
        }
        for k in 0..self.inputs {
            push(env.inputs.col(k));
        }
        for x in extra {
            push(x);
        }
        (s, n)
    }

    /// Runs `program` on the rows of `env`, handing outputs to `sink`.
    fn run(
        &self,
        program: &Program<F>,
        rows: usize,
        slots: &[&[F]],
        sink: &mut dyn FnMut(usize, usize, &[F]),
    ) {
        program.run(rows, slots, &mut self.scratch.borrow_mut(), sink);
    }

    /// Copies `x` into the reusable buffer and returns it.
    fn copy_of(&self, x: &[F]) -> std::cell::RefMut<'_, Vec<F>> {
        let mut c = self.copy.borrow_mut();
        c.clear();
        c.extend_from_slice(x);
        c
    }

    /// A reverse-mode output of slot `k` (v, parameters, states, inputs)
    /// added into `cot` (states into `cot_states` when given).
    fn add_cot(
        &self,
        k: usize,
        r: usize,
        x: &[F],
        cot: &mut Cot<F>,
        cot_states: Option<&mut ColumnsMut<F>>,
    ) {
        let add = |dst: &mut [F]| {
            for (d, &y) in dst[r..r + x.len()].iter_mut().zip(x) {
                *d += y;
            }
        };
        let (np, ns) = (self.params, self.states);
        if k == 0 {
            add(cot.v);
        } else if k <= np {
            add(cot.params.col(k - 1));
        } else if k <= np + ns {
            if let Some(cs) = cot_states {
                add(cs.col(k - 1 - np));
            }
        } else {
            add(cot.inputs.col(k - 1 - np - ns));
        }
    }

    /// True if reverse output `k` of `program` is structurally zero.
    fn zero(program: &Program<F>, k: usize) -> bool {
        program.constant_output(k) == Some(F::zero())
    }
}

impl<F: Float> ChannelKernels<F> for CompiledChannel<F> {
    fn init_states(&self, env: &ChannelEnv<F>, params: Columns<F>, mut states: ColumnsMut<F>) {
        let (slots, n) = self.slots(env, params, None, []);
        self.run(
            &self.init.forward,
            env.v.len(),
            &slots[..n],
            &mut |k, r, x| states.col(k)[r..r + x.len()].copy_from_slice(x),
        );
    }

    fn advance_states(&self, env: &ChannelEnv<F>, params: Columns<F>, mut states: ColumnsMut<F>) {
        let before = self.copy_of(states.as_columns().data());
        let (slots, n) = self.slots(env, params, Some(&before), []);
        self.run(
            &self.advance.forward,
            env.v.len(),
            &slots[..n],
            &mut |k, r, x| states.col(k)[r..r + x.len()].copy_from_slice(x),
        );
    }

    fn current(
        &self,
        env: &ChannelEnv<F>,
        params: Columns<F>,
        states: Columns<F>,
        i: &mut [F],
        di_dv: &mut [F],
    ) {
        let (slots, n) = self.slots(env, params, Some(states.data()), []);
        self.run(
            &self.current.forward,
            env.v.len(),
            &slots[..n],
            &mut |k, r, x| {
                let dst = if k == 0 { &mut *i } else { &mut *di_dv };
                dst[r..r + x.len()].copy_from_slice(x)
            },
        );
    }

    fn set_voltage(
        &self,
        env: &ChannelEnv<F>,
        params: Columns<F>,
        mut states: ColumnsMut<F>,
        v: &mut [F],
    ) {
        let Some(pair) = &self.set_voltage else {
            return;
        };
        let before = self.copy_of(states.as_columns().data());
        let (slots, n) = self.slots(env, params, Some(&before), []);
        self.run(&pair.forward, env.v.len(), &slots[..n], &mut |k, r, x| {
            let dst = if k == 0 { &mut *v } else { states.col(k - 1) };
            dst[r..r + x.len()].copy_from_slice(x)
        });
    }

    fn init_states_vjp(
        &self,
        env: &ChannelEnv<F>,
        params: Columns<F>,
        cot_states: Columns<F>,
        mut cot: Cot<F>,
    ) {
        let rows = env.v.len();
        let extra = (0..self.states).map(|k| cot_states.col(k));
        let (slots, n) = self.slots(env, params, None, extra);
        let program = &self.init.reverse;
        self.run(program, rows, &slots[..n], &mut |k, r, x| {
            if !Self::zero(program, k) {
                self.add_cot(k, r, x, &mut cot, None);
            }
        });
    }

    fn advance_states_vjp(
        &self,
        env: &ChannelEnv<F>,
        params: Columns<F>,
        states: Columns<F>,
        mut cot_states: ColumnsMut<F>,
        mut cot: Cot<F>,
    ) {
        let rows = env.v.len();
        let after = self.copy_of(cot_states.as_columns().data());
        let extra = (0..self.states).map(|k| &after[k * rows..(k + 1) * rows]);
        let (slots, n) = self.slots(env, params, Some(states.data()), extra);
        let program = &self.advance.reverse;
        let first_state = 1 + self.params;
        for k in 0..self.states {
            cot_states.col(k).fill(F::zero());
        }
        self.run(program, rows, &slots[..n], &mut |k, r, x| {
            if Self::zero(program, k) {
                return;
            }
            if (first_state..first_state + self.states).contains(&k) {
                cot_states.col(k - first_state)[r..r + x.len()].copy_from_slice(x);
            } else {
                self.add_cot(k, r, x, &mut cot, None);
            }
        });
    }

    fn current_vjp(
        &self,
        env: &ChannelEnv<F>,
        params: Columns<F>,
        states: Columns<F>,
        cot_i: &[F],
        cot_di_dv: &[F],
        mut cot_states: ColumnsMut<F>,
        mut cot: Cot<F>,
    ) {
        let (slots, n) = self.slots(env, params, Some(states.data()), [cot_i, cot_di_dv]);
        let program = &self.current.reverse;
        self.run(program, env.v.len(), &slots[..n], &mut |k, r, x| {
            if !Self::zero(program, k) {
                self.add_cot(k, r, x, &mut cot, Some(&mut cot_states));
            }
        });
    }

    fn set_voltage_vjp(
        &self,
        env: &ChannelEnv<F>,
        params: Columns<F>,
        states: Columns<F>,
        mut cot_states: ColumnsMut<F>,
        mut cot: Cot<F>,
    ) {
        let Some(pair) = &self.set_voltage else {
            return;
        };
        let rows = env.v.len();
        // The cotangents after: of v, then of the states.
        let mut after = self.copy_of(cot.v);
        after.extend_from_slice(cot_states.as_columns().data());
        let extra = (0..=self.states).map(|k| &after[k * rows..(k + 1) * rows]);
        let (slots, n) = self.slots(env, params, Some(states.data()), extra);
        let program = &pair.reverse;
        let first_state = 1 + self.params;
        cot.v.fill(F::zero());
        for k in 0..self.states {
            cot_states.col(k).fill(F::zero());
        }
        self.run(program, rows, &slots[..n], &mut |k, r, x| {
            if Self::zero(program, k) {
                return;
            }
            if k == 0 {
                cot.v[r..r + x.len()].copy_from_slice(x);
            } else if (first_state..first_state + self.states).contains(&k) {
                cot_states.col(k - first_state)[r..r + x.len()].copy_from_slice(x);
            } else {
                self.add_cot(k, r, x, &mut cot, None);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A channel of `params` parameters and no state: i = g0 v.
    fn wide(params: usize) -> ChannelIr {
        ChannelIr::trace(
            (params, 0, 0),
            |_| vec![],
            |_| vec![],
            |a| [a.params[0] * a.v, a.params[0]],
            None,
        )
    }

    #[test]
    fn the_widest_channel_runs_its_current_vjp() {
        // 1 + 61 slots and the two cotangents of the current: 64.
        let c = CompiledChannel::<f64>::new(&wide(61));
        let p = vec![2.0; 61];
        let env = ChannelEnv {
            v: &[-65.0],
            dt: 0.025,
            celsius: 6.3,
            inputs: Columns::new(&[], 0),
        };
        let (mut cv, mut cp) = (vec![0.0], vec![0.0; 61]);
        let cot = Cot {
            v: &mut cv,
            params: ColumnsMut::new(&mut cp, 1),
            inputs: ColumnsMut::new(&mut [], 0),
        };
        c.current_vjp(
            &env,
            Columns::new(&p, 1),
            Columns::new(&[], 0),
            &[1.0],
            &[0.0],
            ColumnsMut::new(&mut [], 0),
            cot,
        );
        assert_eq!((cv[0], cp[0]), (2.0, -65.0));
    }

    #[test]
    #[should_panic(expected = "reads at most 64 inputs")]
    fn a_channel_too_wide_for_its_current_vjp_is_refused_when_compiled() {
        CompiledChannel::<f64>::new(&wide(62));
    }
    use crate::{CALCIUM, Channel, IonVar, library};

    /// Rows of inputs around the voltages where rate functions are singular.
    fn inputs(ch: &dyn Channel, rows: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
        let v: Vec<f64> = (0..rows)
            .map(|r| {
                [-80.0, -66.0, -55.0, -40.0, -38.0, -12.5, 20.0][r % 7] + 0.01 * (r / 7) as f64
            })
            .collect();
        let p = ch
            .params()
            .iter()
            .flat_map(|s| (0..rows).map(move |r| s.default * (1.0 + 0.01 * r as f64) + 1e-4))
            .collect();
        let s = (0..ch.states().len() * rows)
            .map(|k| 0.05 + 0.9 * ((k * 37) % 101) as f64 / 101.0)
            .collect();
        let i = ch
            .inputs()
            .iter()
            .flat_map(|var| {
                (0..rows).map(move |r| match var {
                    IonVar::Reversal(_) => 120.0 + r as f64,
                    IonVar::Inside(_) => 1e-4 * (1.0 + r as f64),
                    IonVar::Current(_) => -1e-3 * (1.0 + r as f64),
                })
            })
            .collect();
        (v, p, s, i)
    }

    /// init, advance and current (and set_voltage) of `k` at the inputs.
    fn forward<F: Float>(
        k: &dyn ChannelKernels<F>,
        ch: &dyn Channel,
        x: &(Vec<F>, Vec<F>, Vec<F>, Vec<F>),
    ) -> Vec<F> {
        let rows = x.0.len();
        let env = ChannelEnv {
            inputs: Columns::new(&x.3, rows),
            ..ChannelEnv::new(&x.0, 0.025, 34.0)
        };
        let p = Columns::new(&x.1, rows);
        let mut init = x.2.clone();
        k.init_states(&env, p, ColumnsMut::new(&mut init, rows));
        let mut adv = x.2.clone();
        k.advance_states(&env, p, ColumnsMut::new(&mut adv, rows));
        let (mut i, mut g) = (vec![F::zero(); rows], vec![F::zero(); rows]);
        if ch.pool().is_none() {
            k.current(&env, p, Columns::new(&x.2, rows), &mut i, &mut g);
        }
        let (mut v, mut s) = (x.0.clone(), x.2.clone());
        if ch.sets_voltage() {
            k.set_voltage(&env, p, ColumnsMut::new(&mut s, rows), &mut v);
        }
        [init, adv, i, g, v, s].concat()
    }

    #[test]
    fn compiled_kernels_compute_what_native_ones_compute() {
        let rows = 37;
        let mut all = library();
        all.push(Box::new(crate::IonSite::new(CALCIUM)));
        for ch in &all {
            let x = inputs(ch.as_ref(), rows);
            let native = forward(
                ch.native()
                    .unwrap_or(&CompiledChannel::new(&ch.ir(0.025, 34.0))),
                ch.as_ref(),
                &x,
            );
            let compiled = forward(
                &CompiledChannel::<f64>::new(&ch.ir(0.025, 34.0)),
                ch.as_ref(),
                &x,
            );
            for (k, (a, b)) in native.iter().zip(&compiled).enumerate() {
                // The generic kernels run the same arithmetic; HH's
                // hand-written ones share exponentials differently.
                let tol = 4.0 * f64::EPSILON * a.abs().max(1e-300);
                assert!((a - b).abs() <= tol, "{}: value {k}: {a} vs {b}", ch.name());
            }
            // In single precision close (rate functions lose up to ~0.2 %
            // beside their guarded 0/0 points), but the forward-difference slope
            // loses digits: i(v + 0.001) - i(v) cancels to ~1e-5 of i, and
            // f32 keeps 6e-8 of i.
            let slope =
                2 * ch.states().len() * rows + rows..2 * ch.states().len() * rows + 2 * rows;
            let x32 = (
                x.0.iter().map(|&a| a as f32).collect(),
                x.1.iter().map(|&a| a as f32).collect(),
                x.2.iter().map(|&a| a as f32).collect(),
                x.3.iter().map(|&a| a as f32).collect(),
            );
            let single = forward(
                &CompiledChannel::<f32>::new(&ch.ir(0.025, 34.0)),
                ch.as_ref(),
                &x32,
            );
            for (k, (a, b)) in native.iter().zip(&single).enumerate() {
                assert!(b.is_finite(), "{}: value {k} not finite in f32", ch.name());
                let rel = if slope.contains(&k) { 5e-2 } else { 5e-3 };
                let tol = rel * a.abs().max(1e-6);
                assert!(
                    (a - *b as f64).abs() <= tol,
                    "{}: value {k}: {a} vs {b} in f32",
                    ch.name()
                );
            }
        }
    }
}
