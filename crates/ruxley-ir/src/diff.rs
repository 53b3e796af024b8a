//! Exact derivatives of graphs, as graphs, with the rules of the dual
//! numbers of `ruxley_core::real`, so that a derived graph computes what a
//! dual-number evaluation of the same code computes.
//!
//! Vector-Jacobian products are assembled from forward-mode tangents, one
//! per input, as the dual-number kernels do. Reverse mode would be smaller,
//! but it sends zero adjoints into the branch a select did not take, where
//! they meet that branch's values; a guarded 0/0 there (vtrap at its
//! singularity) turns 0 x inf into NaN. Tangents stay inside their branch
//! and the select drops them.

use crate::graph::{Builder, Graph, Node, Op};

/// Forward mode: the tangent of every node before `upto`, given the
/// tangents of some nodes (`seeds`: node, tangent); `None` is zero.
pub fn tangents(b: &mut Builder, upto: usize, seeds: &[(Node, Node)]) -> Vec<Option<Node>> {
    let mut t: Vec<Option<Node>> = vec![None; upto];
    for k in 0..upto {
        if let Some(&(_, s)) = seeds.iter().find(|(n, _)| *n as usize == k) {
            t[k] = Some(s);
            continue;
        }
        let node = k as Node;
        let ta = |i: Node| t[i as usize];
        t[k] = match b.op(node) {
            Op::Const(_) | Op::Input(_) => None,
            Op::Add(a, c) => {
                let (x, y) = (ta(a), ta(c));
                b.add_opt(x, y)
            }
            Op::Sub(a, c) => match (ta(a), ta(c)) {
                (x, None) => x,
                (None, Some(y)) => Some(b.neg(y)),
                (Some(x), Some(y)) => Some(b.sub(x, y)),
            },
            Op::Mul(a, c) => {
                let (x, y) = (ta(a), ta(c));
                let x = b.scale(x, c);
                // Dual: eps_a * b + a * eps_b.
                let y = y.map(|y| b.mul(a, y));
                b.add_opt(x, y)
            }
            Op::Div(a, c) => {
                // Dual: (eps_a - q eps_b) / b.
                let (x, y) = (ta(a), ta(c));
                let qy = y.map(|y| b.mul(node, y));
                let num = match (x, qy) {
                    (x, None) => x,
                    (None, Some(z)) => Some(b.neg(z)),
                    (Some(x), Some(z)) => Some(b.sub(x, z)),
                };
                num.map(|n| b.div(n, c))
            }
            Op::Neg(a) => ta(a).map(|x| b.neg(x)),
            Op::Abs(a) => ta(a).map(|x| {
                let (zero, nx) = (b.cst(0.0), b.neg(x));
                b.push(Op::SelectLt(a, zero, nx, x))
            }),
            Op::Exp(a) => b.scale(ta(a), node),
            Op::Ln(a) => ta(a).map(|x| b.div(x, a)),
            Op::Sqrt(a) => ta(a).map(|x| {
                let two = b.cst(2.0);
                let d = b.mul(node, two);
                b.div(x, d)
            }),
            Op::Tanh(a) => ta(a).map(|x| {
                let d = tanh_slope(b, node);
                b.mul(x, d)
            }),
            Op::Powf(a, p) => {
                ta(a).and_then(|x| powf_slope(b, a, f64::from_bits(p)).map(|d| b.mul(x, d)))
            }
            Op::Powi(a, n) => ta(a).and_then(|x| powi_slope(b, a, n).map(|d| b.mul(x, d))),
            Op::SelectLt(a, c, th, el) => select(b, Op::SelectLt, a, c, ta(th), ta(el)),
            Op::SelectEq(a, c, th, el) => select(b, Op::SelectEq, a, c, ta(th), ta(el)),
            Op::Spike(a, s) => ta(a).map(|x| {
                let d = surrogate(b, a, s);
                b.mul(x, d)
            }),
        };
    }
    t
}

