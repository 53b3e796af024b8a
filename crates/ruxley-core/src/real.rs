//! Number types for code written once: rate functions generic over [`Real`]
//! run on `f64`, on [`Lanes`] (several compartments at once, in SIMD
//! registers) and on forward-mode dual numbers [`Dual`] (exact derivatives:
//! `Dual<f64>` carries one first derivative, `Dual<Dual<f64>>` a mixed second
//! one) and [`MultiDual`] (derivatives in [`LANES`] directions at once).
//!
//! Branches must be written with [`Real::if_lt`] and [`Real::if_eq`], which
//! choose per lane, instead of `if`.

use std::fmt;
use std::ops::{Add, Div, Mul, Neg, Sub};

/// A real number type: `f64` or a dual number over one.
pub trait Real:
    Copy
    + fmt::Debug
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + Add<f64, Output = Self>
    + Sub<f64, Output = Self>
    + Mul<f64, Output = Self>
    + Div<f64, Output = Self>
{
    /// A constant.
    fn cst(x: f64) -> Self;
    /// `then` where self < c, else `otherwise` (per lane; derivatives follow
    /// the chosen branch).
    fn if_lt(self, c: f64, then: Self, otherwise: Self) -> Self;
    /// `then` where self == c exactly, else `otherwise` (per lane).
    fn if_eq(self, c: f64, then: Self, otherwise: Self) -> Self;
    /// |x|.
    fn abs(self) -> Self;
    /// A spike: 1 where x >= 0, else 0. Its derivative is a surrogate,
    /// 0.5 slope / (1 + slope |x|)^2 (the slope of a fast sigmoid, of unit
    /// area), or 0 for `slope` 0 (the true derivative almost everywhere).
    /// The slope carries no derivative of its own.
    fn spike(self, slope: Self) -> Self;
    /// e^x.
    fn exp(self) -> Self;
    /// The natural logarithm.
    fn ln(self) -> Self;
    /// x^p for a constant p.
    fn powf(self, p: f64) -> Self;
    /// x^n.
    fn powi(self, n: i32) -> Self;
    /// 1/x.
    fn recip(self) -> Self;
    /// The square root.
    fn sqrt(self) -> Self;
    /// The hyperbolic tangent.
    fn tanh(self) -> Self;
}

impl Real for f64 {
    #[inline(always)]
    fn cst(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn if_lt(self, c: f64, then: Self, otherwise: Self) -> Self {
        if self < c { then } else { otherwise }
    }
    #[inline(always)]
    fn if_eq(self, c: f64, then: Self, otherwise: Self) -> Self {
        if self == c { then } else { otherwise }
    }
    #[inline(always)]
    fn abs(self) -> Self {
        f64::abs(self)
    }
    #[inline(always)]
    fn spike(self, _: Self) -> Self {
        if self >= 0.0 { 1.0 } else { 0.0 }
    }
    #[inline(always)]
    fn exp(self) -> Self {
        crate::simd::exp(self)
    }
    #[inline(always)]
    fn ln(self) -> Self {
        f64::ln(self)
    }
    #[inline(always)]
    fn powf(self, p: f64) -> Self {
        f64::powf(self, p)
    }
    #[inline(always)]
    fn powi(self, n: i32) -> Self {
        f64::powi(self, n)
    }
    #[inline(always)]
    fn recip(self) -> Self {
        1.0 / self
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        f64::sqrt(self)
    }
    #[inline(always)]
    fn tanh(self) -> Self {
        f64::tanh(self)
    }
}

/// A value and its derivative in one direction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dual<T> {
    /// The value.
    pub re: T,
    /// The derivative.
    pub eps: T,
}

impl<T: Real> Dual<T> {
    /// A variable with derivative `eps`.
    #[inline(always)]
    pub fn new(re: T, eps: T) -> Self {
        Self { re, eps }
    }

    /// `x` with derivative 1 if `seed` (the variable differentiated
    /// against), else 0.
    #[inline(always)]
    pub fn lift(x: T, seed: bool) -> Self {
        Self::new(x, T::cst(if seed { 1.0 } else { 0.0 }))
    }
}

impl<T: Real> Add for Dual<T> {
    type Output = Self;
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        Self::new(self.re + o.re, self.eps + o.eps)
    }
}

impl<T: Real> Sub for Dual<T> {
    type Output = Self;
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        Self::new(self.re - o.re, self.eps - o.eps)
    }
}

