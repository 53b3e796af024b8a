//! The floating-point types a simulation can run in: `f64` (the default)
//! and `f32`.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

/// The precision of a simulation's state and arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Precision {
    /// 32-bit floats: half the memory and twice the SIMD lanes of f64, about
    /// 7 significant digits.
    F32,
    /// 64-bit floats (the default), the precision of every reference.
    #[default]
    F64,
}

impl Precision {
    /// Parses `f32`/`single` or `f64`/`double`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "f32" | "single" => Some(Self::F32),
            "f64" | "double" => Some(Self::F64),
            _ => None,
        }
    }

    /// `f32` or `f64`.
    pub fn name(self) -> &'static str {
        match self {
            Self::F32 => "f32",
            Self::F64 => "f64",
        }
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A floating-point type a simulation runs in: `f32` or `f64`.
///
/// [`Float::exp`] is branch-free and call-free, so loops over it vectorise.
pub trait Float:
    Copy
    + Default
    + fmt::Debug
    + fmt::Display
    + PartialOrd
    + Send
    + Sync
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Sum
{
    /// The precision this type implements.
    const PRECISION: Precision;
    /// Machine epsilon.
    const EPSILON: Self;
    /// `x` rounded to this type.
    fn of(x: f64) -> Self;
    /// The value as an `f64` (exact).
    fn to_f64(self) -> f64;
    /// 0.
    #[inline(always)]
    fn zero() -> Self {
        Self::of(0.0)
    }
    /// 1.
    #[inline(always)]
    fn one() -> Self {
        Self::of(1.0)
    }
    /// e^x, vectorisable (see [`crate::simd::exp`] and [`exp_f32`]).
    fn exp(self) -> Self;
    /// The natural logarithm.
    fn ln(self) -> Self;
    /// The square root.
    fn sqrt(self) -> Self;
    /// The hyperbolic tangent.
    fn tanh(self) -> Self;
    /// x^p.
    fn powf(self, p: Self) -> Self;
    /// x^n.
    fn powi(self, n: i32) -> Self;
    /// |x|.
    fn abs(self) -> Self;
    /// True unless NaN or infinite.
    fn is_finite(self) -> bool;
    /// True for NaN.
    fn is_nan(self) -> bool;
}

macro_rules! float_impl {
    ($t:ty, $p:ident, $exp:path) => {
        impl Float for $t {
            const PRECISION: Precision = Precision::$p;
            const EPSILON: Self = <$t>::EPSILON;
            #[inline(always)]
            fn of(x: f64) -> Self {
                x as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn exp(self) -> Self {
                $exp(self)
            }
            #[inline(always)]
            fn ln(self) -> Self {
                <$t>::ln(self)
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            #[inline(always)]
            fn tanh(self) -> Self {
                <$t>::tanh(self)
            }
            #[inline(always)]
            fn powf(self, p: Self) -> Self {
                <$t>::powf(self, p)
            }
            #[inline(always)]
            fn powi(self, n: i32) -> Self {
                <$t>::powi(self, n)
            }
            #[inline(always)]
            fn abs(self) -> Self {
                <$t>::abs(self)
            }
            #[inline(always)]
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }
            #[inline(always)]
            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }
        }
    };
}
float_impl!(f64, F64, crate::simd::exp);
float_impl!(f32, F32, exp_f32);

/// e^x in single precision, within 2 ulp, without calls or branches (so
/// that loops over it vectorise). NaN stays NaN; the argument is clamped to
/// [-87, 88].
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split so that k * LN2_HI is exact for |k| < 2^8.
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    // Adding 1.5 * 2^23 rounds to an integer held in the low mantissa bits.
    const MAGIC: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let t = x * LOG2E + MAGIC;
    let k = t - MAGIC;
    let r = (x - k * LN2_HI) - k * LN2_LO;
    // Taylor series of e^r to degree 7 on |r| <= ln(2)/2: truncation error
    // below 6e-9 relative.
    let mut p: f32 = 1.0 / 5040.0;
    for c in [
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ] {
        p = p * r + c;
    }
    let k_bits = t.to_bits().wrapping_sub(MAGIC.to_bits());
    p * f32::from_bits(k_bits.wrapping_add(127) << 23)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_f32_is_within_two_ulp() {
        let mut worst: f64 = 0.0;
        let mut x = -87.0f32;
        while x < 88.0 {
            let exact = (x as f64).exp();
            let ulp = (exact as f32).abs() * f32::EPSILON;
            worst = worst.max((exp_f32(x) as f64 - exact).abs() / ulp as f64);
            x += 0.001_234_5;
        }
        assert!(worst <= 2.0, "worst error {worst} ulp");
        assert_eq!(exp_f32(0.0), 1.0);
        assert!(exp_f32(f32::NAN).is_nan());
        assert!(exp_f32(-1e4) > 0.0 && exp_f32(1e4).is_finite());
    }

    #[test]
    fn precisions_parse_and_print() {
        assert_eq!(Precision::parse("f32"), Some(Precision::F32));
        assert_eq!(Precision::parse("double"), Some(Precision::F64));
        assert_eq!(Precision::parse("f16"), None);
        assert_eq!(Precision::F32.to_string(), "f32");
        assert_eq!(<f32 as Float>::PRECISION, Precision::F32);
    }
}
