//! Numerical helpers shared by channel kernels. They are branch-free and
//! call nothing, so that kernel loops over them vectorise.

pub use ruxley_core::simd::exp;

/// x / (exp(x/y) - 1), continued by its Taylor expansion y (1 - x/y/2) where
/// |x/y| < 1e-6 (NEURON's guard against the 0/0 at x = 0).
#[inline(always)]
pub fn vtrap(x: f64, y: f64) -> f64 {
    vtrap_from_exp(x, y, exp(x * (1.0 / y)))
}

/// [`vtrap`] given `exp_u` = exp(x/y), for kernels that share exponentials.
#[inline(always)]
pub fn vtrap_from_exp(x: f64, y: f64, exp_u: f64) -> f64 {
    let u = x * (1.0 / y);
    let taylor = y * (1.0 - 0.5 * u);
    let exact = x / (exp_u - 1.0);
    if u.abs() < 1e-6 { taylor } else { exact }
}

/// d/dx of [`vtrap_from_exp`] given `exp_u` = exp(x/y): -1/2 inside the
/// Taylor guard (the derivative of the guard's formula), the series
/// -1/2 + u/6 - u^3/180 for |u| < 1e-2 (where the closed form cancels), and
/// ((e^u - 1) - u e^u) / (e^u - 1)^2 beyond.
#[inline(always)]
pub fn vtrap_dx_from_exp(x: f64, y: f64, exp_u: f64) -> f64 {
    let u = x * (1.0 / y);
    let em1 = exp_u - 1.0;
    let closed = (em1 - u * exp_u) / (em1 * em1);
    let series = -0.5 + u * (1.0 / 6.0) - u * u * u * (1.0 / 180.0);
    let a = u.abs();
    if a < 1e-6 {
        -0.5
    } else if a < 1e-2 {
        series
    } else {
        closed
    }
}

/// One exponential-Euler step of a gate dx/dt = (x_inf - x) / tau over dt,
/// written as NEURON's `cnexp`: x + (1 - exp(-dt/tau)) (x_inf - x).
/// `dt_over_tau` is dt / tau.
#[inline(always)]
pub fn exp_euler(x: f64, x_inf: f64, dt_over_tau: f64) -> f64 {
    x + (1.0 - exp(-dt_over_tau)) * (x_inf - x)
}

/// The Q10 temperature factor q10^((celsius - reference)/10).
#[inline]
pub fn q10_factor(q10: f64, celsius: f64, reference: f64) -> f64 {
    q10.powf((celsius - reference) / 10.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vtrap_derivative_matches_finite_differences_and_its_series() {
        let y = 10.0;
        for x in [-30.0f64, -1.0, -0.2, 0.2, 0.5, 7.0, 40.0] {
            // Richardson-extrapolated central differences.
            let h = 1e-3 * x.abs();
            let g = |h: f64| (vtrap(x + h, y) - vtrap(x - h, y)) / (2.0 * h);
            let fd = (4.0 * g(h / 2.0) - g(h)) / 3.0;
            let d = vtrap_dx_from_exp(x, y, exp(x / y));
            assert!((d - fd).abs() < 1e-9, "x {x}: {d} vs {fd}");
        }
        // Near 0 finite differences drown in the cancellation of e^u - 1;
        // compare with the derivative of u/(e^u - 1) = 1 - u/2 + u^2/12 - u^4/720.
        for x in [-0.09f64, -1e-3, -1e-5, 2e-4, 0.09] {
            let u = x / y;
            let series = -0.5 + u / 6.0 - u.powi(3) / 180.0 + u.powi(5) / 5040.0;
            let d = vtrap_dx_from_exp(x, y, exp(u));
            assert!((d - series).abs() < 1e-12, "x {x}: {d} vs {series}");
        }
        // Inside NEURON's guard the function is y (1 - u/2), of slope -1/2.
        assert_eq!(vtrap_dx_from_exp(1e-9, y, exp(1e-10)), -0.5);
    }

    #[test]
    fn vtrap_is_continuous_through_its_guard() {
        for y in [10.0, -7.0] {
            let inside = vtrap(0.999e-6 * y, y);
            let outside = vtrap(1.001e-6 * y, y);
            // The plain formula loses ~1e-10 to cancellation just outside the guard.
            assert!((inside - outside).abs() < 1e-9 * y.abs());
            assert!((vtrap(0.0, y) - y).abs() == 0.0);
        }
        // Far from zero it is the plain formula.
        assert_eq!(vtrap(25.0, 10.0), 25.0 / (exp(2.5) - 1.0));
    }

    #[test]
    fn exp_euler_solves_the_linear_gate_equation_exactly() {
        let (x0, inf, tau, dt): (f64, f64, f64, f64) = (0.1, 0.7, 3.0, 0.5);
        let exact = inf + (x0 - inf) * (-dt / tau).exp();
        assert!((exp_euler(x0, inf, dt / tau) - exact).abs() < 1e-15);
    }
}