impl<T: Real> Mul for Dual<T> {
    type Output = Self;
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        Self::new(self.re * o.re, self.eps * o.re + self.re * o.eps)
    }
}

impl<T: Real> Div for Dual<T> {
    type Output = Self;
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        let q = self.re / o.re;
        Self::new(q, (self.eps - q * o.eps) / o.re)
    }
}

impl<T: Real> Neg for Dual<T> {
    type Output = Self;
    #[inline(always)]
    fn neg(self) -> Self {
        Self::new(-self.re, -self.eps)
    }
}

impl<T: Real> Add<f64> for Dual<T> {
    type Output = Self;
    #[inline(always)]
    fn add(self, c: f64) -> Self {
        Self::new(self.re + c, self.eps)
    }
}

impl<T: Real> Sub<f64> for Dual<T> {
    type Output = Self;
    #[inline(always)]
    fn sub(self, c: f64) -> Self {
        Self::new(self.re - c, self.eps)
    }
}

impl<T: Real> Mul<f64> for Dual<T> {
    type Output = Self;
    #[inline(always)]
    fn mul(self, c: f64) -> Self {
        Self::new(self.re * c, self.eps * c)
    }
}

impl<T: Real> Div<f64> for Dual<T> {
    type Output = Self;
    #[inline(always)]
    fn div(self, c: f64) -> Self {
        Self::new(self.re / c, self.eps / c)
    }
}

impl<T: Real> Real for Dual<T> {
    #[inline(always)]
    fn cst(x: f64) -> Self {
        Self::new(T::cst(x), T::cst(0.0))
    }
    #[inline(always)]
    fn if_lt(self, c: f64, then: Self, otherwise: Self) -> Self {
        Self::new(
            self.re.if_lt(c, then.re, otherwise.re),
            self.re.if_lt(c, then.eps, otherwise.eps),
        )
    }
    #[inline(always)]
    fn if_eq(self, c: f64, then: Self, otherwise: Self) -> Self {
        Self::new(
            self.re.if_eq(c, then.re, otherwise.re),
            self.re.if_eq(c, then.eps, otherwise.eps),
        )
    }
    #[inline(always)]
    fn abs(self) -> Self {
        // The sign of the value, as a select (the derivative at 0 is +1).
        let neg = -self;
        Self::new(
            self.re.if_lt(0.0, neg.re, self.re),
            self.re.if_lt(0.0, neg.eps, self.eps),
        )
    }
    #[inline(always)]
    fn spike(self, slope: Self) -> Self {
        let a = self.re.abs() * slope.re + 1.0;
        Self::new(
            self.re.spike(slope.re),
            self.eps * (a * a).recip() * (slope.re * 0.5),
        )
    }
    #[inline(always)]
    fn exp(self) -> Self {
        let e = self.re.exp();
        Self::new(e, self.eps * e)
    }
    #[inline(always)]
    fn ln(self) -> Self {
        Self::new(self.re.ln(), self.eps / self.re)
    }
    #[inline(always)]
    fn powf(self, p: f64) -> Self {
        let y = self.re.powf(p);
        // d x^p = p x^(p-1) dx, written to stay finite where x^p is.
        let dy = if p == 0.0 {
            T::cst(0.0)
        } else {
            self.eps * (self.re.powf(p - 1.0) * p)
        };
        Self::new(y, dy)
    }
    #[inline(always)]
    fn powi(self, n: i32) -> Self {
        let dy = if n == 0 {
            T::cst(0.0)
        } else {
            self.eps * (self.re.powi(n - 1) * n as f64)
        };
        Self::new(self.re.powi(n), dy)
    }
    #[inline(always)]
    fn recip(self) -> Self {
        let r = self.re.recip();
        Self::new(r, -(self.eps * r * r))
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        let s = self.re.sqrt();
        Self::new(s, self.eps / (s * 2.0))
    }
    #[inline(always)]
    fn tanh(self) -> Self {
        let t = self.re.tanh();
        Self::new(t, self.eps * (T::cst(1.0) - t * t))
    }
}

/// The number of compartments [`Lanes`] holds.
pub const LANES: usize = 8;

/// [`LANES`] values processed together; every operation acts per lane, in
/// loops the compiler turns into SIMD instructions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lanes(pub [f64; LANES]);

impl Lanes {
    /// Every lane `x`.
    #[inline(always)]
    pub fn splat(x: f64) -> Self {
        Self([x; LANES])
    }

    /// The first [`LANES`] values of `x`.
    #[inline(always)]
    pub fn load(x: &[f64]) -> Self {
        let mut out = [0.0; LANES];
        out.copy_from_slice(&x[..LANES]);
        Self(out)
    }

