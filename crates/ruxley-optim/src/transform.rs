//! Bijections between the unbounded space where optimisers and samplers move
//! and the constrained space of physical parameters.
//!
//! Each [`Bijection`] maps u in R to x = f(u) and gives f^{-1}, f'(u) (to pull
//! gradients back: dL/du = dL/dx f'(u)) and log |f'(u)| (the log-Jacobian a
//! sampler adds to the log-density).

/// A smooth, strictly monotone map from R onto an interval.
#[derive(Debug, Clone, PartialEq)]
pub enum Bijection {
    /// x = u.
    Identity,
    /// x = lo + (hi - lo) sigmoid(u): the paper's transform onto [lo, hi]
    /// (its inverse is -log(1/((x - lo)/(hi - lo)) - 1)).
    Sigmoid {
        /// Lower bound.
        lo: f64,
        /// Upper bound.
        hi: f64,
    },
    /// x = lo + (hi - lo) sigmoid(u pi / sqrt 3): a sigmoid whose latent
    /// variable has unit variance under a logistic prior.
    Logistic {
        /// Lower bound.
        lo: f64,
        /// Upper bound.
        hi: f64,
    },
    /// x = lo + softplus(u) = lo + log(1 + e^u): onto (lo, inf).
    Softplus {
        /// Lower bound.
        lo: f64,
    },
    /// x = scale u + shift.
    Affine {
        /// Scale (non-zero).
        scale: f64,
        /// Shift.
        shift: f64,
    },
    /// x = exp(u): onto (0, inf), relative steps.
    Exp,
    /// The composition: the first maps u, the next maps its result, ...
    Chain(Vec<Bijection>),
}

/// An invalid bijection or an input outside its range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct TransformError(pub String);

fn sigmoid(u: f64) -> f64 {
    if u >= 0.0 {
        1.0 / (1.0 + (-u).exp())
    } else {
        let e = u.exp();
        e / (1.0 + e)
    }
}

fn softplus(u: f64) -> f64 {
    if u > 30.0 {
        u + (-u).exp()
    } else {
        u.exp().ln_1p()
    }
}

const LOGISTIC: f64 = std::f64::consts::PI / 1.732_050_807_568_877_2;

impl Bijection {
    /// Checks the parameters (finite bounds in order, non-zero scale).
    pub fn validate(&self) -> Result<(), TransformError> {
        let bad = |m: String| Err(TransformError(m));
        match self {
            Self::Sigmoid { lo, hi } | Self::Logistic { lo, hi }
                if !(lo.is_finite() && hi.is_finite() && lo < hi) =>
            {
                bad(format!("bounds [{lo}, {hi}] must be finite with lo < hi"))
            }
            Self::Softplus { lo } if !lo.is_finite() => {
                bad(format!("lower bound {lo} must be finite"))
            }
            Self::Affine { scale, shift }
                if !(scale.is_finite() && *scale != 0.0 && shift.is_finite()) =>
            {
                bad(format!(
                    "affine scale {scale} and shift {shift} must be finite, scale non-zero"
                ))
            }
            Self::Chain(v) => v.iter().try_for_each(Self::validate),
            _ => Ok(()),
        }
    }

    /// x = f(u).
    pub fn forward(&self, u: f64) -> f64 {
        match self {
            Self::Identity => u,
            Self::Sigmoid { lo, hi } => lo + (hi - lo) * sigmoid(u),
            Self::Logistic { lo, hi } => lo + (hi - lo) * sigmoid(u * LOGISTIC),
            Self::Softplus { lo } => lo + softplus(u),
            Self::Affine { scale, shift } => scale * u + shift,
            Self::Exp => u.exp(),
            Self::Chain(v) => v.iter().fold(u, |x, b| b.forward(x)),
        }
    }

