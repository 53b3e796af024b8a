"""Timing workers of peer_speed.py, one persistent process each, driven line by line.

    python peer_workers.py neuron WORKLOAD   one NEURON model (w1long, w2, w3 or w5)
    python peer_workers.py jaxley            Jaxley float64, every workload compiled
    python peer_workers.py arbor             Arbor, w2 and w3 on one thread

Each worker builds its models, runs every one once (warm-up; Jaxley: lower, compile and a
first call), prints "ready <simulator> <version>", then answers each line naming a workload
with the seconds one run takes, and stops at "quit". Run with the anchors venv's python
(validation/anchors/requirements.txt, plus arbor==0.12.2); the models are the anchors' own
(nrn_models.py, jx_models.py, arbor/arbor_models.py).
"""
import sys
import time
from pathlib import Path

ANCHORS = Path(__file__).resolve().parent.parent / "anchors"
sys.path.insert(0, str(ANCHORS))
sys.path.insert(0, str(ANCHORS / "arbor"))


def serve(handlers, hello):
    print("ready " + hello, flush=True)
    for line in sys.stdin:
        cmd = line.strip()
        if not cmd:
            continue
        if cmd == "quit":
            break
        t0 = time.perf_counter()
        handlers[cmd]()
        print(f"{time.perf_counter() - t0:.9f}", flush=True)


def neuron_worker(workload):
    import common as C
    import nrn_models as N
    from neuron import __version__ as version

    N.set_variant("nrn_bwd_notable")
    if workload == "w1long":
        m = N.build_w1(i_dur=C.W1["long_i_dur"])
        t_max = C.W1["long_t_max"]
        run = lambda: m.run(t_max)  # noqa: E731
    elif workload in ("w2", "w5"):
        m = N.build_w2()
        t_max = C.W2_STIM["t_max"]
        if workload == "w2":
            run = lambda: m.run(t_max)  # noqa: E731
        else:
            sets = C.w5_param_sets()

            def run():
                for gna, gk, gl in sets:
                    N.set_cellwide_g(m, gna, gk, gl)
                    m.run(t_max)

    elif workload == "w3":
        m = N.build_w3("matched")
        t_max = C.W3_STIM["t_max"]
        run = lambda: m.run(t_max)  # noqa: E731
    else:
        raise SystemExit(f"NEURON has no workload {workload}")
    run()
    serve({workload: run}, f"neuron {version} (nrn_bwd_notable)")


def jaxley_worker():
    import jax

    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_platform_name", "cpu")
    import jax.numpy as jnp

    import common as C
    import jaxley as jx
    import jx_models as J

    def compiled(cell, t_max, batch=False):
        def fwd(params):
            return jx.integrate(cell, params=params, delta_t=C.DT, t_max=t_max)

        fn = jax.vmap(fwd) if batch else fwd
        return jax.jit(fn)

    handlers = {}

    def add(name, fn, args):
        jax.block_until_ready(fn(*args))  # compile and first call
        handlers[name] = lambda: jax.block_until_ready(fn(*args))

    cell, _ = J.build_w1(i_dur=C.W1["long_i_dur"], t_max=C.W1["long_t_max"])
    cell.make_trainable("HH_gNa", verbose=False)
    add("w1long", compiled(cell, C.W1["long_t_max"]), (cell.get_parameters(),))
    cell, _ = J.build_w2()
    cell.make_trainable("HH_gNa", verbose=False)
    add("w2", compiled(cell, C.W2_STIM["t_max"]), (cell.get_parameters(),))
    cell, _ = J.build_w3()
    cell.make_trainable("HH_gNa", verbose=False)
    add("w3", compiled(cell, C.W3_STIM["t_max"]), (cell.get_parameters(),))
    cell, _ = J.build_w2(record=False)
    cell.branch(0).comp(0).record("v", verbose=False)
    for p in ("HH_gNa", "HH_gK", "HH_gLeak"):
        cell.make_trainable(p, verbose=False)
    keys = [list(d)[0] for d in cell.get_parameters()]
    sets = C.w5_param_sets()
    col = {"HH_gNa": 0, "HH_gK": 1, "HH_gLeak": 2}
    batched = [{k: jnp.asarray(sets[:, col[k]][:, None])} for k in keys]
    add("w5", compiled(cell, C.W2_STIM["t_max"], batch=True), (batched,))
    net, _ = J.build_w6()
    net.select(edges="all").make_trainable("IonotropicSynapse_gS", verbose=False)
    add("w6", compiled(net, C.W6["t_max"]), (net.get_parameters(),))
    serve(handlers, f"jaxley {jx.__version__} (jax {jax.__version__}, float64, jit)")


def arbor_worker():
    import arbor as A
    import arbor_models as M

    handlers = {}
    for w, build in (("w2", M.build_w2), ("w3", M.build_w3)):
        m = build()
        sim, _ = M.make_sim(m, threads=1)  # recording its sites, as the others do
        M.run(sim, m)
        handlers[w] = lambda s=sim, mm=m: M.run(s, mm)
    serve(handlers, f"arbor {A.__version__} (1 thread)")


if __name__ == "__main__":
    {"neuron": lambda: neuron_worker(sys.argv[2]), "jaxley": jaxley_worker, "arbor": arbor_worker}[
        sys.argv[1]
    ]()