    #[inline(always)]
    fn map(self, f: impl Fn(f64) -> f64) -> Self {
        let mut out = self.0;
        for x in &mut out {
            *x = f(*x);
        }
        Self(out)
    }

    #[inline(always)]
    fn zip(self, o: Self, f: impl Fn(f64, f64) -> f64) -> Self {
        let mut out = self.0;
        for (x, y) in out.iter_mut().zip(o.0) {
            *x = f(*x, y);
        }
        Self(out)
    }

    #[inline(always)]
    fn select(self, test: impl Fn(f64) -> bool, then: Self, otherwise: Self) -> Self {
        let mut out = otherwise.0;
        for k in 0..LANES {
            if test(self.0[k]) {
                out[k] = then.0[k];
            }
        }
        Self(out)
    }
}

macro_rules! lane_ops {
    ($($tr:ident $f:ident $op:tt),*) => {$(
        impl $tr for Lanes {
            type Output = Self;
            #[inline(always)]
            fn $f(self, o: Self) -> Self {
                self.zip(o, |a, b| a $op b)
            }
        }
        impl $tr<f64> for Lanes {
            type Output = Self;
            #[inline(always)]
            fn $f(self, c: f64) -> Self {
                self.map(|a| a $op c)
            }
        }
    )*};
}
lane_ops!(Add add +, Sub sub -, Mul mul *, Div div /);

impl Neg for Lanes {
    type Output = Self;
    #[inline(always)]
    fn neg(self) -> Self {
        self.map(|a| -a)
    }
}

impl Real for Lanes {
    #[inline(always)]
    fn cst(x: f64) -> Self {
        Self::splat(x)
    }
    #[inline(always)]
    fn if_lt(self, c: f64, then: Self, otherwise: Self) -> Self {
        self.select(|x| x < c, then, otherwise)
    }
    #[inline(always)]
    fn if_eq(self, c: f64, then: Self, otherwise: Self) -> Self {
        self.select(|x| x == c, then, otherwise)
    }
    #[inline(always)]
    fn abs(self) -> Self {
        self.map(f64::abs)
    }
    #[inline(always)]
    fn spike(self, _: Self) -> Self {
        self.map(|x| if x >= 0.0 { 1.0 } else { 0.0 })
    }
    #[inline(always)]
    fn exp(self) -> Self {
        self.map(crate::simd::exp)
    }
    #[inline(always)]
    fn ln(self) -> Self {
        self.map(f64::ln)
    }
    #[inline(always)]
    fn powf(self, p: f64) -> Self {
        self.map(|x| x.powf(p))
    }
    #[inline(always)]
    fn powi(self, n: i32) -> Self {
        self.map(|x| x.powi(n))
    }
    #[inline(always)]
    fn recip(self) -> Self {
        self.map(|x| 1.0 / x)
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        self.map(f64::sqrt)
    }
    #[inline(always)]
    fn tanh(self) -> Self {
        self.map(f64::tanh)
    }
}

/// Numbers that hold one row of a column (`f64`) or [`LANES`] consecutive
/// rows ([`Lanes`]): kernels written over `Rows` run on blocks of rows in
/// SIMD registers and on the remainder one row at a time.
pub trait Rows: Real {
    /// The number of rows.
    const WIDTH: usize;
    /// Rows `r..r + WIDTH` of `col`.
    fn get(col: &[f64], r: usize) -> Self;
    /// Adds `self` to rows `r..r + WIDTH` of `col`.
    fn add_to(self, col: &mut [f64], r: usize);
    /// Writes `self` to rows `r..r + WIDTH` of `col`.
    fn put(self, col: &mut [f64], r: usize);
}

/// The first rows of the full blocks of [`LANES`] rows among `rows`, and
/// the rows left: run `Lanes` kernels on the first, `f64` ones on the rest.
#[inline(always)]
pub fn row_blocks(rows: usize) -> (impl Iterator<Item = usize>, std::ops::Range<usize>) {
    let full = rows / LANES * LANES;
    ((0..full).step_by(LANES), full..rows)
}

