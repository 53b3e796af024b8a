//! Synapse kernels compiled from a [`SynapseIr`] for the CPU, in any
//! precision.

use std::cell::RefCell;

use ruxley_core::Float;
use ruxley_ir::{Graph, Program, Scratch};

use crate::ir::{V_POST, V_PRE};
use crate::{Columns, ColumnsMut, SynCot, SynapseEnv, SynapseIr, SynapseKernels};

/// The most input slots a compiled kernel reads (with cotangents).
const MAX_SLOTS: usize = 64;

/// The forward and reverse-mode programs of one graph.
#[derive(Debug)]
struct Pair<F: Float> {
    forward: Program<F>,
    reverse: Program<F>,
}

impl<F: Float> Pair<F> {
    fn new(graph: &Graph) -> Self {
        let all: Vec<usize> = (0..graph.n_inputs()).collect();
        Self {
            forward: Program::new(graph),
            reverse: Program::new(&graph.vjp(&all)),
        }
    }
}

/// A synapse type's kernels run from its graphs.
#[derive(Debug)]
pub struct CompiledSynapse<F: Float> {
    params: usize,
    states: usize,
    init: Pair<F>,
    advance: Pair<F>,
    current: Pair<F>,
    scratch: RefCell<Scratch<F>>,
    copy: RefCell<Vec<F>>,
}

/// Where a reverse-mode output goes.
enum Target {
    VPre,
    VPost,
    Param(usize),
    State(usize),
    Nowhere,
}

impl<F: Float> CompiledSynapse<F> {
    /// Compiles the graphs of `ir`.
    pub fn new(ir: &SynapseIr) -> Self {
        assert!(
            ir.n_slots() + 2 + ir.states <= MAX_SLOTS,
            "a compiled synapse reads at most {MAX_SLOTS} inputs"
        );
        Self {
            params: ir.params,
            states: ir.states,
            init: Pair::new(&ir.init),
            advance: Pair::new(&ir.advance),
            current: Pair::new(&ir.current),
            scratch: RefCell::new(Scratch::default()),
            copy: RefCell::new(Vec::new()),
        }
    }

    fn slots<'s>(
        &self,
        env: &SynapseEnv<'s, F>,
        params: Columns<'s, F>,
        states: Option<&'s [F]>,
        extra: impl IntoIterator<Item = &'s [F]>,
    ) -> ([&'s [F]; MAX_SLOTS], usize) {
        let rows = env.v_pre.len();
        let mut s: [&[F]; MAX_SLOTS] = [&[]; MAX_SLOTS];
        let mut n = 0;
        let mut push = |x: &'s [F]| {
            s[n] = x;
            n += 1;
        };
        push(env.v_pre);
        push(env.v_post);
        push(env.events);
        for k in 0..self.params {
            push(params.col(k));
        }
        for k in 0..self.states {
            push(states.map_or(&[][..], |x| &x[k * rows..(k + 1) * rows]));
        }
        for x in extra {
            push(x);
        }
        (s, n)
    }

    fn run(
        &self,
        program: &Program<F>,
        rows: usize,
        slots: &[&[F]],
        sink: &mut dyn FnMut(usize, usize, &[F]),
    ) {
        program.run(rows, slots, &mut self.scratch.borrow_mut(), sink);
    }

    fn copy_of(&self, x: &[F]) -> std::cell::RefMut<'_, Vec<F>> {
        let mut c = self.copy.borrow_mut();
        c.clear();
        c.extend_from_slice(x);
        c
    }

    /// What input slot `k` of a graph is.
    fn target(&self, k: usize) -> Target {
        match k {
            V_PRE => Target::VPre,
            V_POST => Target::VPost,
            k if k >= 3 && k < 3 + self.params => Target::Param(k - 3),
            k if k >= 3 + self.params && k < 3 + self.params + self.states => {
                Target::State(k - 3 - self.params)
            }
            _ => Target::Nowhere,
        }
    }

    /// Adds a reverse-mode output to the cotangent it belongs to (states
    /// only when `cot_states` is given).
    fn add(
        &self,
        k: usize,
        r: usize,
        x: &[F],
        cot: &mut SynCot<F>,
        cot_states: Option<&mut ColumnsMut<F>>,
    ) {
        let dst: &mut [F] = match self.target(k) {
            Target::VPre => cot.v_pre,
            Target::VPost => cot.v_post,
            Target::Param(q) => cot.params.col(q),
            Target::State(j) => match cot_states {
                Some(cs) => cs.col(j),
                None => return,
            },
            Target::Nowhere => return,
        };
        for (d, &y) in dst[r..r + x.len()].iter_mut().zip(x) {
            *d += y;
        }
    }

    fn zero(program: &Program<F>, k: usize) -> bool {
        program.constant_output(k) == Some(F::zero())
    }
}

