//! Evaluating graphs on the CPU: one point at a time ([`Graph::eval`]), and
//! compiled to a register program run over blocks of rows ([`Program`]),
//! whose inner loops over the rows of a block vectorise.

use ruxley_core::Float;

use crate::graph::{Graph, Node, Op};

/// The value of `op` on operand values `x` (in operand order), in precision
/// `F`, with the arithmetic of the `Real` implementation of `f64` (and its
/// counterpart for `f32`).
#[inline(always)]
pub fn apply_in<F: Float>(op: &Op, x: &[F; 4]) -> F {
    match *op {
        Op::Const(bits) => F::of(f64::from_bits(bits)),
        Op::Input(_) => panic!("inputs have no operands"),
        Op::Add(..) => x[0] + x[1],
        Op::Sub(..) => x[0] - x[1],
        Op::Mul(..) => x[0] * x[1],
        Op::Div(..) => x[0] / x[1],
        Op::Neg(_) => -x[0],
        Op::Abs(_) => x[0].abs(),
        Op::Exp(_) => x[0].exp(),
        Op::Ln(_) => x[0].ln(),
        Op::Sqrt(_) => x[0].sqrt(),
        Op::Tanh(_) => x[0].tanh(),
        Op::Powf(_, p) => x[0].powf(F::of(f64::from_bits(p))),
        Op::Powi(_, n) => x[0].powi(n),
        Op::SelectLt(..) => {
            if x[0] < x[1] {
                x[2]
            } else {
                x[3]
            }
        }
        Op::SelectEq(..) => {
            if x[0] == x[1] {
                x[2]
            } else {
                x[3]
            }
        }
        Op::Spike(..) => {
            if x[0] >= F::zero() {
                F::one()
            } else {
                F::zero()
            }
        }
    }
}

/// [`apply_in`] in f64 (constant folding uses it).
pub fn apply(op: &Op, x: &[f64; 4]) -> f64 {
    apply_in(op, x)
}

impl Graph {
    /// The outputs at one point, in f64 (a reference; slow).
    pub fn eval(&self, inputs: &[f64]) -> Vec<f64> {
        self.eval_in(inputs)
    }

    /// The outputs at one point, in precision `F`.
    pub fn eval_in<F: Float>(&self, inputs: &[F]) -> Vec<F> {
        assert_eq!(inputs.len(), self.n_inputs(), "input count");
        let mut values: Vec<F> = Vec::with_capacity(self.ops().len());
        for op in self.ops() {
            let v = match *op {
                Op::Input(k) => inputs[k as usize],
                _ => {
                    let mut x = [F::zero(); 4];
                    for (j, a) in op.operands().enumerate() {
                        x[j] = values[a as usize];
                    }
                    apply_in(op, &x)
                }
            };
            values.push(v);
        }
        self.outputs().iter().map(|&o| values[o as usize]).collect()
    }
}

/// The rows a [`Program`] evaluates per instruction.
pub const BLOCK: usize = 64;

/// Register number `k`.
fn register(k: usize) -> u16 {
    u16::try_from(k).expect("a graph needs fewer than 65536 registers")
}

/// One instruction: an operation on registers (`Op` operands are register
/// numbers here), or a load of an input column into a register.
#[derive(Debug, Clone, Copy)]
enum Instr {
    Load { dst: u16, slot: u16 },
    Apply { dst: u16, op: Op },
}

/// Where an output comes from.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Source<F> {
    Register(u16),
    Constant(F),
}

/// A graph compiled for the CPU in precision `F`: a register program
/// executed [`BLOCK`] rows at a time. Registers are reused once their value
/// is dead, so that a block's working set stays in the first-level cache.
#[derive(Debug, Clone)]
pub struct Program<F: Float> {
    /// Tells this program's registers apart in a shared [`Scratch`].
    id: u64,
    code: Vec<Instr>,
    /// Registers holding constants, filled once per call.
    constants: Vec<(u16, F)>,
    registers: usize,
    outputs: Vec<Source<F>>,
    inputs: usize,
}