/// `by_row_blocks!(rows, f::<G>(args))` calls `f::<G, Lanes>(args, r)` for
/// the first row `r` of each full block of [`LANES`] among `rows`, then
/// `f::<G, f64>(args, r)` for each row left (see [`Rows`]).
#[macro_export]
macro_rules! by_row_blocks {
    ($rows:expr, $f:ident $(::<$($g:ty),+>)? ($($arg:expr),* $(,)?)) => {{
        let (blocks, rest) = $crate::real::row_blocks($rows);
        for r in blocks {
            $f::<$($($g,)+)? $crate::real::Lanes>($($arg,)* r);
        }
        for r in rest {
            $f::<$($($g,)+)? f64>($($arg,)* r);
        }
    }};
}

impl Rows for f64 {
    const WIDTH: usize = 1;
    #[inline(always)]
    fn get(col: &[f64], r: usize) -> Self {
        col[r]
    }
    #[inline(always)]
    fn add_to(self, col: &mut [f64], r: usize) {
        col[r] += self;
    }
    #[inline(always)]
    fn put(self, col: &mut [f64], r: usize) {
        col[r] = self;
    }
}

impl Rows for Lanes {
    const WIDTH: usize = LANES;
    #[inline(always)]
    fn get(col: &[f64], r: usize) -> Self {
        Lanes::load(&col[r..])
    }
    #[inline(always)]
    fn add_to(self, col: &mut [f64], r: usize) {
        for (x, y) in col[r..r + LANES].iter_mut().zip(self.0) {
            *x += y;
        }
    }
    #[inline(always)]
    fn put(self, col: &mut [f64], r: usize) {
        col[r..r + LANES].copy_from_slice(&self.0);
    }
}

/// A value and its derivatives in [`LANES`] directions at once: one
/// evaluation of a function written over [`Real`] gives up to [`LANES`]
/// partial derivatives (a gradient, or columns of a Jacobian), where
/// [`Dual`] takes one evaluation each.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MultiDual {
    /// The value.
    pub re: f64,
    /// The derivatives, one direction per lane.
    pub eps: Lanes,
}

impl MultiDual {
    /// A value with derivatives `eps`.
    #[inline(always)]
    pub fn new(re: f64, eps: Lanes) -> Self {
        Self { re, eps }
    }

    /// A variable: derivative 1 in direction `lane`, 0 in the others (in
    /// all of them for `None`, a constant).
    #[inline(always)]
    pub fn seed(re: f64, lane: Option<usize>) -> Self {
        let mut eps = [0.0; LANES];
        if let Some(k) = lane {
            eps[k] = 1.0;
        }
        Self::new(re, Lanes(eps))
    }

    /// The function value `y` with derivative `dy` at `self.re`, chained.
    #[inline(always)]
    fn chain(self, y: f64, dy: f64) -> Self {
        Self::new(y, self.eps * dy)
    }
}

impl Add for MultiDual {
    type Output = Self;
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        Self::new(self.re + o.re, self.eps + o.eps)
    }
}

impl Sub for MultiDual {
    type Output = Self;
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        Self::new(self.re - o.re, self.eps - o.eps)
    }
}

impl Mul for MultiDual {
    type Output = Self;
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        Self::new(self.re * o.re, self.eps * o.re + o.eps * self.re)
    }
}

impl Div for MultiDual {
    type Output = Self;
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        let q = self.re / o.re;
        Self::new(q, (self.eps - o.eps * q) / o.re)
    }
}

impl Neg for MultiDual {
    type Output = Self;
    #[inline(always)]
    fn neg(self) -> Self {
        Self::new(-self.re, -self.eps)
    }
}

macro_rules! multi_dual_scalar_ops {
    ($($tr:ident $f:ident $op:tt $scales:literal),*) => {$(
        impl $tr<f64> for MultiDual {
            type Output = Self;
            #[inline(always)]
            fn $f(self, c: f64) -> Self {
                Self::new(self.re $op c, if $scales { self.eps $op c } else { self.eps })
            }
        }
    )*};
}
multi_dual_scalar_ops!(Add add + false, Sub sub - false, Mul mul * true, Div div / true);

