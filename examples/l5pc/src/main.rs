//! A layer-5 pyramidal cell with the Hay et al. (2011) channels.
//!
//! The morphology is `morph_l5pc_with_axon.swc` (from Jaxley's tests), cut
//! into 4 compartments per branch with branches split at 300 um. Channels
//! and densities follow BluePyOpt's L5PC model (its `release_params`):
//! sodium, potassium and calcium channels with a calcium pool in the soma
//! and the axon, Im and an Ih density that grows exponentially with the
//! distance from the soma in the apical dendrites, Ih in the basal ones;
//! a leak everywhere, cm = 2 uF/cm2 in the dendrites, 34 degC.
//!
//! A 0.6 nA step into the soma from 50 ms to 250 ms; the soma, a basal and
//! two apical sites are plotted to `out/l5pc.svg`.
//!
//! Run with `cargo run --release -p l5pc`.

use std::path::Path;
use std::time::Instant;

use ruxley::analysis::spike_times;
use ruxley::l5pc::insert_bluepyopt_l5pc;
use ruxley::{Model, RunOptions, SwcImport, Waveform};
use ruxley_plot::{Figure, Segment, Series, write_morphology_svg, write_svg};

/// The cell: morphology, regions, channels and BluePyOpt's parameter values.
fn l5pc(swc: &Path) -> Result<Model, Box<dyn std::error::Error>> {
    let mut cell = Model::from_swc_file(swc, &SwcImport::new(4).max_branch_len(300.0))?;
    insert_bluepyopt_l5pc(&mut cell)?;
    Ok(cell)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let swc = root.join("data/morphologies/jaxley/tests_swc_files/morph_l5pc_with_axon.swc");
    let start = Instant::now();
    let mut cell = l5pc(&swc)?;
    println!(
        "L5PC: {} branches, {} compartments, channels {} (built in {:.2} s)",
        cell.n_branches(),
        cell.n_comps(),
        cell.channel_names().join(" "),
        start.elapsed().as_secs_f64()
    );
    cell.branch(0)
        .comp(0)
        .stimulate(Waveform::step(50.0, 200.0, 0.6))?;
    // Sites: the soma, a basal tip, and two apical compartments at about 300
    // and 600 um from the soma.
    cell.branch(0).comp(0).record_as("v", "soma")?;
    cell.record_sites()?;
    let options = RunOptions::new(0.025, 300.0);
    let start = Instant::now();
    let traces = ruxley::simulate(&cell, &options)?;
    let seconds = start.elapsed().as_secs_f64();
    let soma = traces.get("v_soma_mV").expect("recorded");
    let spikes = spike_times(soma, options.dt, 0.0);
    println!(
        "simulated {} ms ({} steps) in {seconds:.2} s; {} somatic spikes, first at {:.2} ms",
        options.t_max,
        (options.t_max / options.dt).round(),
        spikes.len(),
        spikes.first().copied().unwrap_or(f64::NAN)
    );
    let t = traces.times();
    let panel = |name: &'static str, column: &str| {
        (
            name,
            vec![Series {
                label: "v",
                x: &t,
                y: traces.get(column).expect("recorded"),
            }],
        )
    };
    let figure = Figure {
        title: "L5PC (Hay 2011 channels, BluePyOpt parameters): 0.6 nA step",
        x_label: "time (ms)",
        panels: vec![
            panel("soma (mV)", "v_soma_mV"),
            panel("basal (mV)", "v_basal_mV"),
            panel("apical, ~300 um (mV)", "v_apical300_mV"),
            panel("apical, ~600 um (mV)", "v_apical600_mV"),
        ],
        log_y: false,
    };
    let out = root.join("out");
    std::fs::create_dir_all(&out)?;
    write_svg(out.join("l5pc.svg"), &figure, 900, 1000)?;
    println!("wrote {}", out.join("l5pc.svg").display());
    // The cell in the x-y plane, coloured by its Ih density.
    let ih = cell.values("Ih_gbar")?;
    let segments: Vec<Segment> = cell
        .comp_points()
        .iter()
        .zip(&ih)
        .map(|(points, g)| Segment {
            points: points.iter().map(|p| (p[0], p[1])).collect(),
            radius: points.first().map_or(0.5, |p| p[3]),
            value: g.unwrap_or(0.0),
        })
        .collect();
    let path = out.join("l5pc_ih.svg");
    write_morphology_svg(&path, "L5PC", "Ih gbar (S/cm2)", &segments, 800)?;
    println!("wrote {}", path.display());
    Ok(())
}

/// Recording sites chosen by distance from the soma.
trait Sites {
    fn record_sites(&mut self) -> Result<(), Box<dyn std::error::Error>>;
}

impl Sites for Model {
    fn record_sites(&mut self) -> Result<(), Box<dyn std::error::Error>> {
        let nearest = |m: &mut Model, group: &str, d: f64| -> Result<usize, ruxley::ModelError> {
            let comps = m.group(group).comps()?;
            Ok(*comps
                .iter()
                .min_by(|&&a, &&b| {
                    (m.path_distance(a) - d)
                        .abs()
                        .total_cmp(&(m.path_distance(b) - d).abs())
                })
                .expect("the group has compartments"))
        };
        let basal = nearest(self, "basal", 150.0)?;
        let a300 = nearest(self, "apical", 300.0)?;
        let a600 = nearest(self, "apical", 600.0)?;
        for (c, label) in [(basal, "basal"), (a300, "apical300"), (a600, "apical600")] {
            self.comp(c).record_as("v", label)?;
        }
        Ok(())
    }
}
