//! Expression graphs and the builder that records them.

use std::collections::HashMap;
use std::fmt;

/// A node of a graph: an index into [`Graph::ops`]. Operands always have
/// smaller indices than the nodes that use them.
pub type Node = u32;

/// One operation. Constants are `f64` bit patterns, so that graphs can be
/// hashed and compared (a graph is a GPU kernel's cache key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// A constant (`f64::to_bits`).
    Const(u64),
    /// Input slot `k`.
    Input(u32),
    /// a + b.
    Add(Node, Node),
    /// a - b.
    Sub(Node, Node),
    /// a * b.
    Mul(Node, Node),
    /// a / b.
    Div(Node, Node),
    /// -a.
    Neg(Node),
    /// |a|.
    Abs(Node),
    /// e^a.
    Exp(Node),
    /// ln a.
    Ln(Node),
    /// The square root of a.
    Sqrt(Node),
    /// tanh a.
    Tanh(Node),
    /// a^p for a constant p (`f64::to_bits`).
    Powf(Node, u64),
    /// a^n.
    Powi(Node, i32),
    /// `t` where a < b, else `e`.
    SelectLt(Node, Node, Node, Node),
    /// `t` where a == b, else `e`.
    SelectEq(Node, Node, Node, Node),
    /// 1 where a >= 0, else 0; its derivative is the surrogate
    /// 0.5 s / (1 + s |a|)^2 of slope s (see `Real::spike`).
    Spike(Node, Node),
}

impl Op {
    /// The operands.
    pub fn operands(&self) -> impl Iterator<Item = Node> {
        let (list, n): ([Node; 4], usize) = match *self {
            Op::Const(_) | Op::Input(_) => ([0; 4], 0),
            Op::Neg(a)
            | Op::Abs(a)
            | Op::Exp(a)
            | Op::Ln(a)
            | Op::Sqrt(a)
            | Op::Tanh(a)
            | Op::Powf(a, _)
            | Op::Powi(a, _) => ([a, 0, 0, 0], 1),
            Op::Add(a, b) | Op::Sub(a, b) | Op::Mul(a, b) | Op::Div(a, b) | Op::Spike(a, b) => {
                ([a, b, 0, 0], 2)
            }
            Op::SelectLt(a, b, t, e) | Op::SelectEq(a, b, t, e) => ([a, b, t, e], 4),
        };
        list.into_iter().take(n)
    }

    /// The same operation on other operands (`f` maps each operand).
    pub fn map(self, mut f: impl FnMut(Node) -> Node) -> Op {
        match self {
            Op::Const(_) | Op::Input(_) => self,
            Op::Add(a, b) => Op::Add(f(a), f(b)),
            Op::Sub(a, b) => Op::Sub(f(a), f(b)),
            Op::Mul(a, b) => Op::Mul(f(a), f(b)),
            Op::Div(a, b) => Op::Div(f(a), f(b)),
            Op::Neg(a) => Op::Neg(f(a)),
            Op::Abs(a) => Op::Abs(f(a)),
            Op::Exp(a) => Op::Exp(f(a)),
            Op::Ln(a) => Op::Ln(f(a)),
            Op::Sqrt(a) => Op::Sqrt(f(a)),
            Op::Tanh(a) => Op::Tanh(f(a)),
            Op::Powf(a, p) => Op::Powf(f(a), p),
            Op::Powi(a, n) => Op::Powi(f(a), n),
            Op::SelectLt(a, b, t, e) => Op::SelectLt(f(a), f(b), f(t), f(e)),
            Op::SelectEq(a, b, t, e) => Op::SelectEq(f(a), f(b), f(t), f(e)),
            Op::Spike(a, b) => Op::Spike(f(a), f(b)),
        }
    }
}

/// A function of numbered inputs with numbered outputs, as a list of
/// operations in evaluation order (a straight-line program).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Graph {
    ops: Vec<Op>,
    outputs: Vec<Node>,
    inputs: u32,
}

impl Graph {
    /// The operations; node k is `ops()[k]`.
    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    /// The output nodes.
    pub fn outputs(&self) -> &[Node] {
        &self.outputs
    }

    /// The number of input slots.
    pub fn n_inputs(&self) -> usize {
        self.inputs as usize
    }

    /// The constant value of output `k`, if it is a constant.
    pub fn constant_output(&self, k: usize) -> Option<f64> {
        match self.ops[self.outputs[k] as usize] {
            Op::Const(bits) => Some(f64::from_bits(bits)),
            _ => None,
        }
    }

    /// A graph of the same function that keeps only the nodes the outputs
    /// need.
    fn pruned(ops: Vec<Op>, outputs: Vec<Node>, inputs: u32) -> Graph {
        let mut live = vec![false; ops.len()];
        for &o in &outputs {
            live[o as usize] = true;
        }
        for k in (0..ops.len()).rev() {
            if live[k] {
                for a in ops[k].operands() {
                    live[a as usize] = true;
                }
            }
        }
        let mut new_index = vec![Node::MAX; ops.len()];
        let mut kept = Vec::with_capacity(ops.len());
        for (k, op) in ops.into_iter().enumerate() {
            if live[k] {
                new_index[k] = kept.len() as Node;
                kept.push(op.map(|a| new_index[a as usize]));
            }
        }
        Graph {
            ops: kept,
            outputs: outputs.iter().map(|&o| new_index[o as usize]).collect(),
            inputs,
        }
    }
}

