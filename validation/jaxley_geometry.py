"""Export Jaxley's read_swc layout of several SWC files as JSON test fixtures.

Run with Jaxley 0.14.0 (see validation/README.md):
    python jaxley_geometry.py ../data/morphologies ../crates/ruxley-morph/tests/fixtures/jaxley
Each fixture lists, in Jaxley's branch numbering, the branch parents and SWC group of
every branch, and per compartment (branch-major) area, radius, length and the
half-compartment resistive loads. The Rust test `jaxley_layout` compares against them.
"""
import json
import sys
import warnings
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_platform_name", "cpu")
import jaxley as jx

CASES = [
    ("jaxley/tests_swc_files/morph_ca1_n120.swc", 2, None, None),
    ("jaxley/tests_swc_files/morph_ca1_n120_250_single_point_soma.swc", 2, None, None),
    ("jaxley/tests_swc_files/morph_3_types.swc", 1, None, None),
    ("jaxley/tests_swc_files/morph_3_types_single_point_soma.swc", 2, None, None),
    ("jaxley/tests_swc_files/morph_interrupted_soma.swc", 1, None, None),
    ("jaxley/tests_swc_files/morph_minimal.swc", 2, None, None),
    ("jaxley/tests_swc_files/morph_non_somatic_branchpoint.swc", 3, None, None),
    ("jaxley/tests_swc_files/morph_somatic_branchpoint.swc", 3, None, None),
    ("jaxley/tests_swc_files/morph_soma_both_ends.swc", 3, None, None),
    ("jaxley/tests_swc_files/morph_single_branch.swc", 3, None, None),
    ("jaxley/tests_swc_files/morph_variable_radiuses_multi_branch.swc", 3, None, None),
    ("jaxley/tests_swc_files/morph_variable_radiuses_within_branch.swc", 4, None, None),
    ("jaxley/tests_swc_files/morph_l5pc_with_axon.swc", 4, 300.0, None),
    ("jaxley/tests_swc_files/morph_allen_485574832.swc", 1, None, None),
    ("jaxley/tests_swc_files/morph_ca1_n120_single_point_soma.swc", 2, 100.0, None),
    ("arbor/test_swc/pyramidal.swc", 1, None, None),
    ("arbor/test_swc/ball_and_stick.swc", 3, None, None),
    ("neuron_nrn/c91662.swc", 1, None, None),
    ("bluepyopt/simple_ax2.swc", 2, None, None),
    ("bluepyopt/apic.swc", 2, None, None),
]


def export(path, ncomp, max_len, min_radius):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cell = jx.read_swc(str(path), ncomp=ncomp, max_branch_len=max_len, min_radius=min_radius)
    nodes = cell.nodes
    nb = int(nodes.global_branch_index.max()) + 1
    groups = []
    for b in range(nb):
        rows = nodes[nodes.global_branch_index == b]
        names = [g for g in cell.group_names if bool(rows[g].iloc[0])]
        groups.append(names)
    return dict(
        ncomp=ncomp,
        max_branch_len=max_len,
        min_radius=min_radius,
        nbranches=nb,
        parents=[int(p) for p in cell.comb_parents],
        groups=groups,
        area=nodes.area.to_numpy().tolist(),
        radius=nodes.radius.to_numpy().tolist(),
        length=nodes.length.to_numpy().tolist(),
        resistive_load_in=nodes.resistive_load_in.to_numpy().tolist(),
        resistive_load_out=nodes.resistive_load_out.to_numpy().tolist(),
    )


def main(src, dst):
    src, dst = Path(src), Path(dst)
    dst.mkdir(parents=True, exist_ok=True)
    for rel, ncomp, max_len, min_radius in CASES:
        name = Path(rel).stem + f"_ncomp{ncomp}" + (f"_max{int(max_len)}" if max_len else "")
        try:
            out = export(src / rel, ncomp, max_len, min_radius)
        except Exception as e:  # record what Jaxley does with this file
            out = dict(ncomp=ncomp, max_branch_len=max_len, error=f"{type(e).__name__}: {e}")
        out["file"] = rel
        out["jaxley_version"] = jx.__version__
        (dst / f"{name}.json").write_text(json.dumps(out))
        print(name, out.get("nbranches", out.get("error")))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
