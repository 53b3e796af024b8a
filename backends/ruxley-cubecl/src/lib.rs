//! The CubeCL GPU backend of Ruxley.
//!
//! Kernels are generated from the mechanisms' graphs (`Channel::ir`,
//! `Synapse::ir`): every graph is expanded at compile time into
//! straight-line kernel code, with its f64 constants in a buffer (CubeCL
//! writes literals in f32). One thread runs one batch member's whole
//! simulation, steps in as few launches as possible, every per-member
//! buffer member fastest so that a warp's loads are adjacent. The geometry,
//! drives and delays come from the shared lowering (`ruxley_backend::lower`).
//!
//! Runtimes: CUDA (feature `cuda`) and wgpu through SPIR-V (feature `wgpu`:
//! Vulkan, and Mesa's software lavapipe, which CI runs). Vulkan has no f64
//! `exp` or `log`: there they are built from arithmetic, with the CPU
//! backend's polynomial.
//!
//! Without a runtime feature the crate is empty.

#![warn(missing_docs)]
#![cfg(any(feature = "cuda", feature = "wgpu"))]

mod kernel;
mod plan;

/// The CubeCL crate this backend is built on (to name devices and runtimes).
pub use cubecl;

use std::time::{Duration, Instant};

use cubecl::prelude::*;
use ruxley_backend::lower::Geometry;
use ruxley_backend::{
    Backend, Batch, Capabilities, Feature, Request, RunOptions, SimError, check_run,
};
use ruxley_cell::{Layout, Parameters, Stimulus};
use ruxley_core::Precision;
use ruxley_traces::Traces;

use kernel::{BufsLaunch, init_kernel, step_kernel};

/// The runtime a [`GpuBackend`] runs on.
pub trait GpuRuntime: Runtime {
    /// `cuda` or `wgpu`.
    const NAME: &'static str;
    /// True if the runtime's f64 `exp` and `log` are missing or inexact.
    const NEEDS_OWN_F64_MATH: bool;
    /// The most loop iterations one thread may run in a launch, if limited
    /// (Mesa's llvmpipe stops a shader after 65535).
    const LOOP_BUDGET: Option<usize>;
}

#[cfg(feature = "cuda")]
impl GpuRuntime for cubecl::cuda::CudaRuntime {
    const NAME: &'static str = "cuda";
    const NEEDS_OWN_F64_MATH: bool = false;
    const LOOP_BUDGET: Option<usize> = None;
}

#[cfg(feature = "wgpu")]
impl GpuRuntime for cubecl::wgpu::WgpuRuntime {
    const NAME: &'static str = "wgpu";
    const NEEDS_OWN_F64_MATH: bool = true;
    const LOOP_BUDGET: Option<usize> = Some(60_000);
}

/// The GPU backend on runtime `R`.
#[derive(Clone)]
pub struct GpuBackend<R: GpuRuntime> {
    client: ComputeClient<R>,
    device: String,
    name: String,
    f64: bool,
    /// Steps per kernel launch.
    pub steps_per_launch: usize,
    /// Threads per member: 1 (a thread runs a member), 2 up to the device's
    /// most threads per cube (a cube of them runs a member), or `None` to
    /// choose by the batch size (see [`GpuBackend::lanes_for`]).
    pub threads_per_member: Option<u32>,
}

impl<R: GpuRuntime> std::fmt::Debug for GpuBackend<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuBackend")
            .field("device", &self.device)
            .finish()
    }
}

/// Time spent on the device in the last run, apart from transfers.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timing {
    /// Upload of the buffers.
    pub upload: Duration,
    /// The kernels (initialisation and steps), synchronised.
    pub kernels: Duration,
    /// Download of the recordings and flags.
    pub download: Duration,
}

#[cfg(feature = "cuda")]
impl GpuBackend<cubecl::cuda::CudaRuntime> {
    /// The backend on CUDA device `index`; an error where no CUDA driver or
    /// device is present.
    pub fn cuda(index: usize) -> Result<Self, SimError> {
        let device = cubecl::cuda::CudaDevice::new(index);
        let client = std::panic::catch_unwind(|| cubecl::cuda::CudaRuntime::client(&device))
            .map_err(|_| SimError::Unsupported("no CUDA device is available".into()))?;
        Ok(Self::with_client(
            client,
            format!("CUDA device {index}"),
            "cuda",
            true,
        ))
    }
}

