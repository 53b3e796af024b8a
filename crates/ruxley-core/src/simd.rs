//! Vectorisable math and run-time dispatch of SIMD instruction sets.
//!
//! The default x86-64 target has no AVX, so hot loops are compiled several
//! times, for AVX-512, for AVX2 with FMA and for the baseline, and the widest
//! version the processor supports is picked at run time ([`multiversion!`](crate::multiversion)).
//! Loops vectorise only if everything they call is inlined and branch-free;
//! libm's `exp` is a call, so kernels use [`exp`] instead.

/// ln 2 split so that k * LN2_HI is exact for |k| < 2^11: the range
/// reduction of [`exp`].
pub const LN2_HI: f64 = 6.931_471_803_691_238e-1;
/// See [`LN2_HI`].
pub const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;

/// The coefficients of [`exp`]'s polynomial for e^r on |r| <= ln(2)/2,
/// highest degree first (Horner): degree 11, fitted at Chebyshev nodes
/// (mpmath, 50 digits); its error is below 4e-18. GPU backends that build
/// their own f64 exponential use the same.
pub const EXP_POLY: [f64; 12] = [
    2.511_003_760_596_377_8e-8,
    2.763_263_963_904_103e-7,
    2.755_724_091_857_897e-6,
    2.480_148_548_232_849e-5,
    1.984_126_989_004_711_4e-4,
    1.388_888_895_231_477_5e-3,
    8.333_333_333_319_601e-3,
    4.166_666_666_648_809e-2,
    1.666_666_666_666_668e-1,
    5.000_000_000_000_018e-1,
    1.0,
    1.0,
];

/// e^x, within 2 ulp of the exact value, written without calls or branches so
/// that loops over it vectorise. NaN stays NaN; the argument is clamped to
/// [-708, 709], so results below 3.3e-308 or above 8.2e307 saturate there.
#[inline(always)]
pub fn exp(x: f64) -> f64 {
    const LOG2E: f64 = std::f64::consts::LOG2_E;
    // Adding 1.5 * 2^52 rounds to an integer held in the low mantissa bits.
    const MAGIC: f64 = 6_755_399_441_055_744.0;
    let x = x.clamp(-708.0, 709.0);
    let t = x * LOG2E + MAGIC;
    let k = t - MAGIC;
    let r = (x - k * LN2_HI) - k * LN2_LO;
    let mut p = EXP_POLY[0];
    for c in &EXP_POLY[1..] {
        p = p * r + c;
    }
    let k_bits = t.to_bits().wrapping_sub(MAGIC.to_bits());
    p * f64::from_bits(k_bits.wrapping_add(1023) << 52)
}

/// Defines a function compiled for AVX-512, for AVX2 + FMA and for the
/// baseline, dispatching at run time to the widest the processor has. The
/// function may have one type parameter with one bound.
///
/// ```
/// ruxley_core::multiversion! {
///     /// Doubles every value.
///     pub fn double(x: &mut [f64]) {
///         for v in x.iter_mut() {
///             *v *= 2.0;
///         }
///     }
/// }
/// let mut x = [1.0, 2.0];
/// double(&mut x);
/// assert_eq!(x, [2.0, 4.0]);
/// ```
#[macro_export]
macro_rules! multiversion {
    ($(#[$meta:meta])* $vis:vis fn $name:ident $(<$g:ident: $bound:path>)? ($($arg:ident : $ty:ty),* $(,)?) $body:block) => {
        $(#[$meta])*
        $vis fn $name $(<$g: $bound>)? ($($arg: $ty),*) {
            #[inline(always)]
            fn imp $(<$g: $bound>)? ($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx2,fma")]
                unsafe fn avx512 $(<$g: $bound>)? ($($arg: $ty),*) {
                    imp($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                unsafe fn avx2 $(<$g: $bound>)? ($($arg: $ty),*) {
                    imp($($arg),*)
                }
                if $crate::simd::has_avx512() {
                    // SAFETY: the processor supports the enabled features.
                    return unsafe { avx512($($arg),*) };
                }
                if $crate::simd::has_avx2_fma() {
                    // SAFETY: the processor supports the enabled features.
                    return unsafe { avx2($($arg),*) };
                }
            }
            imp($($arg),*)
        }
    };
}

/// The widest instruction set the kernels may use, detected once.
#[cfg(target_arch = "x86_64")]
fn level() -> u8 {
    use std::sync::atomic::{AtomicU8, Ordering};
    static LEVEL: AtomicU8 = AtomicU8::new(0);
    match LEVEL.load(Ordering::Relaxed) {
        0 => {
            let avx2 = std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma");
            let avx512 = avx2
                && std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512dq")
                && std::arch::is_x86_feature_detected!("avx512vl");
            let l = if avx512 {
                3
            } else if avx2 {
                2
            } else {
                1
            };
            LEVEL.store(l, Ordering::Relaxed);
            l
        }
        l => l,
    }
}

/// True if the processor has the AVX-512 subsets the kernels use.
#[cfg(target_arch = "x86_64")]
#[inline]
pub fn has_avx512() -> bool {
    level() == 3
}

/// True if the processor has AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[inline]
pub fn has_avx2_fma() -> bool {
    level() >= 2
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ulps(a: f64, b: f64) -> f64 {
        (a - b).abs() / (b.abs() * f64::EPSILON)
    }

    #[test]
    fn exp_is_within_two_ulp_of_libm() {
        let mut worst: f64 = 0.0;
        let mut x = -700.0;
        while x < 700.0 {
            worst = worst.max(ulps(exp(x), x.exp()));
            x += 0.012_345_678_9;
        }
        for x in [
            0.0,
            1e-300,
            -1e-300,
            1e-10,
            0.5,
            -0.5,
            0.34657359,
            -0.34657359,
            1.0,
            709.0,
            -708.0,
        ] {
            worst = worst.max(ulps(exp(x), x.exp()));
        }
        assert!(worst <= 2.0, "worst error {worst} ulp");
        assert_eq!(exp(0.0), 1.0);
    }

    #[test]
    fn exp_saturates_and_keeps_nan() {
        assert!(exp(f64::NAN).is_nan());
        assert!(exp(-1e4) > 0.0 && exp(-1e4) < 1e-307);
        assert!(exp(1e4).is_finite() && exp(1e4) > 1e307);
    }

    multiversion! {
        fn exp_all(x: &[f64], out: &mut [f64]) {
            for (o, &v) in out.iter_mut().zip(x) {
                *o = exp(v);
            }
        }
    }

    #[test]
    fn dispatched_versions_agree_with_the_scalar_one() {
        let x: Vec<f64> = (0..1000).map(|k| -50.0 + 0.1 * k as f64).collect();
        let mut out = vec![0.0; x.len()];
        exp_all(&x, &mut out);
        for (o, &v) in out.iter().zip(&x) {
            assert!(ulps(*o, exp(v)) <= 1.0);
        }
    }
}