impl<F: Float> SynapseKernels<F> for CompiledSynapse<F> {
    fn init_states(&self, env: &SynapseEnv<F>, params: Columns<F>, mut states: ColumnsMut<F>) {
        let (slots, n) = self.slots(env, params, None, []);
        self.run(
            &self.init.forward,
            env.v_pre.len(),
            &slots[..n],
            &mut |k, r, x| states.col(k)[r..r + x.len()].copy_from_slice(x),
        );
    }

    fn advance_states(&self, env: &SynapseEnv<F>, params: Columns<F>, mut states: ColumnsMut<F>) {
        let before = self.copy_of(states.as_columns().data());
        let (slots, n) = self.slots(env, params, Some(&before), []);
        self.run(
            &self.advance.forward,
            env.v_pre.len(),
            &slots[..n],
            &mut |k, r, x| states.col(k)[r..r + x.len()].copy_from_slice(x),
        );
    }

    fn current(
        &self,
        env: &SynapseEnv<F>,
        params: Columns<F>,
        states: Columns<F>,
        i: &mut [F],
        di_dv: &mut [F],
    ) {
        let (slots, n) = self.slots(env, params, Some(states.data()), []);
        self.run(
            &self.current.forward,
            env.v_pre.len(),
            &slots[..n],
            &mut |k, r, x| {
                let dst = if k == 0 { &mut *i } else { &mut *di_dv };
                dst[r..r + x.len()].copy_from_slice(x)
            },
        );
    }

    fn init_states_vjp(
        &self,
        env: &SynapseEnv<F>,
        params: Columns<F>,
        cot_states: Columns<F>,
        mut cot: SynCot<F>,
    ) {
        let extra = (0..self.states).map(|k| cot_states.col(k));
        let (slots, n) = self.slots(env, params, None, extra);
        let program = &self.init.reverse;
        self.run(program, env.v_pre.len(), &slots[..n], &mut |k, r, x| {
            if !Self::zero(program, k) {
                self.add(k, r, x, &mut cot, None);
            }
        });
    }

    fn advance_states_vjp(
        &self,
        env: &SynapseEnv<F>,
        params: Columns<F>,
        states: Columns<F>,
        mut cot_states: ColumnsMut<F>,
        mut cot: SynCot<F>,
    ) {
        let rows = env.v_pre.len();
        let after = self.copy_of(cot_states.as_columns().data());
        let extra = (0..self.states).map(|k| &after[k * rows..(k + 1) * rows]);
        let (slots, n) = self.slots(env, params, Some(states.data()), extra);
        let program = &self.advance.reverse;
        for k in 0..self.states {
            cot_states.col(k).fill(F::zero());
        }
        self.run(program, rows, &slots[..n], &mut |k, r, x| {
            if !Self::zero(program, k) {
                self.add(k, r, x, &mut cot, Some(&mut cot_states));
            }
        });
    }

