# amaranth: UnusedElaboratable=no
"""The multicast AER router (:class:`hwgen.core.router.Router`) alone, against the golden
routing model (:func:`golden.routing.router_outputs`), under random stalls on every port.

Each pytest case is one router drawn from ``HWGEN_SEED`` (inputs, outputs mixing ``LINK``
and delivery ports, sources each entering on one fixed input port, several sharing a port
as on a mesh link, a random multicast table with some sources routed nowhere, and an input
FIFO of depth 0 or 2), built once; its scenarios (traffic and stall patterns) run as
cocotb tests of ``router_bench`` in that one build. The bench proves that every packet
arrives exactly once at exactly its table's outputs and never crosses a tick: per source
and in order on a link, per timestep (multiset, one tick each) on a delivery port, nothing
extra anywhere, and the stream rule on every port.

Traffic follows the fabric's timestep discipline (the mesh's timestep gate): on one input
port, the sources routed to a delivery port send all their packets of timestep ``t``,
ticks included, before any of ``t + 1``, each source in its own order, interleaved at
random; sources only routed to links (or nowhere) interleave freely. A router cannot do
better: a delivery port holds a source that has ticked until every expected source has,
so a packet of ``t + 1`` at the head of a shared port would block another source's tick
of ``t`` behind it. Every source a delivery port expects sends the same number of
timesteps.

Throughput (a ratio, not a timing): with no stalls and a permutation table (one source per
input, each to its own output), every output port moves one packet per cycle.
"""

import random

import pytest
from conftest import SEED

from golden.routing import LINK as GOLDEN_LINK
from golden.routing import router_outputs
from hwgen.aer import packet_layout
from hwgen.core.router import LINK, Deliver, Router
from hwgen.sim.runner import SimError, run_cocotb
from hwgen.verilog_text import to_verilog

BENCH = "router_bench"
SIM = "verilator"


# ---------------------------------------------------------------------------- routers

def _pick_kinds(rng, n_out):
    """Per output: ``True`` for a delivery port; both kinds present when there are two
    outputs or more."""
    kinds = [rng.random() < 0.5 for _ in range(n_out)]
    if n_out >= 2 and len(set(kinds)) < 2:
        kinds[rng.randrange(n_out)] ^= True
    return kinds


def random_router(rng, shape):
    """A random router: ``{"layout", "inputs", "outputs", "table", "port_of", "depth"}``.

    ``outputs[j]`` is ``"link"`` or the sorted source ids delivery port ``j`` expects
    (exactly the sources routed to it); ``port_of[s]`` is the input port of source ``s``.
    """
    n_in = rng.randint(*shape["inputs"])
    n_out = rng.randint(*shape["outputs"])
    n_src = rng.randint(*shape["sources"])
    port_of = [rng.randrange(n_in) for _ in range(n_src)]
    if n_src > 1 and len(set(port_of)) == n_src:
        port_of[rng.randrange(1, n_src)] = port_of[0]       # two sources share a port
    deliver = _pick_kinds(rng, n_out)
    table = []
    for _ in range(n_src):
        if rng.random() < 0.1:
            table.append(set())
        else:
            table.append(set(rng.sample(range(n_out), rng.randint(1, n_out))))
    # Some source routed nowhere (where there are enough), the others feed every delivery
    # port at least once (a delivery port expects at least one source).
    dead = rng.randrange(n_src) if n_src >= 4 else None
    if dead is not None:
        table[dead] = set()
    live = [s for s in range(n_src) if s != dead]
    for j in range(n_out):
        if deliver[j] and not any(j in table[s] for s in live):
            table[rng.choice(live)].add(j)
    outputs = [sorted(s for s in range(n_src) if j in table[s]) if deliver[j] else "link"
               for j in range(n_out)]
    layout = {"sources": n_src, "addr_count": rng.randint(1, 40),
              "max_value": rng.randint(1, 15)}
    depth = rng.choice(shape["depth"])
    return {"layout": layout, "inputs": n_in, "outputs": outputs,
            "table": [sorted(row) for row in table], "port_of": port_of, "depth": depth}


