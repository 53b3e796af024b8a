"""Side-by-side speed of NEURON, Jaxley, Arbor and Ruxley on the anchor workloads, in one run.

    cargo build --release -p ruxley-benches --bin peer_worker
    <anchors venv>/bin/python validation/peer_speed.py [rounds]

Every simulator runs in its own persistent worker (validation/peers/peer_workers.py and the
Rust `peer_worker`), builds its models and warms them up (Jaxley: compiled, first call
done), then times one run per request in-process. In each round every workload is run once
by every simulator that has it, in a rotating order, so that all share the machine's state;
the figure reported is the median over rounds (default 5). Workloads (WORKLOADS.md in
crates/ruxley-conformance/data/reference/anchors): W1-long (1 compartment, 40,000 steps),
W2 (124 compartments, 2,000 steps), W3 (1,232 compartments, 4,000 steps), W5 (100 W2
members: NEURON runs them one after another, Jaxley with vmap, Ruxley as one batch), W6
(50 cells, 243 synapses, 4,000 steps). NEURON and Ruxley run on one thread, Arbor on one
thread (W2, W3: its models are the anchors' arbor/arbor_models.py), Jaxley as XLA chooses.
NEURON has no W6 (the anchors define it for Jaxley).

Writes validation/peers/RESULTS.md (the table, the machine, the load) and
validation/peers/results.json (every run).
"""
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PEERS = HERE / "peers"
ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 5
PY = sys.executable
WORKLOADS = ["w1long", "w2", "w3", "w5", "w6"]
SIZE = {  # compartments x steps of one member
    "w1long": 1 * 40000,
    "w2": 124 * 2000,
    "w3": 1232 * 4000,
    "w5": 100 * 124 * 2000,
    "w6": 50 * 4000,
}


class Worker:
    def __init__(self, name, argv):
        self.name = name
        self.p = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT
        )
        line = self.p.stdout.readline().strip()
        if not line.startswith("ready "):
            raise SystemExit(f"{name} did not start: {line!r}")
        self.version = line[6:]

    def time(self, workload):
        self.p.stdin.write(workload + "\n")
        self.p.stdin.flush()
        return float(self.p.stdout.readline())

    def close(self):
        self.p.stdin.write("quit\n")
        self.p.stdin.flush()
        self.p.wait()


def machine():
    cpu = next(
        (l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")),
        platform.processor(),
    )
    return f"{cpu}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def cpu_busy():
    """Jiffies (busy, total) from /proc/stat."""
    f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return sum(f) - f[3] - f[4], sum(f)


def main():
    if not (ROOT / "validation/anchors/_work/w3_jaxley_geometry.json").exists():
        # NEURON's W3 takes its geometry from Jaxley's reading of the SWC.
        subprocess.run([PY, "prep_w3_geometry.py"], cwd=ROOT / "validation/anchors", check=True)
    rux = ROOT / "target/release/peer_worker"
    workers = {"Ruxley": {"all": Worker("Ruxley", [str(rux)])}}
    workers["NEURON"] = {
        w: Worker("NEURON", [PY, str(PEERS / "peer_workers.py"), "neuron", w])
        for w in ["w1long", "w2", "w3", "w5"]
    }
    workers["Jaxley"] = {"all": Worker("Jaxley", [PY, str(PEERS / "peer_workers.py"), "jaxley"])}
    workers["Arbor"] = {"all": Worker("Arbor", [PY, str(PEERS / "peer_workers.py"), "arbor"])}
    has = {
        "Ruxley": WORKLOADS,
        "NEURON": ["w1long", "w2", "w3", "w5"],
        "Jaxley": WORKLOADS,
        "Arbor": ["w2", "w3"],
    }
    sims = list(workers)
    times = {(s, w): [] for s in sims for w in has[s]}
    load0 = os.getloadavg()
    busy0 = cpu_busy()
    wall0 = time.perf_counter()
    for r in range(ROUNDS):
        order = sims[r % len(sims):] + sims[: r % len(sims)]
        for w in WORKLOADS:
            for s in order:
                if w in has[s]:
                    worker = workers[s].get(w) or workers[s]["all"]
                    times[(s, w)].append(worker.time(w))
        print(f"round {r + 1}/{ROUNDS} done", file=sys.stderr, flush=True)
    wall = time.perf_counter() - wall0
    busy1 = cpu_busy()
    cores_used = (busy1[0] - busy0[0]) / max(busy1[1] - busy0[1], 1) * os.cpu_count()
    versions = {s: next(iter(ws.values())).version for s, ws in workers.items()}
    for ws in workers.values():
        for wk in ws.values():
            wk.close()

    med = {k: statistics.median(v) for k, v in times.items()}
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    lines = [
        "# Peer speed: NEURON, Jaxley, Arbor and Ruxley side by side",
        "",
        "Written by `validation/peer_speed.py` (do not edit by hand) on "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, Ruxley commit `{commit[:12]}`.",
        f"Machine: {machine()}. Load average before: {load0[0]:.2f}; during the timing window "
        f"the machine's CPUs were busy {cores_used:.2f} cores on average ({wall:.0f} s).",
        "",
        "| simulator | version and mode |",
        "|---|---|",
        *[f"| {s} | {versions[s]} |" for s in sims],
        "",
        f"Median of {ROUNDS} warm runs per cell (ms), interleaved; in brackets the time "
        "relative to Ruxley's (> 1: slower than Ruxley).",
        "",
        "| workload | " + " | ".join(sims) + " | Ruxley ns per comp-step |",
        "|---|" + "---|" * (len(sims) + 1),
    ]
    for w in WORKLOADS:
        cells = []
        base = med[("Ruxley", w)]
        for s in sims:
            if (s, w) not in med:
                cells.append("-")
            elif s == "Ruxley":
                cells.append(f"{med[(s, w)] * 1e3:.2f}")
            else:
                cells.append(f"{med[(s, w)] * 1e3:.2f} ({med[(s, w)] / base:.2f})")
        ns = base * 1e9 / SIZE[w]
        lines.append(f"| {w} | " + " | ".join(cells) + f" | {ns:.1f} |")
    text = "\n".join(lines) + "\n"
    (PEERS / "RESULTS.md").write_text(text)
    (PEERS / "results.json").write_text(
        json.dumps(
            dict(
                rounds=ROUNDS,
                versions=versions,
                machine=machine(),
                loadavg_before=load0,
                cores_busy=cores_used,
                times_s={f"{s} {w}": v for (s, w), v in times.items()},
            ),
            indent=1,
        )
    )
    print(text)


if __name__ == "__main__":
    main()
