//! The values statements compute on: known when the graph is built, or
//! computed in the run; with the few rewrites that keep the recorded graphs
//! as small as hand-written kernels (no multiplications by 1, divisions by
//! constants as multiplications, `a / (c / x)` as `(a / c) x`).

use std::ops::{Add, Div, Mul, Neg, Sub};

use ruxley_core::Real;

/// A value: known when the graph is built, or one of the run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Val<R> {
    /// Known now.
    Known(f64),
    /// Computed in the run.
    Run(R),
    /// `c / x` computed in the run (`value`), remembered as such so that a
    /// division by it becomes a multiplication (`tau = 1/(a + b)`, then
    /// `(inf - x)/tau`).
    Recip {
        /// c / x.
        value: R,
        /// The numerator.
        c: f64,
        /// The denominator.
        x: R,
    },
}

use Val::{Known, Recip, Run};

impl<R: Real> Val<R> {
    /// As a run value.
    pub fn run(self) -> R {
        match self {
            Known(x) => R::cst(x),
            Run(r) | Recip { value: r, .. } => r,
        }
    }

    /// `k` of a known value, `r` of a run one.
    pub fn map(self, k: impl Fn(f64) -> f64, r: impl Fn(R) -> R) -> Self {
        match self {
            Known(x) => Known(k(x)),
            v => Run(r(v.run())),
        }
    }

    fn zip(self, o: Self, k: impl Fn(f64, f64) -> f64, r: impl Fn(R, R) -> R) -> Self {
        match (self, o) {
            (Known(a), Known(b)) => Known(k(a, b)),
            (a, b) => Run(r(a.run(), b.run())),
        }
    }

    /// self^p.
    pub fn pow(self, p: Self) -> Self {
        match (self, p) {
            (Known(a), Known(b)) => Known(a.powf(b)),
            (a, Known(1.0)) => a,
            (a, Known(b)) => Run(a.run().powf(b)),
            (a, b) => Run((b.run() * a.run().ln()).exp()),
        }
    }
}

impl<R: Real> Add for Val<R> {
    type Output = Self;
    fn add(self, o: Self) -> Self {
        match (self, o) {
            (Known(z), v) | (v, Known(z)) if z == 0.0 && !matches!(v, Known(_)) => v,
            (a, b) => a.zip(b, |p, q| p + q, |p, q| p + q),
        }
    }
}

impl<R: Real> Sub for Val<R> {
    type Output = Self;
    fn sub(self, o: Self) -> Self {
        match (self, o) {
            (v, Known(z)) if z == 0.0 && !matches!(v, Known(_)) => v,
            (Known(z), v) if z == 0.0 && !matches!(v, Known(_)) => -v,
            (a, b) => a.zip(b, |p, q| p - q, |p, q| p - q),
        }
    }
}

impl<R: Real> Mul for Val<R> {
    type Output = Self;
    fn mul(self, o: Self) -> Self {
        match (self, o) {
            (Known(one), v) | (v, Known(one)) if one == 1.0 && !matches!(v, Known(_)) => v,
            (Known(m), v) | (v, Known(m)) if m == -1.0 && !matches!(v, Known(_)) => -v,
            (a, b) => a.zip(b, |p, q| p * q, |p, q| p * q),
        }
    }
}

impl<R: Real> Div for Val<R> {
    type Output = Self;
    /// Divisions by a constant or by a remembered reciprocal become
    /// multiplications (a rounding apart from the division; divisions are
    /// the slowest arithmetic).
    fn div(self, o: Self) -> Self {
        match (self, o) {
            (Known(a), Known(b)) => Known(a / b),
            (a, Known(b)) if b != 0.0 && b.is_finite() => a * Known(1.0 / b),
            (a, Recip { c, x, .. }) if c != 0.0 && c.is_finite() => a * Known(1.0 / c) * Run(x),
            (Known(c), x) => Recip {
                value: R::cst(c) / x.run(),
                c,
                x: x.run(),
            },
            (a, b) => Run(a.run() / b.run()),
        }
    }
}

impl<R: Real> Neg for Val<R> {
    type Output = Self;
    fn neg(self) -> Self {
        match self {
            Known(x) => Known(-x),
            Run(r) => Run(-r),
            Recip { value, c, x } => Recip {
                value: -value,
                c: -c,
                x,
            },
        }
    }
}

/// A test a branch takes, on a value of the run: `x < c` or `x == c`,
/// possibly negated; or known now.
#[derive(Debug, Clone, Copy)]
pub enum Branch<R> {
    /// Known now.
    Known(bool),
    /// `x < c` (or, negated, its negation).
    Lt(R, f64, bool),
    /// `x == c` (or, negated, its negation).
    Eq(R, f64, bool),
}

impl<R: Real + PartialEq> Branch<R> {
    /// The branch not taken.
    pub fn not(self) -> Self {
        match self {
            Branch::Known(b) => Branch::Known(!b),
            Branch::Lt(x, c, n) => Branch::Lt(x, c, !n),
            Branch::Eq(x, c, n) => Branch::Eq(x, c, !n),
        }
    }

    /// `a < b`.
    pub fn lt(a: Val<R>, b: Val<R>) -> Self {
        match (a, b) {
            (Known(p), Known(q)) => Branch::Known(p < q),
            (x, Known(c)) => Branch::Lt(x.run(), c, false),
            (a, b) => Branch::Lt((a - b).run(), 0.0, false),
        }
    }

    /// `a == b`.
    pub fn eq(a: Val<R>, b: Val<R>) -> Self {
        match (a, b) {
            (Known(p), Known(q)) => Branch::Known(p == q),
            (x, Known(c)) | (Known(c), x) => Branch::Eq(x.run(), c, false),
            (a, b) => Branch::Eq((a - b).run(), 0.0, false),
        }
    }

    /// A number as a test: true where it is not zero.
    pub fn truth(v: Val<R>) -> Self {
        Self::eq(v, Known(0.0)).not()
    }

    /// `then` where the test holds, else `otherwise`.
    pub fn select(self, then: Val<R>, otherwise: Val<R>) -> Val<R> {
        if then == otherwise {
            return then;
        }
        let (t, e) = (then.run(), otherwise.run());
        match self {
            Branch::Known(b) => {
                if b {
                    then
                } else {
                    otherwise
                }
            }
            Branch::Lt(x, c, false) => Run(x.if_lt(c, t, e)),
            Branch::Lt(x, c, true) => Run(x.if_lt(c, e, t)),
            Branch::Eq(x, c, false) => Run(x.if_eq(c, t, e)),
            Branch::Eq(x, c, true) => Run(x.if_eq(c, e, t)),
        }
    }

    /// The test as a number: 1 where it holds, else 0.
    pub fn value(self) -> Val<R> {
        self.select(Known(1.0), Known(0.0))
    }
}