    /// u = f^{-1}(x); an error outside the open range of f.
    pub fn inverse(&self, x: f64) -> Result<f64, TransformError> {
        let out = |x: f64, range: String| TransformError(format!("{x} is outside {range}"));
        match self {
            Self::Identity => Ok(x),
            Self::Sigmoid { lo, hi } | Self::Logistic { lo, hi } => {
                let p = (x - lo) / (hi - lo);
                if p.is_nan() || p <= 0.0 || p >= 1.0 {
                    return Err(out(x, format!("({lo}, {hi})")));
                }
                let u = (p / (1.0 - p)).ln();
                Ok(if matches!(self, Self::Logistic { .. }) {
                    u / LOGISTIC
                } else {
                    u
                })
            }
            Self::Softplus { lo } => {
                let y = x - lo;
                if y.is_nan() || y <= 0.0 {
                    return Err(out(x, format!("({lo}, inf)")));
                }
                Ok(if y > 30.0 {
                    y + (-(-y).exp()).ln_1p()
                } else {
                    y.exp_m1().ln()
                })
            }
            Self::Affine { scale, shift } => Ok((x - shift) / scale),
            Self::Exp => {
                if x.is_nan() || x <= 0.0 {
                    return Err(out(x, "(0, inf)".into()));
                }
                Ok(x.ln())
            }
            Self::Chain(v) => v.iter().rev().try_fold(x, |y, b| b.inverse(y)),
        }
    }

    /// f'(u).
    pub fn derivative(&self, u: f64) -> f64 {
        match self {
            Self::Identity => 1.0,
            Self::Sigmoid { lo, hi } => {
                let s = sigmoid(u);
                (hi - lo) * s * (1.0 - s)
            }
            Self::Logistic { lo, hi } => {
                let s = sigmoid(u * LOGISTIC);
                (hi - lo) * s * (1.0 - s) * LOGISTIC
            }
            Self::Softplus { .. } => sigmoid(u),
            Self::Affine { scale, .. } => *scale,
            Self::Exp => u.exp(),
            Self::Chain(v) => {
                let mut x = u;
                let mut d = 1.0;
                for b in v {
                    d *= b.derivative(x);
                    x = b.forward(x);
                }
                d
            }
        }
    }

    /// log |f'(u)|, computed stably far in the tails.
    pub fn log_abs_det_jacobian(&self, u: f64) -> f64 {
        // log s(u)(1 - s(u)) = -softplus(-u) - softplus(u).
        let log_sig_prime = |u: f64| -softplus(-u) - softplus(u);
        match self {
            Self::Identity => 0.0,
            Self::Sigmoid { lo, hi } => (hi - lo).ln() + log_sig_prime(u),
            Self::Logistic { lo, hi } => {
                (hi - lo).ln() + log_sig_prime(u * LOGISTIC) + LOGISTIC.ln()
            }
            Self::Softplus { .. } => -softplus(-u),
            Self::Affine { scale, .. } => scale.abs().ln(),
            Self::Exp => u,
            Self::Chain(v) => {
                let mut x = u;
                let mut l = 0.0;
                for b in v {
                    l += b.log_abs_det_jacobian(x);
                    x = b.forward(x);
                }
                l
            }
        }
    }
}

impl Bijection {
    /// d/du log |f'(u)|.
    pub fn log_abs_det_jacobian_grad(&self, u: f64) -> f64 {
        match self {
            Self::Identity | Self::Affine { .. } => 0.0,
            Self::Sigmoid { .. } => 1.0 - 2.0 * sigmoid(u),
            Self::Logistic { .. } => LOGISTIC * (1.0 - 2.0 * sigmoid(u * LOGISTIC)),
            Self::Softplus { .. } => sigmoid(-u),
            Self::Exp => 1.0,
            Self::Chain(v) => {
                let (mut x, mut dx, mut g) = (u, 1.0, 0.0);
                for b in v {
                    g += b.log_abs_det_jacobian_grad(x) * dx;
                    dx *= b.derivative(x);
                    x = b.forward(x);
                }
                g
            }
        }
    }
}

/// One bijection per parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Transforms(pub Vec<Bijection>);

impl Transforms {
    /// Every parameter onto its box [lo_i, hi_i] by the paper's sigmoid.
    pub fn sigmoid_boxes(bounds: &[(f64, f64)]) -> Result<Self, TransformError> {
        let t = Self(
            bounds
                .iter()
                .map(|&(lo, hi)| Bijection::Sigmoid { lo, hi })
                .collect(),
        );
        t.0.iter().try_for_each(Bijection::validate)?;
        Ok(t)
    }

    /// The sigmoid onto each parameter's range where it has one, the
    /// identity where not (e.g. `Layout::trainable_bounds`).
    pub fn from_bounds(bounds: &[Option<(f64, f64)>]) -> Result<Self, TransformError> {
        let t = Self(
            bounds
                .iter()
                .map(|b| match *b {
                    Some((lo, hi)) => Bijection::Sigmoid { lo, hi },
                    None => Bijection::Identity,
                })
                .collect(),
        );
        t.0.iter().try_for_each(Bijection::validate)?;
        Ok(t)
    }

