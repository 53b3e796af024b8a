//! Forward-mode derivatives with structural zeros: what cnexp and
//! derivimplicit need of an equation (its slope in its state), recorded
//! without the multiplications by zero that dual numbers would add.

use std::ops::{Add, Div, Mul, Neg, Sub};

use ruxley_core::Real;

/// A value and its derivative in one direction; `None` is an exact zero.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tan<R> {
    /// The value.
    pub re: R,
    /// The derivative.
    pub eps: Option<R>,
}

impl<R: Real> Tan<R> {
    /// A value with derivative `eps`.
    pub fn new(re: R, eps: Option<R>) -> Self {
        Self { re, eps }
    }

    /// This value's derivative scaled by `f`: the chain rule.
    fn chain(self, re: R, f: impl FnOnce(R) -> R) -> Self {
        Self::new(re, self.eps.map(f))
    }
}

fn plus<R: Real>(a: Option<R>, b: Option<R>) -> Option<R> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a + b),
        (a, None) => a,
        (None, b) => b,
    }
}

impl<R: Real> Add for Tan<R> {
    type Output = Self;
    fn add(self, o: Self) -> Self {
        Self::new(self.re + o.re, plus(self.eps, o.eps))
    }
}

impl<R: Real> Sub for Tan<R> {
    type Output = Self;
    fn sub(self, o: Self) -> Self {
        Self::new(self.re - o.re, plus(self.eps, o.eps.map(|e| -e)))
    }
}

impl<R: Real> Mul for Tan<R> {
    type Output = Self;
    fn mul(self, o: Self) -> Self {
        let eps = plus(self.eps.map(|e| e * o.re), o.eps.map(|e| self.re * e));
        Self::new(self.re * o.re, eps)
    }
}

impl<R: Real> Div for Tan<R> {
    type Output = Self;
    #[allow(clippy::suspicious_arithmetic_impl)] // the quotient rule
    fn div(self, o: Self) -> Self {
        let q = self.re / o.re;
        let num = plus(self.eps, o.eps.map(|e| -(q * e)));
        Self::new(q, num.map(|n| n / o.re))
    }
}

impl<R: Real> Neg for Tan<R> {
    type Output = Self;
    fn neg(self) -> Self {
        self.chain(-self.re, |e| -e)
    }
}

impl<R: Real> Add<f64> for Tan<R> {
    type Output = Self;
    fn add(self, c: f64) -> Self {
        Self::new(self.re + c, self.eps)
    }
}

impl<R: Real> Sub<f64> for Tan<R> {
    type Output = Self;
    fn sub(self, c: f64) -> Self {
        Self::new(self.re - c, self.eps)
    }
}

impl<R: Real> Mul<f64> for Tan<R> {
    type Output = Self;
    fn mul(self, c: f64) -> Self {
        self.chain(self.re * c, |e| e * c)
    }
}

impl<R: Real> Div<f64> for Tan<R> {
    type Output = Self;
    fn div(self, c: f64) -> Self {
        self.chain(self.re / c, |e| e / c)
    }
}

impl<R: Real> Real for Tan<R> {
    fn cst(x: f64) -> Self {
        Self::new(R::cst(x), None)
    }
    fn if_lt(self, c: f64, then: Self, otherwise: Self) -> Self {
        Self::branch(|a, b| self.re.if_lt(c, a, b), then, otherwise)
    }
    fn if_eq(self, c: f64, then: Self, otherwise: Self) -> Self {
        Self::branch(|a, b| self.re.if_eq(c, a, b), then, otherwise)
    }
    fn abs(self) -> Self {
        let re = self.re.abs();
        self.chain(re, |e| self.re.if_lt(0.0, -e, e))
    }
    fn spike(self, slope: Self) -> Self {
        Self::new(self.re.spike(slope.re), None)
    }
    fn exp(self) -> Self {
        let re = self.re.exp();
        self.chain(re, |e| e * re)
    }
    fn ln(self) -> Self {
        self.chain(self.re.ln(), |e| e / self.re)
    }
    fn powf(self, p: f64) -> Self {
        self.chain(self.re.powf(p), |e| e * self.re.powf(p - 1.0) * p)
    }
    fn powi(self, n: i32) -> Self {
        self.chain(self.re.powi(n), |e| e * self.re.powi(n - 1) * f64::from(n))
    }
    fn recip(self) -> Self {
        let re = self.re.recip();
        self.chain(re, |e| -(e * re * re))
    }
    fn sqrt(self) -> Self {
        let re = self.re.sqrt();
        self.chain(re, |e| e / (re * 2.0))
    }
    fn tanh(self) -> Self {
        let re = self.re.tanh();
        self.chain(re, |e| e * (R::cst(1.0) - re * re))
    }
}

impl<R: Real> Tan<R> {
    /// `then` or `otherwise` as `pick` chooses, derivatives included.
    fn branch(pick: impl Fn(R, R) -> R, then: Self, otherwise: Self) -> Self {
        let eps = match (then.eps, otherwise.eps) {
            (None, None) => None,
            (a, b) => Some(pick(a.unwrap_or(R::cst(0.0)), b.unwrap_or(R::cst(0.0)))),
        };
        Self::new(pick(then.re, otherwise.re), eps)
    }
}