#[cfg(feature = "wgpu")]
impl GpuBackend<cubecl::wgpu::WgpuRuntime> {
    /// The backend on the wgpu device `device` (through SPIR-V); an error
    /// where it is missing. It offers f64 where the device supports it
    /// (Mesa's lavapipe does; many consumer GPUs do not), f32 everywhere.
    pub fn wgpu(device: cubecl::wgpu::WgpuDevice) -> Result<Self, SimError> {
        let name = format!("wgpu {device:?}");
        let client = std::panic::catch_unwind(|| cubecl::wgpu::WgpuRuntime::client(&device))
            .map_err(|_| {
                SimError::Unsupported(format!("the wgpu device {device:?} is not available"))
            })?;
        let f64 = client
            .properties()
            .supports_type(cubecl::ir::ElemType::Float(cubecl::ir::FloatKind::F64));
        Ok(Self::with_client(client, name, "wgpu", f64))
    }
}

impl<R: GpuRuntime> GpuBackend<R> {
    fn with_client(client: ComputeClient<R>, device: String, name: &str, f64: bool) -> Self {
        Self {
            client,
            device,
            name: format!("cubecl-{name}"),
            f64,
            steps_per_launch: 1000,
            threads_per_member: None,
        }
    }

    /// Runs every member and reports the device time apart from transfers.
    pub fn simulate_timed(
        &self,
        layout: &Layout,
        batch: Batch,
        options: &RunOptions,
    ) -> Result<(Vec<Traces>, Timing), SimError> {
        self.run_members(layout, batch, options, true)
    }

    /// Runs every member, leaving the recordings on the device (for timing
    /// the kernels of batches whose traces need not come back).
    pub fn run_on_device(
        &self,
        layout: &Layout,
        batch: Batch,
        options: &RunOptions,
    ) -> Result<Timing, SimError> {
        Ok(self.run_members(layout, batch, options, false)?.1)
    }

    fn run_members(
        &self,
        layout: &Layout,
        batch: Batch,
        options: &RunOptions,
        download: bool,
    ) -> Result<(Vec<Traces>, Timing), SimError> {
        let (grid, n) = check_run(self, layout, &batch, options, Request::Simulate)?;
        let members = batch.members(0..n, layout);
        match options.precision {
            Precision::F64 => self.run::<f64>(layout, &members, options, grid, download),
            Precision::F32 => self.run::<f32>(layout, &members, options, grid, download),
        }
    }

    /// Threads per member for a batch of `members` members of `layout`
    /// (unless `threads_per_member` says): one thread per member from 2,048
    /// members on, where the batch alone fills the device; below, a cube per
    /// member with a thread per row (node or mechanism instance), 32 to 256.
    pub fn lanes_for(&self, members: usize, layout: &Layout) -> u32 {
        if let Some(lanes) = self.threads_per_member {
            return lanes;
        }
        let rows = layout.mechs().iter().map(|m| m.nodes.len());
        let rows = rows.max().unwrap_or(0).max(layout.n_nodes());
        if members >= 2048 {
            1
        } else {
            rows.next_power_of_two().clamp(32, 256) as u32
        }
    }

    /// The largest buffer the device allocates at once (bytes). Each
    /// per-member quantity (the recordings, the states) lives in one buffer
    /// across the batch, which bounds the members of one run.
    pub fn max_buffer_bytes(&self) -> u64 {
        self.client.properties().memory.max_page_size
    }

    /// The most nodes whose tree a cube per member solves in shared memory
    /// in precision `F` (three values per node); larger cells are solved in
    /// device memory.
    pub fn shared_solve_nodes<F>(&self) -> usize {
        self.client.properties().hardware.max_shared_memory_size / (3 * std::mem::size_of::<F>())
    }

    /// An error unless every per-member buffer (`columns` values per member)
    /// fits the device's largest allocation.
    fn check_fits<F>(&self, members: usize, columns: &[(&str, usize)]) -> Result<(), SimError> {
        let page = self.max_buffer_bytes();
        for &(what, cols) in columns {
            let bytes = (cols * members * std::mem::size_of::<F>()) as u64;
            if bytes > page {
                return Err(SimError::Batch(format!(
                    "the {what} of {members} members take {:.1} MB in one buffer, more than \
                     the {:.1} MB the device allocates at once: run the batch in parts",
                    bytes as f64 / 1e6,
                    page as f64 / 1e6
                )));
            }
        }
        Ok(())
    }