impl fmt::Debug for Graph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "graph ({} inputs)", self.inputs)?;
        for (k, op) in self.ops.iter().enumerate() {
            match op {
                Op::Const(bits) => writeln!(f, "  n{k} = {:e}", f64::from_bits(*bits))?,
                Op::Input(s) => writeln!(f, "  n{k} = in{s}")?,
                other => writeln!(f, "  n{k} = {other:?}")?,
            }
        }
        writeln!(f, "  out {:?}", self.outputs)
    }
}

/// Records operations into a graph: equal operations on equal operands
/// become one node, and operations on constants are computed at once
/// (with the same arithmetic as `f64` kernels, so results do not change).
#[derive(Debug, Default)]
pub struct Builder {
    ops: Vec<Op>,
    index: HashMap<Op, Node>,
    inputs: u32,
}

impl Builder {
    /// An empty builder with `inputs` input slots.
    pub fn new(inputs: usize) -> Self {
        Self {
            inputs: inputs as u32,
            ..Self::default()
        }
    }

    /// A builder that continues `graph` (its nodes keep their numbers).
    pub fn extend(graph: &Graph) -> Self {
        let mut b = Self::new(graph.n_inputs());
        for op in &graph.ops {
            b.push(*op);
        }
        b
    }

    /// Adds more input slots; returns the first new one.
    pub fn add_inputs(&mut self, n: usize) -> usize {
        let first = self.inputs as usize;
        self.inputs += n as u32;
        first
    }

    /// The operation at `node`.
    pub fn op(&self, node: Node) -> Op {
        self.ops[node as usize]
    }

    /// The number of nodes so far.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// True before any node is recorded.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Records `op` (or finds it, or folds it into a constant).
    pub fn push(&mut self, op: Op) -> Node {
        let op = self.fold(op);
        if let Some(&n) = self.index.get(&op) {
            return n;
        }
        if let Op::Input(k) = op {
            assert!(k < self.inputs, "input slot {k} of {}", self.inputs);
        }
        let n = self.ops.len() as Node;
        self.ops.push(op);
        self.index.insert(op, n);
        n
    }

    /// `op` with constant operands replaced by its value.
    fn fold(&self, op: Op) -> Op {
        if matches!(op, Op::Const(_) | Op::Input(_)) {
            return op;
        }
        let mut values = [0.0; 4];
        for (k, a) in op.operands().enumerate() {
            match self.ops[a as usize] {
                Op::Const(bits) => values[k] = f64::from_bits(bits),
                _ => return op,
            }
        }
        Op::Const(crate::eval::apply(&op, &values).to_bits())
    }

    /// A constant.
    pub fn cst(&mut self, x: f64) -> Node {
        self.push(Op::Const(x.to_bits()))
    }

    /// Input slot `k`.
    pub fn input(&mut self, k: usize) -> Node {
        self.push(Op::Input(k as u32))
    }

    /// The graph computing `outputs`, without the nodes they do not need.
    pub fn finish(self, outputs: Vec<Node>) -> Graph {
        Graph::pruned(self.ops, outputs, self.inputs)
    }
}

/// Shorthands that build derivative expressions, treating `None` as a
/// structural zero so that derivative graphs stay small.
impl Builder {
    pub(crate) fn add(&mut self, a: Node, b: Node) -> Node {
        self.push(Op::Add(a, b))
    }
    pub(crate) fn sub(&mut self, a: Node, b: Node) -> Node {
        self.push(Op::Sub(a, b))
    }
    pub(crate) fn mul(&mut self, a: Node, b: Node) -> Node {
        self.push(Op::Mul(a, b))
    }
    pub(crate) fn div(&mut self, a: Node, b: Node) -> Node {
        self.push(Op::Div(a, b))
    }
    pub(crate) fn neg(&mut self, a: Node) -> Node {
        self.push(Op::Neg(a))
    }
    /// a + b with zeros left out.
    pub(crate) fn add_opt(&mut self, a: Option<Node>, b: Option<Node>) -> Option<Node> {
        match (a, b) {
            (Some(a), Some(b)) => Some(self.add(a, b)),
            (a, None) => a,
            (None, b) => b,
        }
    }
    /// a * factor with a zero left out.
    pub(crate) fn scale(&mut self, a: Option<Node>, factor: Node) -> Option<Node> {
        a.map(|a| self.mul(a, factor))
    }
    /// The node, or a constant 0.
    pub(crate) fn or_zero(&mut self, a: Option<Node>) -> Node {
        match a {
            Some(a) => a,
            None => self.cst(0.0),
        }
    }
}