impl Real for MultiDual {
    #[inline(always)]
    fn cst(x: f64) -> Self {
        Self::seed(x, None)
    }
    #[inline(always)]
    fn if_lt(self, c: f64, then: Self, otherwise: Self) -> Self {
        if self.re < c { then } else { otherwise }
    }
    #[inline(always)]
    fn if_eq(self, c: f64, then: Self, otherwise: Self) -> Self {
        if self.re == c { then } else { otherwise }
    }
    #[inline(always)]
    fn abs(self) -> Self {
        if self.re < 0.0 { -self } else { self }
    }
    #[inline(always)]
    fn spike(self, slope: Self) -> Self {
        let a = self.re.abs() * slope.re + 1.0;
        self.chain(self.re.spike(slope.re), 0.5 * slope.re / (a * a))
    }
    #[inline(always)]
    fn exp(self) -> Self {
        // libm's exponential: one value at a time, it is faster than the
        // vectorisable one, and within 2 ulp of it.
        let e = f64::exp(self.re);
        self.chain(e, e)
    }
    #[inline(always)]
    fn ln(self) -> Self {
        self.chain(self.re.ln(), 1.0 / self.re)
    }
    #[inline(always)]
    fn powf(self, p: f64) -> Self {
        let dy = if p == 0.0 {
            0.0
        } else {
            self.re.powf(p - 1.0) * p
        };
        self.chain(self.re.powf(p), dy)
    }
    #[inline(always)]
    fn powi(self, n: i32) -> Self {
        let dy = if n == 0 {
            0.0
        } else {
            self.re.powi(n - 1) * n as f64
        };
        self.chain(self.re.powi(n), dy)
    }
    #[inline(always)]
    fn recip(self) -> Self {
        let r = 1.0 / self.re;
        self.chain(r, -r * r)
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        let s = self.re.sqrt();
        self.chain(s, 0.5 / s)
    }
    #[inline(always)]
    fn tanh(self) -> Self {
        let t = self.re.tanh();
        self.chain(t, 1.0 - t * t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f<R: Real>(x: R) -> R {
        (x * 0.3).exp() / (x.powi(2) + 1.0) + x.powf(1.5) * x.ln() - x.recip() + (x * 0.2).tanh()
            - x.sqrt()
    }

    fn g<R: Real>(x: R) -> R {
        f(x).if_lt(1.0, x * 2.0, f(x)) + x.if_eq(2.7, x.abs(), x * 3.0)
    }

    #[test]
    fn lanes_agree_with_scalars() {
        let xs = [0.3, 0.7, 1.0, 1.5, 2.7, 3.1, 0.05, 9.0];
        let l = g(Lanes(xs));
        for (k, x) in xs.iter().enumerate() {
            assert_eq!(l.0[k], g(*x));
        }
    }

    /// A function of two variables with every operation and branch.
    fn h<R: Real>(x: R, y: R) -> R {
        g(x) * y.spike(R::cst(2.0)) + (x * y).abs() / (y - 4.0) - f(y) * 2.0
            + y.powf(0.0)
            + x.powi(0)
    }

    #[test]
    fn multi_duals_agree_with_duals_in_every_lane() {
        for (x, y) in [(0.3, 1.2), (1.0, -0.5), (2.7, 2.7), (1.5, 0.0)] {
            let y = y.abs() + 0.1; // f needs y > 0
            let m = h(MultiDual::seed(x, Some(0)), MultiDual::seed(y, Some(5)));
            let dx = h(Dual::new(x, 1.0), Dual::new(y, 0.0));
            let dy = h(Dual::new(x, 0.0), Dual::new(y, 1.0));
            let tol = |a: f64| 1e-14 * (1.0 + a.abs());
            assert!((m.re - h(x, y)).abs() <= tol(m.re), "value at {x}, {y}");
            assert!(
                (m.eps.0[0] - dx.eps).abs() <= tol(dx.eps),
                "d/dx at {x}, {y}"
            );
            assert!(
                (m.eps.0[5] - dy.eps).abs() <= tol(dy.eps),
                "d/dy at {x}, {y}"
            );
            for k in [1, 2, 3, 4, 6, 7] {
                assert_eq!(m.eps.0[k], 0.0);
            }
        }
    }

    #[test]
    fn first_and_second_derivatives_match_finite_differences() {
        for x in [0.3, 1.0, 2.7] {
            let d = f(Dual::new(x, 1.0));
            assert_eq!(d.re, f(x));
            let h = 1e-5;
            let fd = (f(x + h) - f(x - h)) / (2.0 * h);
            assert!(
                (d.eps - fd).abs() < 1e-7 * fd.abs(),
                "{x}: {} vs {fd}",
                d.eps
            );
            let dd = f(Dual::new(Dual::new(x, 1.0), Dual::new(1.0, 0.0)));
            let fd2 = (f(x + h) - 2.0 * f(x) + f(x - h)) / (h * h);
            assert!(
                (dd.eps.eps - fd2).abs() < 1e-4,
                "{x}: {} vs {fd2}",
                dd.eps.eps
            );
            assert_eq!(dd.eps.re, dd.re.eps);
        }
    }
}