/// 1 - t^2 for t = tanh(a).
fn tanh_slope(b: &mut Builder, t: Node) -> Node {
    let (one, t2) = (b.cst(1.0), b.mul(t, t));
    b.sub(one, t2)
}

/// p a^(p-1), or None (zero) for p = 0.
fn powf_slope(b: &mut Builder, a: Node, p: f64) -> Option<Node> {
    (p != 0.0).then(|| {
        let y = b.push(Op::Powf(a, (p - 1.0).to_bits()));
        let c = b.cst(p);
        b.mul(y, c)
    })
}

/// n a^(n-1), or None (zero) for n = 0.
fn powi_slope(b: &mut Builder, a: Node, n: i32) -> Option<Node> {
    (n != 0).then(|| {
        let y = b.push(Op::Powi(a, n - 1));
        let c = b.cst(n as f64);
        b.mul(y, c)
    })
}

/// The surrogate slope 0.5 s / (1 + s |a|)^2 of a spike, written as the
/// dual numbers compute it: (k k)^-1 (s 0.5) with k = |a| s + 1.
fn surrogate(b: &mut Builder, a: Node, s: Node) -> Node {
    let abs = b.push(Op::Abs(a));
    let prod = b.mul(abs, s);
    let one = b.cst(1.0);
    let k = b.add(prod, one);
    let kk = b.mul(k, k);
    let inv = b.div(one, kk);
    let half = b.cst(0.5);
    let hs = b.mul(s, half);
    b.mul(inv, hs)
}

/// The derivative of a select: the chosen branch's.
fn select(
    b: &mut Builder,
    make: fn(Node, Node, Node, Node) -> Op,
    a: Node,
    c: Node,
    t: Option<Node>,
    e: Option<Node>,
) -> Option<Node> {
    if t.is_none() && e.is_none() {
        return None;
    }
    let (t, e) = (b.or_zero(t), b.or_zero(e));
    Some(b.push(make(a, c, t, e)))
}

impl Graph {
    /// The graph of the vector-Jacobian product: its inputs are this
    /// graph's, then one cotangent per output; its outputs are the
    /// cotangents of input slots `wrt`, in order (constant 0 where an input
    /// does not matter).
    pub fn vjp(&self, wrt: &[usize]) -> Graph {
        let mut b = Builder::extend(self);
        let upto = b.len();
        let first = b.add_inputs(self.outputs().len());
        let cots: Vec<Node> = (0..self.outputs().len())
            .map(|k| b.input(first + k))
            .collect();
        let one = b.cst(1.0);
        let outputs = wrt
            .iter()
            .map(|&slot| {
                let Some(n) = self
                    .ops()
                    .iter()
                    .position(|op| *op == Op::Input(slot as u32))
                else {
                    return b.cst(0.0);
                };
                let t = tangents(&mut b, upto, &[(n as Node, one)]);
                let mut sum = None;
                for (&o, &c) in self.outputs().iter().zip(&cots) {
                    let term = t[o as usize].map(|d| b.mul(c, d));
                    sum = b.add_opt(sum, term);
                }
                b.or_zero(sum)
            })
            .collect();
        b.finish(outputs)
    }

    /// This graph with more outputs: the derivatives of its outputs with
    /// respect to input slot `wrt` (forward mode), after its own.
    pub fn with_derivatives(&self, wrt: usize) -> Graph {
        let mut b = Builder::extend(self);
        let upto = b.len();
        let one = b.cst(1.0);
        let seeds: Vec<(Node, Node)> = self
            .ops()
            .iter()
            .position(|op| *op == Op::Input(wrt as u32))
            .map(|n| (n as Node, one))
            .into_iter()
            .collect();
        let t = tangents(&mut b, upto, &seeds);
        let mut outputs = self.outputs().to_vec();
        for &o in self.outputs() {
            let d = b.or_zero(t[o as usize]);
            outputs.push(d);
        }
        b.finish(outputs)
    }
}