def permutation_router(rng, n, depth):
    """``n`` inputs and outputs, source ``s`` on input ``s`` routed to output ``perm[s]``
    only, outputs mixing both kinds."""
    perm = list(range(n))
    rng.shuffle(perm)
    deliver = _pick_kinds(rng, n)
    outputs = ["link"] * n
    for s, j in enumerate(perm):
        if deliver[j]:
            outputs[j] = [s]
    layout = {"sources": n, "addr_count": rng.randint(1, 40),
              "max_value": rng.randint(1, 15)}
    return {"layout": layout, "inputs": n, "outputs": outputs,
            "table": [[j] for j in perm], "port_of": list(range(n)), "depth": depth}


def build(router):
    """The :class:`Router` of a router description."""
    layout = packet_layout(**router["layout"])
    outputs = [LINK if kind == "link" else Deliver(kind) for kind in router["outputs"]]
    # Each input is told which sources arrive there, so the router prunes the paths no
    # source uses (as the fabric's routers are built): the scoreboard checks the pruning.
    arrivals = [{s for s, port in enumerate(router["port_of"]) if port == k}
                for k in range(router["inputs"])]
    return Router(layout, router["inputs"], outputs, [set(r) for r in router["table"]],
                  buffer_depth=router["depth"], arrivals=arrivals)


# ---------------------------------------------------------------------------- traffic

def interleave(rng, sequences):
    """A uniformly random interleaving of ``sequences``, each kept in its order."""
    rest = [list(seq) for seq in sequences if seq]
    pos = [0] * len(rest)
    out = []
    while rest:
        weights = [len(seq) - p for seq, p in zip(rest, pos, strict=True)]
        i = rng.choices(range(len(rest)), weights)[0]
        out.append(rest[i][pos[i]])
        pos[i] += 1
        if pos[i] == len(rest[i]):
            del rest[i], pos[i]
    return out


def random_traffic(rng, router, spec):
    """Per input port, its packets ``(src, addr, value, tick)`` in order.

    Every timestep of a source is its events then a tick (random ``addr`` / ``value`` bits
    on the tick: a link must pass them unchanged). ``empty``: the share of timesteps with
    no event; ``density``: events per timestep up to ``density * 2``, at least
    ``min_events``.
    """
    fields = packet_layout(**router["layout"])
    addr_limit, value_limit = 1 << fields["addr"].width, 1 << fields["value"].width
    timesteps = rng.randint(*spec.get("timesteps", (2, 6)))
    n_src = router["layout"]["sources"]
    delivered = {s for s in range(n_src) for j in router["table"][s]
                 if router["outputs"][j] != "link"}
    steps = []
    for s in range(n_src):
        # A delivery port's sources send the same number of timesteps; the others vary
        # (unless ``spec["same_timesteps"]``).
        count = (timesteps if s in delivered or spec.get("same_timesteps")
                 else rng.randint(0, timesteps + 2))
        per_step = []
        for _ in range(count):
            n = (0 if rng.random() < spec.get("empty", 0.15)
                 else rng.randint(spec.get("min_events", 0),
                                  round(2 * spec.get("density", 1.5))))
            step = [(s, rng.randrange(addr_limit), rng.randrange(value_limit), 0)
                    for _ in range(n)]
            step.append((s, rng.randrange(addr_limit), rng.randrange(value_limit), 1))
            per_step.append(step)
        steps.append(per_step)
    inputs = []
    for k in range(router["inputs"]):
        on_port = [s for s in range(n_src) if router["port_of"][s] == k]
        aligned = [s for s in on_port if s in delivered]
        seq = []
        for t in range(timesteps):
            seq += interleave(rng, [steps[s][t] for s in aligned])
        free = [[p for step in steps[s] for p in step] for s in on_port if s not in delivered]
        inputs.append(interleave(rng, [seq, *free]))
    return inputs