    /// x = f(u), elementwise.
    pub fn forward(&self, u: &[f64]) -> Vec<f64> {
        self.0.iter().zip(u).map(|(b, &u)| b.forward(u)).collect()
    }

    /// u = f^{-1}(x), elementwise.
    pub fn inverse(&self, x: &[f64]) -> Result<Vec<f64>, TransformError> {
        self.0
            .iter()
            .zip(x)
            .enumerate()
            .map(|(i, (b, &x))| {
                b.inverse(x)
                    .map_err(|e| TransformError(format!("parameter {i}: {e}")))
            })
            .collect()
    }

    /// dL/du from dL/dx at u.
    pub fn pull_back(&self, u: &[f64], grad_x: &[f64]) -> Vec<f64> {
        self.0
            .iter()
            .zip(u)
            .zip(grad_x)
            .map(|((b, &u), g)| g * b.derivative(u))
            .collect()
    }

    /// sum_i log |f_i'(u_i)| and its gradient in u.
    pub fn log_det_jacobian(&self, u: &[f64]) -> (f64, Vec<f64>) {
        let value = self
            .0
            .iter()
            .zip(u)
            .map(|(b, &u)| b.log_abs_det_jacobian(u))
            .sum();
        let grad = self
            .0
            .iter()
            .zip(u)
            .map(|(b, &u)| b.log_abs_det_jacobian_grad(u))
            .collect();
        (value, grad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn all() -> Vec<Bijection> {
        vec![
            Bijection::Identity,
            Bijection::Sigmoid { lo: -2.0, hi: 5.0 },
            Bijection::Logistic { lo: 0.0, hi: 1e-3 },
            Bijection::Softplus { lo: 0.5 },
            Bijection::Affine {
                scale: -3.0,
                shift: 1.0,
            },
            Bijection::Exp,
            Bijection::Chain(vec![
                Bijection::Affine {
                    scale: 2.0,
                    shift: -1.0,
                },
                Bijection::Sigmoid { lo: 0.0, hi: 10.0 },
            ]),
        ]
    }

    proptest! {
        #[test]
        fn inverse_undoes_forward_and_derivatives_match(u in -8.0f64..8.0) {
            for b in all() {
                let x = b.forward(u);
                let back = b.inverse(x).unwrap();
                prop_assert!((back - u).abs() < 1e-8 * u.abs().max(1.0), "{b:?}: {u} -> {x} -> {back}");
                let h = 1e-6;
                let fd = (b.forward(u + h) - b.forward(u - h)) / (2.0 * h);
                // Rounding in x limits finite differences to about eps |x| / h.
                let tol = 1e-6 * fd.abs() + 4.0 * f64::EPSILON * x.abs() / h;
                prop_assert!((b.derivative(u) - fd).abs() <= tol, "{b:?}");
                let ld = b.log_abs_det_jacobian(u);
                prop_assert!((ld - b.derivative(u).abs().ln()).abs() < 1e-9, "{b:?}");
                let fd = (b.log_abs_det_jacobian(u + h) - b.log_abs_det_jacobian(u - h)) / (2.0 * h);
                prop_assert!((b.log_abs_det_jacobian_grad(u) - fd).abs() < 1e-6 * fd.abs().max(1.0), "{b:?}");
            }
        }
    }

    #[test]
    fn sigmoid_is_the_papers_transform_and_stays_in_bounds() {
        let b = Bijection::Sigmoid { lo: 1.0, hi: 3.0 };
        let x = 2.5;
        let paper = -(1.0f64 / ((x - 1.0) / 2.0) - 1.0).ln();
        assert!((b.inverse(x).unwrap() - paper).abs() < 1e-15);
        assert!(b.forward(800.0) <= 3.0 && b.forward(-800.0) >= 1.0);
        assert!(b.log_abs_det_jacobian(-800.0).is_finite());
        assert!(b.inverse(3.0).is_err() && b.inverse(0.5).is_err());
        assert!(Bijection::Sigmoid { lo: 2.0, hi: 1.0 }.validate().is_err());
        assert!(Bijection::Exp.inverse(-1.0).is_err());
    }
}
