//! Recording code written over [`Real`] into a [`Graph`].

use std::cell::RefCell;
use std::ops::{Add, Div, Mul, Neg, Sub};

use ruxley_core::Real;

use crate::graph::{Builder, Graph, Node, Op};

thread_local! {
    static BUILDER: RefCell<Option<Builder>> = const { RefCell::new(None) };
}

/// A value being recorded: a node of the graph that [`trace`] builds. Code
/// written over [`Real`] run on `Expr` records what it computes instead of
/// computing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expr(Node);

impl Expr {
    /// The node.
    pub fn node(self) -> Node {
        self.0
    }
}

fn record(op: Op) -> Expr {
    BUILDER.with(|b| {
        Expr(
            b.borrow_mut()
                .as_mut()
                .expect("an Expr is used outside ruxley_ir::trace")
                .push(op),
        )
    })
}

fn cst(x: f64) -> Node {
    record(Op::Const(x.to_bits())).0
}

/// Records `f` applied to `n_inputs` input values: returns the graph of the
/// values `f` returns. `f` must compute with the [`Expr`]s it is given (and
/// constants), and may not call `trace` itself.
pub fn trace(n_inputs: usize, f: impl FnOnce(&[Expr]) -> Vec<Expr>) -> Graph {
    BUILDER.with(|b| {
        let mut slot = b.borrow_mut();
        assert!(slot.is_none(), "ruxley_ir::trace does not nest");
        *slot = Some(Builder::new(n_inputs));
    });
    // Take the builder back even if `f` panics, so the thread stays usable.
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            BUILDER.with(|b| b.borrow_mut().take());
        }
    }
    let _reset = Reset;
    let inputs: Vec<Expr> = (0..n_inputs).map(|k| record(Op::Input(k as u32))).collect();
    let outputs = f(&inputs);
    let builder = BUILDER.with(|b| b.borrow_mut().take().expect("builder present"));
    builder.finish(outputs.into_iter().map(|e| e.0).collect())
}

macro_rules! binary {
    ($($tr:ident $f:ident $op:ident),*) => {$(
        impl $tr for Expr {
            type Output = Self;
            fn $f(self, o: Self) -> Self {
                record(Op::$op(self.0, o.0))
            }
        }
        impl $tr<f64> for Expr {
            type Output = Self;
            fn $f(self, c: f64) -> Self {
                record(Op::$op(self.0, cst(c)))
            }
        }
    )*};
}
binary!(Add add Add, Sub sub Sub, Mul mul Mul, Div div Div);

impl Neg for Expr {
    type Output = Self;
    fn neg(self) -> Self {
        record(Op::Neg(self.0))
    }
}

impl Real for Expr {
    fn cst(x: f64) -> Self {
        Expr(cst(x))
    }
    fn if_lt(self, c: f64, then: Self, otherwise: Self) -> Self {
        record(Op::SelectLt(self.0, cst(c), then.0, otherwise.0))
    }
    fn if_eq(self, c: f64, then: Self, otherwise: Self) -> Self {
        record(Op::SelectEq(self.0, cst(c), then.0, otherwise.0))
    }
    fn abs(self) -> Self {
        record(Op::Abs(self.0))
    }
    fn spike(self, slope: Self) -> Self {
        record(Op::Spike(self.0, slope.0))
    }
    fn exp(self) -> Self {
        record(Op::Exp(self.0))
    }
    fn ln(self) -> Self {
        record(Op::Ln(self.0))
    }
    fn powf(self, p: f64) -> Self {
        record(Op::Powf(self.0, p.to_bits()))
    }
    fn powi(self, n: i32) -> Self {
        record(Op::Powi(self.0, n))
    }
    fn recip(self) -> Self {
        record(Op::Div(cst(1.0), self.0))
    }
    fn sqrt(self) -> Self {
        record(Op::Sqrt(self.0))
    }
    fn tanh(self) -> Self {
        record(Op::Tanh(self.0))
    }
}
