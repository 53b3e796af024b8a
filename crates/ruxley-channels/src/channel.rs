//! The channel description, its kernel interface and their column views.

use std::fmt;

use ruxley_core::Float;

use crate::dual::Lanes;
use crate::ion::{Ion, IonVar};
use crate::ir::ChannelIr;

/// A named parameter of a channel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamSpec {
    /// Name without the channel prefix (e.g. `gNa`).
    pub name: &'static str,
    /// Unit (e.g. `S/cm2`, `mV`).
    pub unit: &'static str,
    /// Default value.
    pub default: f64,
    /// Plausible range: `Layout::trainable_bounds` reports it, and fitting
    /// maps it onto the real line (`Transforms::from_bounds` in
    /// ruxley-optim).
    pub bounds: (f64, f64),
    /// If true, the parameter is not prefixed with the channel name and is
    /// shared by name with other channels (like Jaxley's `eK`).
    pub shared: bool,
}

impl ParamSpec {
    /// A parameter shared by name with other channels (not prefixed).
    pub const fn shared(
        name: &'static str,
        unit: &'static str,
        default: f64,
        bounds: (f64, f64),
    ) -> Self {
        Self {
            name,
            unit,
            default,
            bounds,
            shared: true,
        }
    }

    /// A parameter prefixed with the channel name.
    pub const fn new(
        name: &'static str,
        unit: &'static str,
        default: f64,
        bounds: (f64, f64),
    ) -> Self {
        Self {
            name,
            unit,
            default,
            bounds,
            shared: false,
        }
    }
}

/// A named state of a channel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StateSpec {
    /// Name without the channel prefix (e.g. `m`).
    pub name: &'static str,
    /// Unit (`1` for gates).
    pub unit: &'static str,
    /// Value used before initialisation.
    pub default: f64,
}

impl StateSpec {
    /// A dimensionless gate.
    pub const fn gate(name: &'static str) -> Self {
        Self {
            name,
            unit: "1",
            default: 0.0,
        }
    }
}

/// Read-only columns: `n` columns of `len` values each, stored contiguously.
#[derive(Debug)]
pub struct Columns<'a, F = f64> {
    data: &'a [F],
    len: usize,
}

impl<F> Clone for Columns<'_, F> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<F> Copy for Columns<'_, F> {}

impl<'a, F: Copy> Columns<'a, F> {
    /// Wraps `data`, which must hold a whole number of columns of `len`.
    pub fn new(data: &'a [F], len: usize) -> Self {
        assert!(len == 0 && data.is_empty() || len > 0 && data.len().is_multiple_of(len));
        Self { data, len }
    }

    /// Column `k`.
    #[inline]
    pub fn col(&self, k: usize) -> &'a [F] {
        &self.data[k * self.len..(k + 1) * self.len]
    }

    /// The first `N` columns at once.
    #[inline]
    pub fn split<const N: usize>(&self) -> [&'a [F]; N] {
        std::array::from_fn(|k| self.col(k))
    }

    /// Row `r` of the first `out.len()` columns into `out`.
    #[inline(always)]
    pub fn read_row(&self, r: usize, out: &mut [F]) {
        for (j, x) in out.iter_mut().enumerate() {
            *x = self.col(j)[r];
        }
    }

    /// All columns, contiguous.
    pub fn data(&self) -> &'a [F] {
        self.data
    }

    /// The number of rows (compartments).
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Columns<'_, f64> {
    /// Rows `r..r + LANES` of the first `out.len()` columns into `out`.
    #[inline(always)]
    pub fn read_lanes(&self, r: usize, out: &mut [Lanes]) {
        for (j, x) in out.iter_mut().enumerate() {
            *x = Lanes::load(&self.col(j)[r..]);
        }
    }
}

/// Mutable columns, as [`Columns`].
#[derive(Debug)]
pub struct ColumnsMut<'a, F = f64> {
    data: &'a mut [F],
    len: usize,
}

impl<'a, F: Copy> ColumnsMut<'a, F> {
    /// Wraps `data`, which must hold a whole number of columns of `len`.
    pub fn new(data: &'a mut [F], len: usize) -> Self {
        assert!(len == 0 && data.is_empty() || len > 0 && data.len().is_multiple_of(len));
        Self { data, len }
    }

    /// Column `k`.
    #[inline]
    pub fn col(&mut self, k: usize) -> &mut [F] {
        &mut self.data[k * self.len..(k + 1) * self.len]
    }

    /// All columns, contiguous.
    pub fn data(&mut self) -> &mut [F] {
        self.data
    }