def golden_outputs(router, inputs):
    """The bench's expected outputs, from :func:`golden.routing.router_outputs`."""
    outputs = [GOLDEN_LINK if kind == "link" else set(kind) for kind in router["outputs"]]
    result = router_outputs([set(r) for r in router["table"]], outputs, inputs)
    expected = []
    for kind, out in zip(router["outputs"], result, strict=True):
        if kind == "link":
            expected.append({"kind": "link", "per_src": {
                str(src): [list(p) for p in seq] for src, seq in out.items()}})
        else:
            expected.append({"kind": "deliver", "steps": [
                [[s, a, v, n] for (s, a, v), n in sorted(step.items())] for step in out]})
    return expected


def per_port(knob, spec, k):
    """Stall spec of port ``k``: ``spec["<knob>s"][k]`` if the spec lists one per port."""
    listed = spec.get(f"{knob}s")
    return listed[k % len(listed)] if listed else spec.get(knob, 0.3)


def scenario(spec, rng, router, feeds=None):
    """A scenario of the bench: inputs' packets, stalls, and golden outputs."""
    inputs = random_traffic(rng, router, spec)
    delays = spec.get("tick_delays", [0])
    total = sum(len(port) for port in inputs)
    out = {
        "name": spec["name"],
        # Generous (stalls up to 0.9, bursts of 120): only a hang reaches it.
        "max_cycles": 3000 + 100 * total,
        "inputs": [{"packets": [list(p) for p in packets],
                    "stall": per_port("in_stall", spec, k),
                    "tick_delay": delays[k % len(delays)]}
                   for k, packets in enumerate(inputs)],
        "outputs": [{"expected": expected, "stall": per_port("out_stall", spec, j)}
                    for j, expected in enumerate(golden_outputs(router, inputs))],
    }
    if spec.get("throughput"):
        out["throughput"] = {"min_ratio": 1.0, "feeds": feeds}
    return out


# Stall specs as in stream_blocks_bench: a probability, a 1 (go) / 0 (stall) pattern
# repeated, or {"burst": p, "length": n}; "<knob>s" gives one spec per port.
SCENARIOS = [
    {"name": "no_stalls", "in_stall": 0.0, "out_stall": 0.0},
    {"name": "random_stalls", "in_stall": 0.3, "out_stall": 0.3},
    # Outputs stalled most of the time while inputs come and go: a port must hold what it
    # offered (not switch to an input that became valid meanwhile).
    {"name": "outputs_mostly_stalled", "in_stall": 0.5, "out_stall": 0.75},
    {"name": "inputs_never_stall", "in_stall": 0.0, "out_stall": 0.6},
    {"name": "input_stalls", "in_stall": 0.8, "out_stall": 0.1},
    {"name": "patterns", "in_stalls": [[1, 1, 0], [1, 0], [0, 1, 1, 1], [1], [0, 0, 1]],
     "out_stalls": [[1, 0, 0, 1, 0], [0, 1], [1, 1, 1, 0], [1], [0, 0, 0, 1]]},
    # Long bursts let FIFOs fill and multicast copies of one packet leave many cycles apart.
    {"name": "bursts", "in_stalls": [{"burst": 0.05, "length": 15}, 0.1],
     "out_stalls": [{"burst": 0.08, "length": 30}, {"burst": 0.1, "length": 7}, 0.5,
                    {"burst": 0.03, "length": 60}], "density": 3.0},
    {"name": "one_output_blocked_long", "in_stall": 0.1,
     "out_stalls": [{"burst": 0.05, "length": 120}, 0.0, 0.2], "density": 2.0},
    # Ticks of different inputs far apart: a quick input's packets of t + 1 wait behind a
    # delivery port's tick of t while a slow input is still in t.
    {"name": "lagging_inputs", "in_stalls": [0.0, 0.9, 0.1, 0.6],
     "tick_delays": [40, 0, 5, 0], "out_stall": 0.3},
    {"name": "sparse", "in_stall": 0.2, "out_stall": 0.4, "empty": 0.6, "density": 0.5},
    {"name": "many_timesteps", "in_stall": 0.2, "out_stall": 0.3, "timesteps": (10, 16),
     "density": 1.0},
]