    fn current_vjp(
        &self,
        env: &SynapseEnv<F>,
        params: Columns<F>,
        states: Columns<F>,
        cot_i: &[F],
        cot_di_dv: &[F],
        mut cot_states: ColumnsMut<F>,
        mut cot: SynCot<F>,
    ) {
        let (slots, n) = self.slots(env, params, Some(states.data()), [cot_i, cot_di_dv]);
        let program = &self.current.reverse;
        self.run(program, env.v_pre.len(), &slots[..n], &mut |k, r, x| {
            if !Self::zero(program, k) {
                self.add(k, r, x, &mut cot, Some(&mut cot_states));
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library;

    #[test]
    fn compiled_kernels_compute_what_native_ones_compute() {
        let rows = 21;
        for syn in library() {
            let (np, ns) = (syn.params().len(), syn.states().len());
            let pre: Vec<f64> = (0..rows).map(|r| -70.0 + 4.0 * r as f64).collect();
            let post: Vec<f64> = (0..rows).map(|r| -60.0 + 1.5 * r as f64).collect();
            let events: Vec<f64> = (0..rows).map(|r| (r % 3 == 0) as u8 as f64).collect();
            let p: Vec<f64> = syn
                .params()
                .iter()
                .flat_map(|s| (0..rows).map(move |r| s.default * (1.0 + 0.03 * r as f64)))
                .collect();
            let s0: Vec<f64> = (0..ns * rows).map(|k| 0.1 + 0.02 * k as f64).collect();
            let env = SynapseEnv {
                v_pre: &pre,
                v_post: &post,
                events: &events,
                dt: 0.025,
            };
            let run = |k: &dyn SynapseKernels<f64>| {
                let pc = Columns::new(&p, rows);
                let mut init = s0.clone();
                k.init_states(&env, pc, ColumnsMut::new(&mut init, rows));
                let mut adv = s0.clone();
                k.advance_states(&env, pc, ColumnsMut::new(&mut adv, rows));
                let (mut i, mut g) = (vec![0.0; rows], vec![0.0; rows]);
                k.current(&env, pc, Columns::new(&s0, rows), &mut i, &mut g);
                // One VJP of each kernel with unit cotangents.
                let ones = vec![1.0; ns * rows];
                let (mut cpre, mut cpost, mut cp) =
                    (vec![0.0; rows], vec![0.0; rows], vec![0.0; np * rows]);
                let mut cs = ones.clone();
                k.advance_states_vjp(
                    &env,
                    pc,
                    Columns::new(&s0, rows),
                    ColumnsMut::new(&mut cs, rows),
                    SynCot {
                        v_pre: &mut cpre,
                        v_post: &mut cpost,
                        params: ColumnsMut::new(&mut cp, rows),
                    },
                );
                let mut cs2 = vec![0.0; ns * rows];
                k.current_vjp(
                    &env,
                    pc,
                    Columns::new(&s0, rows),
                    &vec![1.0; rows],
                    &vec![0.5; rows],
                    ColumnsMut::new(&mut cs2, rows),
                    SynCot {
                        v_pre: &mut cpre,
                        v_post: &mut cpost,
                        params: ColumnsMut::new(&mut cp, rows),
                    },
                );
                k.init_states_vjp(
                    &env,
                    pc,
                    Columns::new(&ones, rows),
                    SynCot {
                        v_pre: &mut cpre,
                        v_post: &mut cpost,
                        params: ColumnsMut::new(&mut cp, rows),
                    },
                );
                [init, adv, i, g, cs, cs2, cpre, cpost, cp].concat()
            };
            let native = run(syn.native().expect("library synapses are native"));
            let compiled = run(&CompiledSynapse::<f64>::new(&syn.ir(0.025)));
            for (k, (a, b)) in native.iter().zip(&compiled).enumerate() {
                let tol = 1e-13 * a.abs().max(1e-12);
                assert!(
                    (a - b).abs() <= tol,
                    "{}: value {k}: {a} vs {b}",
                    syn.name()
                );
            }
        }
    }
}