/// Register space for running [`Program`]s; reuse it across calls to avoid
/// allocating. Each program gets registers of its own, whose constants are
/// filled once, when the program first runs in it.
#[derive(Debug, Clone, Default)]
pub struct Scratch<F> {
    files: Vec<(u64, Vec<[F; BLOCK]>)>,
}

impl<F: Float> Program<F> {
    /// Compiles `graph`.
    pub fn new(graph: &Graph) -> Self {
        let ops = graph.ops();
        let n = ops.len();
        // The last node that reads each node (outputs live to the end).
        let mut last_use = vec![0usize; n];
        for (k, op) in ops.iter().enumerate() {
            for a in op.operands() {
                last_use[a as usize] = k;
            }
        }
        for &o in graph.outputs() {
            last_use[o as usize] = usize::MAX;
        }
        let mut reg_of = vec![u16::MAX; n];
        // Constants first, in registers of their own: they are filled once
        // per call, before any instruction runs.
        let mut constants = Vec::new();
        for (k, op) in ops.iter().enumerate() {
            if let Op::Const(bits) = *op {
                reg_of[k] = register(constants.len());
                constants.push((reg_of[k], F::of(f64::from_bits(bits))));
            }
        }
        let mut registers = constants.len();
        let mut free: Vec<u16> = Vec::new();
        let mut take = |free: &mut Vec<u16>| {
            free.pop().unwrap_or_else(|| {
                registers += 1;
                register(registers - 1)
            })
        };
        let mut code = Vec::with_capacity(n);
        for (k, op) in ops.iter().enumerate() {
            match *op {
                Op::Const(_) => {}
                Op::Input(slot) => {
                    let r = take(&mut free);
                    reg_of[k] = r;
                    code.push(Instr::Load {
                        dst: r,
                        slot: slot as u16,
                    });
                }
                _ => {
                    let mapped = op.map(|a| reg_of[a as usize] as Node);
                    // The destination is never an operand's register (the
                    // block loops rely on it), so operands that die here are
                    // freed after it is chosen.
                    let r = take(&mut free);
                    reg_of[k] = r;
                    for a in op.operands() {
                        let dies =
                            last_use[a as usize] == k && !matches!(ops[a as usize], Op::Const(_));
                        let ra = reg_of[a as usize];
                        if dies && !free.contains(&ra) {
                            free.push(ra);
                        }
                    }
                    code.push(Instr::Apply { dst: r, op: mapped });
                }
            }
        }
        let outputs = graph
            .outputs()
            .iter()
            .map(|&o| match ops[o as usize] {
                Op::Const(bits) => Source::Constant(F::of(f64::from_bits(bits))),
                _ => Source::Register(reg_of[o as usize]),
            })
            .collect();
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        Self {
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            code,
            constants,
            registers,
            outputs,
            inputs: graph.n_inputs(),
        }
    }

    /// The registers a run uses per row.
    #[cfg(test)]
    pub(crate) fn registers(&self) -> usize {
        self.registers
    }

    /// The number of outputs.
    pub fn n_outputs(&self) -> usize {
        self.outputs.len()
    }

    /// The value of output `k` if it is the same constant for every row.
    pub fn constant_output(&self, k: usize) -> Option<F> {
        match self.outputs[k] {
            Source::Constant(c) => Some(c),
            Source::Register(_) => None,
        }
    }

    /// Evaluates rows `0..rows`: input slot k reads `inputs[k][row]`, and
    /// `sink(output, first row, values)` receives each output for each
    /// block of rows (`values.len()` rows from `first row`). Allocates only
    /// the first time this program runs in `scratch`.
    pub fn run(
        &self,
        rows: usize,
        inputs: &[&[F]],
        scratch: &mut Scratch<F>,
        sink: &mut dyn FnMut(usize, usize, &[F]),
    ) {
        assert_eq!(inputs.len(), self.inputs, "input count");
        let file = match scratch.files.iter().position(|f| f.0 == self.id) {
            Some(k) => k,
            None => {
                let mut regs = vec![[F::zero(); BLOCK]; self.registers];
                for &(r, c) in &self.constants {
                    regs[r as usize] = [c; BLOCK];
                }
                scratch.files.push((self.id, regs));
                scratch.files.len() - 1
            }
        };
        let regs = &mut scratch.files[file].1;
        let mut start = 0;
        while start < rows {
            let len = BLOCK.min(rows - start);
            execute(&self.code, inputs, start, len, regs);
            for (k, out) in self.outputs.iter().enumerate() {
                match *out {
                    Source::Register(r) => sink(k, start, &regs[r as usize][..len]),
                    Source::Constant(c) => sink(k, start, &[c; BLOCK][..len]),
                }
            }
            start += len;
        }
    }
}