    /// The first `N` columns at once.
    #[inline]
    pub fn split<const N: usize>(&mut self) -> [&mut [F]; N] {
        if self.len == 0 {
            return std::array::from_fn(|_| <&mut [F]>::default());
        }
        let mut it = self.data.chunks_exact_mut(self.len);
        std::array::from_fn(|_| it.next().expect("fewer columns than requested"))
    }

    /// The number of rows (compartments).
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A read-only view.
    pub fn as_columns(&self) -> Columns<'_, F> {
        Columns {
            data: self.data,
            len: self.len,
        }
    }
}

/// What a channel sees of its compartments during a kernel call.
#[derive(Debug)]
pub struct ChannelEnv<'a, F = f64> {
    /// Membrane voltage (mV) of each compartment of the channel, in order.
    pub v: &'a [F],
    /// Time step (ms).
    pub dt: f64,
    /// Temperature (degC).
    pub celsius: f64,
    /// The values of the channel's ion inputs ([`Channel::inputs`]), one
    /// column per input.
    pub inputs: Columns<'a, F>,
}

impl<F> Clone for ChannelEnv<'_, F> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<F> Copy for ChannelEnv<'_, F> {}

impl<'a, F: Copy> ChannelEnv<'a, F> {
    /// An environment without ion inputs.
    pub fn new(v: &'a [F], dt: f64, celsius: f64) -> Self {
        Self {
            v,
            dt,
            celsius,
            inputs: Columns::new(&[], v.len()),
        }
    }
}

/// Where a VJP kernel adds the cotangents of its inputs.
#[derive(Debug)]
pub struct Cot<'a, F = f64> {
    /// Of the voltage of each row.
    pub v: &'a mut [F],
    /// Of the parameters, in [`Channel::params`] order.
    pub params: ColumnsMut<'a, F>,
    /// Of the ion inputs, in [`Channel::inputs`] order.
    pub inputs: ColumnsMut<'a, F>,
}

/// A membrane mechanism, described: its names, parameters, states and ions,
/// and its math ([`Channel::ir`]), from which every backend derives its
/// kernels. Channels written as [`crate::GateKinetics`] or
/// [`crate::spiking::VoltageDynamics`] get all of it from their rate
/// functions.
///
/// In each step (NEURON's and Jaxley's order): mechanisms that set the
/// voltage act first; every channel advances its states at the voltage of
/// the start of the step; then its current and the current's slope in v
/// linearise the membrane current for the implicit voltage solve; pools
/// advance last, reading the step's ion currents.
pub trait Channel: Send + Sync + fmt::Debug {
    /// The channel's name, also the prefix of its parameters and states
    /// (`HH` gives `HH_gNa`, `HH_m`).
    fn name(&self) -> &str;

    /// The parameters, in column order.
    fn params(&self) -> &[ParamSpec];

    /// The states, in column order.
    fn states(&self) -> &[StateSpec];

    /// The ion whose current this channel's membrane current is (summed per
    /// compartment into e.g. `ica`, which pools read); None for a current
    /// that belongs to no tracked ion.
    fn ion(&self) -> Option<Ion> {
        None
    }

    /// The ion quantities the kernels read through `env.inputs`.
    fn inputs(&self) -> &[IonVar] {
        &[]
    }

    /// Some(ion) if this mechanism is a pool: its state 0 is the inside
    /// concentration of `ion` (mM), which sets the ion's reversal potential
    /// by the Nernst equation. The simulator starts state 0 at the ion's
    /// inside-concentration parameter (unless an initial value is set), and
    /// advances pools after the membrane currents of the step, with their
    /// [`IonVar::Current`] inputs holding those currents. A pool carries no
    /// membrane current.
    fn pool(&self) -> Option<Ion> {
        None
    }

    /// True if the mechanism sets the membrane voltage itself at the start
    /// of each step: non-capacitive neurons such as integrate-and-fire
    /// resets or Izhikevich's voltage equation.
    fn sets_voltage(&self) -> bool {
        false
    }

    /// The math of every phase as expression graphs, for step `dt` (ms) at
    /// temperature `celsius` (see [`ChannelIr`] for the inputs and outputs).
    fn ir(&self, dt: f64, celsius: f64) -> ChannelIr;

    /// Kernels compiled natively for the CPU in f64 (SIMD, hand-tuned or
    /// generated from generic code), if the channel has them; a backend
    /// without them derives kernels from [`Channel::ir`].
    fn native(&self) -> Option<&dyn ChannelKernels<f64>> {
        None
    }

    /// A boxed copy.
    fn clone_box(&self) -> Box<dyn Channel>;
}