    fn run<F: Float + CubeElement + FromF64>(
        &self,
        layout: &Layout,
        members: &[(&Parameters, &[Stimulus])],
        options: &RunOptions,
        grid: ruxley_core::TimeGrid,
        download: bool,
    ) -> Result<(Vec<Traces>, Timing), SimError> {
        let m = members.len();
        let nodes = layout.n_nodes();
        let lanes = self.lanes_for(m, layout);
        let most = self.client.properties().hardware.max_units_per_cube;
        if !(1..=most).contains(&lanes) {
            return Err(SimError::Unsupported(format!(
                "threads_per_member is {lanes}; it must be 1 to {most} on this device"
            )));
        }
        if self.steps_per_launch == 0 {
            return Err(SimError::Unsupported(
                "steps_per_launch is 0; it must be at least 1".into(),
            ));
        }
        let precise = R::NEEDS_OWN_F64_MATH && std::mem::size_of::<F>() == 8;
        let shared_solve = lanes > 1 && nodes <= self.shared_solve_nodes::<F>();
        let (plan, shared) = plan::plan(
            layout,
            members,
            &grid,
            options.scheme,
            precise,
            shared_solve,
        )?;
        let steps = grid.n_steps();
        let samples = grid.n_samples();
        self.check_fits::<F>(
            m,
            &[
                ("recordings", samples * plan.probes.len()),
                ("geometry", 4 * nodes),
                ("work", plan.work.columns as usize),
                ("states", shared.st_cols as usize),
                ("parameters", shared.par_cols as usize),
                (
                    "stimulus currents",
                    if plan.stim_per_member {
                        plan.stims.1 as usize * steps
                    } else {
                        0
                    },
                ),
            ],
        )?;
        let side = |cols: usize, f: &dyn Fn(usize, &mut [f64])| -> Vec<F> {
            let mut out = vec![F::from_f64(0.0); cols * m];
            let mut col = vec![0.0; cols];
            for t in 0..m {
                f(t, &mut col);
                for (c, &x) in col.iter().enumerate() {
                    out[c * m + t] = F::from_f64(x);
                }
            }
            out
        };
        // Parameters in the plan's column order: mechanisms, then synapses.
        let par = side(shared.par_cols as usize, &|t, col| {
            let values = members[t].0.values();
            let mut at = 0;
            for ml in layout.mechs() {
                col[at..at + ml.params.len()].copy_from_slice(&values[ml.params.clone()]);
                at += ml.params.len();
            }
            for sl in layout.synapses() {
                col[at..at + sl.params.len()].copy_from_slice(&values[sl.params.clone()]);
                at += sl.params.len();
            }
        });
        let st0 = side(shared.st_cols as usize, &|t, col| {
            let values = members[t].0.values();
            let mut at = 0;
            for ml in layout.mechs() {
                col[at..at + ml.init_states.len()].copy_from_slice(&values[ml.init_states.clone()]);
                at += ml.init_states.len();
            }
            for sl in layout.synapses() {
                col[at..at + sl.init_states.len()].copy_from_slice(&values[sl.init_states.clone()]);
                at += sl.init_states.len();
            }
        });
        let geo = side(4 * nodes, &|t, col| {
            let g = Geometry::new(layout, members[t].0);
            col[..nodes].copy_from_slice(&g.cap);
            col[nodes..2 * nodes].copy_from_slice(&g.g_sum);
            col[2 * nodes..3 * nodes].copy_from_slice(&g.g_axial);
            col[3 * nodes..].copy_from_slice(&g.area_abs);
        });
        let v0 = side(nodes, &|t, col| {
            let v0 = &members[t].0.values()[layout.initial_voltage_range()];
            for (node, v) in col.iter_mut().enumerate() {
                *v = v0[layout.comp_at_node(node)];
            }
        });
        let to_f = |x: &[f64]| -> Vec<F> { x.iter().map(|&v| F::from_f64(v)).collect() };
        let start = Instant::now();
        let c = &self.client;
        let upload = |x: &[F]| c.create_from_slice(F::as_bytes(x));
        let zeros =
            |len: usize| c.create_from_slice(F::as_bytes(&vec![F::from_f64(0.0); len.max(1)]));
        let h_v = upload(&v0);
        let h_st = zeros(shared.st_cols as usize * m);
        let h_st0 = upload(&st0);
        let h_par = upload(&par);
        let h_geo = upload(&geo);
        let h_work = zeros(plan.work.columns as usize * m);
        let out_len = samples * plan.probes.len() * m;
        let h_out = zeros(out_len);
        let h_flags = zeros(2 * m);
        let h_idx = c.create_from_slice(u32::as_bytes(&nonempty(&shared.idx, 0)));
        let h_consts = upload(&to_f(&shared.consts));
        let h_drive = upload(&to_f(&nonempty(&shared.drive, 0.0)));
        let h_command = upload(&to_f(&nonempty(&shared.command, f64::NAN)));
        let lens = [
            nodes * m,
            shared.st_cols as usize * m,
            shared.st_cols as usize * m,
            shared.par_cols as usize * m,
            4 * nodes * m,
            plan.work.columns as usize * m,
            out_len,
            2 * m,
            shared.idx.len(),
            shared.consts.len(),
            shared.drive.len(),
            shared.command.len(),
        ];
        let arg = |h: &cubecl::server::Handle, len: usize| unsafe {
            ArrayArg::from_raw_parts(h.clone(), len.max(1))
        };
        let bufs = || {
            BufsLaunch::new(
                arg(&h_v, lens[0]),
                arg(&h_st, lens[1]),
                arg(&h_st0, lens[2]),
                arg(&h_par, lens[3]),
                arg(&h_geo, lens[4]),
                arg(&h_work, lens[5]),
                arg(&h_out, lens[6]),
                arg(&h_flags, lens[7]),
                arg(&h_idx, lens[8]),
                arg(&h_consts, lens[9]),
                arg(&h_drive, lens[10]),
                arg(&h_command, lens[11]),
            )
        };
        c.flush()
            .map_err(|e| SimError::Unsupported(format!("the device failed: {e:?}")))?;
        let uploaded = Instant::now();
        let dim = CubeDim::new_1d(128);
        let count = CubeCount::Static(m.div_ceil(128) as u32, 1, 1);
        init_kernel::launch::<F, R>(c, count.clone(), dim, bufs(), m as u32, plan.clone());
        let per_launch = match R::LOOP_BUDGET {
            Some(budget) => {
                (budget / plan.loop_iterations_per_step()).clamp(1, self.steps_per_launch)
            }
            None => self.steps_per_launch,
        };
        let (count, dim) = if lanes == 1 {
            (count, dim)
        } else {
            (CubeCount::Static(m as u32, 1, 1), CubeDim::new_1d(lanes))
        };
        let mut first = 0;
        while first < steps {
            let k = per_launch.min(steps - first);
            step_kernel::launch::<F, R>(
                c,
                count.clone(),
                dim,
                bufs(),
                m as u32,
                first as u32,
                k as u32,
                steps as u32,
                lanes,
                plan.clone(),
            );
            first += k;
        }
        cubecl::future::block_on(c.sync())
            .map_err(|e| SimError::Unsupported(format!("the device failed: {e:?}")))?;
        let ran = Instant::now();
        let flags = c.read_one_unchecked(h_flags);
        let flags = F::from_bytes(&flags);
        let out = if download {
            F::from_bytes(&c.read_one_unchecked(h_out)).to_vec()
        } else {
            Vec::new()
        };
        let done = Instant::now();
        let timing = Timing {
            upload: uploaded - start,
            kernels: ran - uploaded,
            download: done - ran,
        };
        // The first member that blew up, as the CPU backend reports it.
        for t in 0..m {
            let step = flags[t].to_f64();
            if step != 0.0 {
                let node = flags[m + t].to_f64() as usize;
                let step = step as usize - 1;
                return Err(SimError::Unstable {
                    member: t,
                    step,
                    time: grid.time(step + 1),
                    site: layout.site(layout.comp_at_node(node)),
                    value: f64::NAN,
                });
            }
        }
        if !download {
            return Ok((Vec::new(), timing));
        }
        let names: Vec<String> = layout.probes().iter().map(|p| p.column_name()).collect();
        let probes = names.len();
        let traces = (0..m)
            .map(|t| {
                let mut tr = Traces::zeros(names.clone(), grid.dt(), samples);
                for k in 0..probes {
                    for (s, x) in tr.trace_mut(k).iter_mut().enumerate() {
                        *x = out[(s * probes + k) * m + t].to_f64();
                    }
                }
                tr
            })
            .collect();
        Ok((traces, timing))
    }
}