THROUGHPUT = {"name": "throughput", "in_stall": 0.0, "out_stall": 0.0, "empty": 0.0,
              "min_events": 1, "same_timesteps": True, "density": 6.0, "timesteps": (4, 6),
              "throughput": True}

# Shapes of the random routers: (low, high) of inputs, outputs and sources; FIFO depths.
SHAPES = {
    "any": {"inputs": (1, 5), "outputs": (1, 5), "sources": (1, 6), "depth": [0]},
    # Many sources on few input ports, as on a mesh link.
    "shared_inputs": {"inputs": (1, 2), "outputs": (2, 5), "sources": (4, 6), "depth": [2]},
    "wide": {"inputs": (4, 5), "outputs": (4, 5), "sources": (5, 6), "depth": [0, 2]},
}

# Each stall spec runs with this many traffic draws (a build costs seconds, a run little).
DRAWS = 2


def scenarios(rng, router):
    return [scenario({**spec, "name": f"{spec['name']}_{i}"}, rng, router)
            for spec in SCENARIOS for i in range(DRAWS)]


def run_router(router, cases, build_dir):
    """Build the router once and run every scenario of ``cases`` on it."""
    config = {"seed": SEED, "layout": router["layout"], "inputs": router["inputs"],
              "outputs": router["outputs"], "table": router["table"],
              "scenarios": cases}
    text = to_verilog(build(router), "router")
    try:
        total, _ = run_cocotb(text, "router", BENCH, build_dir, sim=SIM, config=config)
    except SimError as exc:
        pytest.fail(f"{exc} [router {describe(router)}]", pytrace=False)
    assert total == len(cases)


def describe(router):
    return (f"inputs {router['inputs']}, outputs {router['outputs']}, table "
            f"{router['table']}, sources on inputs {router['port_of']}, buffer_depth "
            f"{router['depth']}, layout {router['layout']}, HWGEN_SEED {SEED}")


# ---------------------------------------------------------------------------- tests

def test_traffic_generator():
    """The generated traffic is what the bench assumes (pure Python, no simulator): every
    source on its one port, the delivery sources of a port in timestep order, a delivery
    port's sources with as many ticks each, golden with one timestep per tick."""
    rng = random.Random(f"{SEED}/traffic")
    for shape in SHAPES.values():
        for _ in range(20):
            router = random_router(rng, shape)
            build(router)       # the Router accepts it
            inputs = random_traffic(rng, router, {})
            delivered = {s for s, row in enumerate(router["table"])
                         if any(router["outputs"][j] != "link" for j in row)}
            for k, port in enumerate(inputs):
                assert all(router["port_of"][p[0]] == k for p in port)
                step, order = {}, []
                for src, _, _, tick in port:
                    if src in delivered:
                        order.append(step.get(src, 0))
                        step[src] = step.get(src, 0) + tick
                assert order == sorted(order)
            expected = golden_outputs(router, inputs)
            for kind, out in zip(router["outputs"], expected, strict=True):
                if kind != "link":
                    ticks = {sum(p[3] for port in inputs for p in port if p[0] == s)
                             for s in kind}
                    assert len(ticks) == 1 and len(out["steps"]) == ticks.pop()


@pytest.mark.parametrize("case", sorted(SHAPES))
def test_router_random(case, build_dir):
    """A random router: every packet exactly once at exactly its outputs, per timestep."""
    rng = random.Random(f"{SEED}/router/{case}")
    router = random_router(rng, SHAPES[case])
    run_router(router, scenarios(rng, router), build_dir)


@pytest.mark.parametrize("depth", [0, 2])
def test_router_throughput(depth, build_dir):
    """Permutation table, no stalls: one packet per cycle through every output port,
    without input FIFOs and with the mesh's 2-entry ones."""
    rng = random.Random(f"{SEED}/router/permutation/{depth}")
    router = permutation_router(rng, rng.randint(3, 5), depth)
    feeds = {str(j): [s] for s, (j,) in enumerate(router["table"])}
    run_router(router, [scenario(THROUGHPUT, rng, router, feeds), *scenarios(rng, router)],
               build_dir)