/// A channel's kernels over all compartments it lives on, in precision `F`,
/// in structure-of-arrays form: row k of every column and `env.v[k]`
/// belong to the same compartment. Parameter and state columns follow the
/// order of [`Channel::params`] and [`Channel::states`]; ion inputs that
/// of [`Channel::inputs`].
pub trait ChannelKernels<F: Float> {
    /// Sets every state to its initial (steady) state at `env.v`.
    fn init_states(&self, env: &ChannelEnv<F>, params: Columns<F>, states: ColumnsMut<F>);

    /// Advances the states by one step `env.dt` at the voltage `env.v` of the
    /// start of the step.
    fn advance_states(&self, env: &ChannelEnv<F>, params: Columns<F>, states: ColumnsMut<F>);

    /// Writes the membrane current density `i` (mA/cm2, outward positive) and
    /// its slope in v, `di_dv` (S/cm2), at `env.v` and the given states: the
    /// derivative, or NEURON's forward difference over 0.001 mV (which the
    /// implicit solve linearises the current with).
    fn current(
        &self,
        env: &ChannelEnv<F>,
        params: Columns<F>,
        states: Columns<F>,
        i: &mut [F],
        di_dv: &mut [F],
    );

    /// Replaces the voltage `v` of each row (and updates the states) at the
    /// start of a step; only called if [`Channel::sets_voltage`].
    fn set_voltage(
        &self,
        env: &ChannelEnv<F>,
        params: Columns<F>,
        states: ColumnsMut<F>,
        v: &mut [F],
    ) {
        let _ = (env, params, states, v);
    }

    /// Reverse-mode derivative of [`ChannelKernels::init_states`]: adds to
    /// `cot` the cotangents of v, the parameters and the inputs, given the
    /// cotangent `cot_states` of the initial states.
    fn init_states_vjp(
        &self,
        env: &ChannelEnv<F>,
        params: Columns<F>,
        cot_states: Columns<F>,
        cot: Cot<F>,
    );

    /// Reverse-mode derivative of [`ChannelKernels::advance_states`].
    /// `states` holds the states before the step. On entry `cot_states`
    /// holds the cotangent of the states after the step, on return that of
    /// the states before it; the cotangents of v, the parameters and the
    /// inputs are added to `cot`.
    fn advance_states_vjp(
        &self,
        env: &ChannelEnv<F>,
        params: Columns<F>,
        states: Columns<F>,
        cot_states: ColumnsMut<F>,
        cot: Cot<F>,
    );

    /// Reverse-mode derivative of [`ChannelKernels::current`]: given the
    /// cotangents of `i` and `di_dv`, adds those of the states to
    /// `cot_states` and those of v, the parameters and the inputs to `cot`.
    #[allow(clippy::too_many_arguments)]
    fn current_vjp(
        &self,
        env: &ChannelEnv<F>,
        params: Columns<F>,
        states: Columns<F>,
        cot_i: &[F],
        cot_di_dv: &[F],
        cot_states: ColumnsMut<F>,
        cot: Cot<F>,
    );

    /// Reverse-mode derivative of [`ChannelKernels::set_voltage`]: `env.v`
    /// and `states` hold the values before it; on entry `cot_states` and
    /// `cot.v` hold the cotangents of the values after it, on return of
    /// those before; parameter cotangents are added to `cot.params`.
    fn set_voltage_vjp(
        &self,
        env: &ChannelEnv<F>,
        params: Columns<F>,
        states: Columns<F>,
        cot_states: ColumnsMut<F>,
        cot: Cot<F>,
    ) {
        let _ = (env, params, states, cot_states, cot);
    }
}

impl Clone for Box<dyn Channel> {
    fn clone(&self) -> Self {
        self.clone_box()
    }
}

/// A channel given by value or already boxed: what a model's `insert`
/// takes, so that one method serves both.
pub trait IntoChannel {
    /// The boxed channel.
    fn into_channel(self) -> Box<dyn Channel>;
}

impl<C: Channel + 'static> IntoChannel for C {
    fn into_channel(self) -> Box<dyn Channel> {
        Box::new(self)
    }
}

impl IntoChannel for Box<dyn Channel> {
    fn into_channel(self) -> Box<dyn Channel> {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_split_contiguous_storage() {
        let mut data = vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0];
        let mut cols = ColumnsMut::new(&mut data, 2);
        let [a, b, c] = cols.split::<3>();
        c[0] = 40.0;
        a[1] = 10.0;
        b[0] = 20.0;
        assert_eq!(cols.as_columns().col(0), &[0.0, 10.0]);
        assert_eq!(cols.as_columns().col(1), &[20.0, 3.0]);
        assert_eq!(cols.as_columns().col(2), &[40.0, 5.0]);
    }
}
