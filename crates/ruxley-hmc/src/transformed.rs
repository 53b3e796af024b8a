//! Sampling a constrained target in the unbounded space of a transform.

use ruxley_optim::Transforms;

use crate::kernel::LogDensity;

/// The density of u = f^{-1}(x): log p_u(u) = log p_x(f(u)) + sum log |f'(u)|.
pub struct Transformed<'a> {
    /// The target on the constrained space.
    pub inner: &'a dyn LogDensity,
    /// f, one bijection per coordinate.
    pub transforms: Transforms,
}

impl LogDensity for Transformed<'_> {
    fn dim(&self) -> usize {
        self.inner.dim()
    }

    fn logp_and_grad(&self, u: &[f64], grad: &mut [f64]) -> f64 {
        let x = self.transforms.forward(u);
        let mut gx = vec![0.0; x.len()];
        let lp = self.inner.logp_and_grad(&x, &mut gx);
        let (ld, gld) = self.transforms.log_det_jacobian(u);
        let gu = self.transforms.pull_back(u, &gx);
        for (g, (a, b)) in grad.iter_mut().zip(gu.iter().zip(&gld)) {
            *g = a + b;
        }
        lp + ld
    }
}