ruxley_core::multiversion! {
    /// Runs `code` on rows `start..start + len` (the lanes beyond `len`
    /// compute on zeros and are not read).
    fn execute<F: Float>(code: &[Instr], inputs: &[&[F]], start: usize, len: usize, regs: &mut [[F; BLOCK]]) {
        for instr in code {
            match *instr {
                Instr::Load { dst, slot } => {
                    let d = &mut regs[dst as usize];
                    d[..len].copy_from_slice(&inputs[slot as usize][start..start + len]);
                    d[len..].fill(F::zero());
                }
                Instr::Apply { dst, op } => apply_block(dst, op, regs),
            }
        }
    }
}

/// One operation over a block, as a loop the compiler vectorises.
#[inline(always)]
fn apply_block<F: Float>(dst: u16, op: Op, regs: &mut [[F; BLOCK]]) {
    let n = regs.len();
    let check = |r: Node| {
        assert!(
            (r as usize) < n && r != dst as Node,
            "register {r} (dst {dst})"
        );
        r as usize
    };
    let operands: [usize; 4] = {
        let mut o = [0; 4];
        for (k, a) in op.operands().enumerate() {
            o[k] = check(a);
        }
        o
    };
    assert!((dst as usize) < n);
    let base = regs.as_mut_ptr();
    // SAFETY: every register index is in bounds (checked above), and the
    // destination is distinct from every operand (checked above; the
    // register allocator guarantees it), so the mutable reference to the
    // destination aliases none of the shared ones.
    let (out, reg) = unsafe {
        (&mut *base.add(dst as usize), |k: usize| -> &[F; BLOCK] {
            &*base.add(operands[k])
        })
    };
    macro_rules! unary {
        (|$x:ident| $e:expr) => {{
            let a = reg(0);
            for i in 0..BLOCK {
                let $x = a[i];
                out[i] = $e;
            }
        }};
    }
    macro_rules! binary {
        (|$x:ident, $y:ident| $e:expr) => {{
            let (a, b) = (reg(0), reg(1));
            for i in 0..BLOCK {
                let ($x, $y) = (a[i], b[i]);
                out[i] = $e;
            }
        }};
    }
    match op {
        Op::Const(_) | Op::Input(_) => unreachable!("not an instruction"),
        Op::Add(..) => binary!(|x, y| x + y),
        Op::Sub(..) => binary!(|x, y| x - y),
        Op::Mul(..) => binary!(|x, y| x * y),
        Op::Div(..) => binary!(|x, y| x / y),
        Op::Neg(_) => unary!(|x| -x),
        Op::Abs(_) => unary!(|x| x.abs()),
        Op::Exp(_) => unary!(|x| x.exp()),
        Op::Ln(_) => unary!(|x| x.ln()),
        Op::Sqrt(_) => unary!(|x| x.sqrt()),
        Op::Tanh(_) => unary!(|x| x.tanh()),
        Op::Powf(_, p) => {
            let p = F::of(f64::from_bits(p));
            unary!(|x| x.powf(p))
        }
        Op::Powi(_, n) => unary!(|x| x.powi(n)),
        Op::Spike(..) => unary!(|x| if x >= F::zero() { F::one() } else { F::zero() }),
        Op::SelectLt(..) | Op::SelectEq(..) => {
            let lt = matches!(op, Op::SelectLt(..));
            let (a, b, t, e) = (reg(0), reg(1), reg(2), reg(3));
            if lt {
                for i in 0..BLOCK {
                    out[i] = if a[i] < b[i] { t[i] } else { e[i] };
                }
            } else {
                for i in 0..BLOCK {
                    out[i] = if a[i] == b[i] { t[i] } else { e[i] };
                }
            }
        }
    }
}
