//! First-order optimisers. Each updates x in place from the gradient (and
//! the loss, which Polyak-style steps use), and exposes its internal state so
//! that a fit can be checkpointed and resumed exactly.

/// A first-order optimiser.
pub trait Optimizer: Send {
    /// A short name, stored in checkpoints.
    fn name(&self) -> &'static str;
    /// Moves `x` given the gradient and loss at `x`; `lr_scale` multiplies the
    /// step size (learning-rate schedules).
    fn step(&mut self, x: &mut [f64], grad: &[f64], loss: f64, lr_scale: f64);
    /// The internal state (moments, counters), flattened.
    fn state(&self) -> Vec<f64>;
    /// Restores a state from [`Optimizer::state`].
    fn set_state(&mut self, state: &[f64]) -> Result<(), String>;
}

/// The paper's gradient descent: step = gamma g / ||g||^beta, optionally
/// times the loss (a Polyak-style step size that shrinks near the optimum).
#[derive(Debug, Clone, PartialEq)]
pub struct PolyakGd {
    /// Step size.
    pub gamma: f64,
    /// Normalisation exponent in [0, 1]: 0 plain GD, 1 normalised GD.
    pub beta: f64,
    /// Multiply the step by the current loss.
    pub loss_scaled: bool,
}

impl Optimizer for PolyakGd {
    fn name(&self) -> &'static str {
        "polyak_gd"
    }

    fn step(&mut self, x: &mut [f64], grad: &[f64], loss: f64, lr_scale: f64) {
        let norm = grad.iter().map(|g| g * g).sum::<f64>().sqrt();
        if norm == 0.0 {
            return;
        }
        let mut rate = self.gamma * lr_scale / norm.powf(self.beta);
        if self.loss_scaled {
            rate *= loss;
        }
        for (x, g) in x.iter_mut().zip(grad) {
            *x -= rate * g;
        }
    }

    fn state(&self) -> Vec<f64> {
        Vec::new()
    }

    fn set_state(&mut self, state: &[f64]) -> Result<(), String> {
        if state.is_empty() {
            Ok(())
        } else {
            Err("Polyak GD has no state".into())
        }
    }
}

/// Gradient descent with (heavy-ball) momentum.
#[derive(Debug, Clone, PartialEq)]
pub struct Sgd {
    /// Learning rate.
    pub lr: f64,
    /// Momentum in [0, 1).
    pub momentum: f64,
    velocity: Vec<f64>,
}

impl Sgd {
    /// SGD with learning rate `lr` and `momentum`.
    pub fn new(lr: f64, momentum: f64) -> Self {
        Self {
            lr,
            momentum,
            velocity: Vec::new(),
        }
    }
}

impl Optimizer for Sgd {
    fn name(&self) -> &'static str {
        "sgd"
    }

    fn step(&mut self, x: &mut [f64], grad: &[f64], _loss: f64, lr_scale: f64) {
        self.velocity.resize(x.len(), 0.0);
        for ((x, g), v) in x.iter_mut().zip(grad).zip(&mut self.velocity) {
            *v = self.momentum * *v + g;
            *x -= self.lr * lr_scale * *v;
        }
    }

    fn state(&self) -> Vec<f64> {
        self.velocity.clone()
    }

    fn set_state(&mut self, state: &[f64]) -> Result<(), String> {
        self.velocity = state.to_vec();
        Ok(())
    }
}

/// Adam (Kingma and Ba 2015).
#[derive(Debug, Clone, PartialEq)]
pub struct Adam {
    /// Learning rate.
    pub lr: f64,
    /// First-moment decay.
    pub beta1: f64,
    /// Second-moment decay.
    pub beta2: f64,
    /// Denominator guard.
    pub eps: f64,
    m: Vec<f64>,
    v: Vec<f64>,
    t: u64,
}

impl Adam {
    /// Adam with learning rate `lr` and the usual (0.9, 0.999, 1e-8).
    pub fn new(lr: f64) -> Self {
        Self {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            m: Vec::new(),
            v: Vec::new(),
            t: 0,
        }
    }
}

impl Optimizer for Adam {
    fn name(&self) -> &'static str {
        "adam"
    }

    fn step(&mut self, x: &mut [f64], grad: &[f64], _loss: f64, lr_scale: f64) {
        self.m.resize(x.len(), 0.0);
        self.v.resize(x.len(), 0.0);
        self.t += 1;
        let c1 = 1.0 - self.beta1.powi(self.t as i32);
        let c2 = 1.0 - self.beta2.powi(self.t as i32);
        for i in 0..x.len() {
            self.m[i] = self.beta1 * self.m[i] + (1.0 - self.beta1) * grad[i];
            self.v[i] = self.beta2 * self.v[i] + (1.0 - self.beta2) * grad[i] * grad[i];
            let mh = self.m[i] / c1;
            let vh = self.v[i] / c2;
            x[i] -= self.lr * lr_scale * mh / (vh.sqrt() + self.eps);
        }
    }

    fn state(&self) -> Vec<f64> {
        let mut s = vec![self.t as f64];
        s.extend_from_slice(&self.m);
        s.extend_from_slice(&self.v);
        s
    }

    fn set_state(&mut self, state: &[f64]) -> Result<(), String> {
        if state.is_empty() || state.len() % 2 != 1 {
            return Err("an Adam state is t followed by two equal-length moment vectors".into());
        }
        let n = (state.len() - 1) / 2;
        self.t = state[0] as u64;
        self.m = state[1..1 + n].to_vec();
        self.v = state[1 + n..].to_vec();
        Ok(())
    }
}

/// A learning-rate multiplier per iteration.
#[derive(Debug, Clone, PartialEq)]
pub enum LrSchedule {
    /// 1 throughout.
    Constant,
    /// decay^k.
    Exponential {
        /// Per-iteration factor.
        decay: f64,
    },
    /// factor^(k / every), stepwise.
    Step {
        /// Iterations per drop.
        every: usize,
        /// Factor per drop.
        factor: f64,
    },
    /// (1 + cos(pi k / total)) / 2, then 0.
    Cosine {
        /// Iterations to reach 0.
        total: usize,
    },
}

impl LrSchedule {
    /// The multiplier at iteration `k` (from 0).
    pub fn factor(&self, k: usize) -> f64 {
        match self {
            Self::Constant => 1.0,
            Self::Exponential { decay } => decay.powi(k as i32),
            Self::Step { every, factor } => factor.powi((k / (*every).max(1)) as i32),
            Self::Cosine { total } => {
                if k >= *total {
                    0.0
                } else {
                    0.5 * (1.0 + (std::f64::consts::PI * k as f64 / *total as f64).cos())
                }
            }
        }
    }
}

/// Scales `grad` down to Euclidean norm `max` if it is longer.
pub fn clip_norm(grad: &mut [f64], max: f64) {
    let norm = grad.iter().map(|g| g * g).sum::<f64>().sqrt();
    if norm > max && norm > 0.0 {
        let f = max / norm;
        grad.iter_mut().for_each(|g| *g *= f);
    }
}