/// `x`, or one `fill` value if it is empty (a buffer cannot be empty).
fn nonempty<T: Clone>(x: &[T], fill: T) -> Vec<T> {
    if x.is_empty() { vec![fill] } else { x.to_vec() }
}

/// Conversion from the f64 the host computes in.
pub trait FromF64: Copy {
    /// `x` rounded to this type.
    fn from_f64(x: f64) -> Self;
    /// The value as f64.
    fn to_f64(self) -> f64;
}

impl FromF64 for f64 {
    fn from_f64(x: f64) -> Self {
        x
    }
    fn to_f64(self) -> f64 {
        self
    }
}

impl FromF64 for f32 {
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
}

impl<R: GpuRuntime> Backend for GpuBackend<R> {
    fn name(&self) -> &str {
        &self.name
    }

    fn device(&self) -> String {
        self.device.clone()
    }

    fn capabilities(&self) -> Capabilities {
        let mut precisions = vec![Precision::F32];
        if self.f64 {
            precisions.insert(0, Precision::F64);
        }
        Capabilities {
            precisions,
            gradients: false,
            jvp: false,
            features: Feature::ALL.to_vec(),
            truncated_gradients: false,
        }
    }

    fn simulate(
        &self,
        layout: &Layout,
        batch: Batch,
        options: &RunOptions,
    ) -> Result<Vec<Traces>, SimError> {
        Ok(self.simulate_timed(layout, batch, options)?.0)
    }
}
