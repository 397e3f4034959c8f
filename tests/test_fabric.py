"""The router fabric's plan (hwgen.fabric), in plain Python: splits, routes and their
bases against the golden model's inputs of every core, X-Y multicast trees, errors."""

import random
from collections import Counter

import numpy as np
import pytest

import golden
from golden.routing import fabric_deliveries
from hwgen.fabric import MESH_PORTS, FabricError, FabricPlan, split_sizes
from hwgen.graph import NetworkGraph
from hwgen.inputs import random_inputs
from hwgen.model import model_from_dict
from hwgen.network import GenerateOptions

X_PORTS, Y_PORTS = {"east", "west"}, {"north", "south"}


def _model():
    """input -> a (10) -> b (7) and [input, a] -> c (5); the output is b; c is read by
    nobody (a skip connection and a dead end)."""
    rng = np.random.default_rng(1)

    def layer(name, size, fan_in, inputs):
        return {"name": name, "type": "dense", "size": size, "input": inputs,
                "weight_bits": 4, "weights": rng.integers(-8, 8, (size, fan_in)).tolist(),
                "neuron": {"model": "if", "threshold": 3, "reset": "soft", "v_bits": 10}}
    return model_from_dict({"format": "hwgen-model/1", "name": "net", "timesteps": 3,
                            "input": {"size": 6, "max_value": 1},
                            "layers": [layer("a", 10, 6, "input"), layer("b", 7, 10, "a"),
                                       layer("c", 5, 16, ["input", "a"])],
                            "output": "b"})


def _plan(model, topology="crossbar", **kw):
    return NetworkGraph(model, GenerateOptions(topology=topology, **kw)).fabric


def test_split_sizes_are_balanced_and_cover_the_layer():
    assert split_sizes(10, 4) == [3, 3, 2, 2]
    assert split_sizes(128, 8) == [16] * 8
    for size in range(1, 40):
        for parts in range(1, size + 1):
            sizes = split_sizes(size, parts)
            assert sum(sizes) == size and max(sizes) - min(sizes) <= 1


@pytest.mark.parametrize("topology", ["crossbar", "mesh"])
@pytest.mark.parametrize("splits", [{}, {"a": 3, "b": 2}, {"a": 10, "b": 7, "c": 5}])
def test_every_core_receives_exactly_its_layers_input(topology, splits):
    """Route the golden spikes of every source through the plan's routes (the golden
    routing model): each core gets, per timestep, exactly the nonzero entries of its
    layer's concatenated input, at their axon addresses; the output gets the output
    layer's spikes."""
    model = _model()
    plan = _plan(model, topology, splits=splits)
    x = random_inputs(model, samples=1, seed=3, density=0.7)[0]
    spikes = {"input": x, **golden.run(model, x)}

    def events(values):
        return [(int(a), int(values[a])) for a in np.flatnonzero(values)]
    sources = {}
    for src, name in enumerate(plan.sources):
        layer, start = ("input", 0) if name == "input" else next(
            (s.layer, s.start) for s in plan.cores if s.name == name)
        size = plan.source_size[name]
        sources[src] = [events(step[start:start + size]) for step in spikes[layer]]
    got = fabric_deliveries([(r.src, r.dest, r.base) for r in plan.routes], sources)
    for part in plan.cores:
        layer = model.layer(part.layer)
        concat = np.concatenate([spikes[s] for s in layer.inputs], axis=1)
        assert got[part.name] == [Counter(events(step)) for step in concat], part.name
    assert got["output"] == [Counter(events(step)) for step in spikes[model.output]]


def _walk(plan, src):
    """Follow source ``src``'s packets through the mesh tables: the tiles where they are
    delivered, asserting a tree (no router twice) and no turn from Y back to X."""
    origin = plan.tile[plan.sources[src]]
    delivered, seen = [], set()
    todo = [(origin, None)]
    while todo:
        xy, came = todo.pop()
        assert xy not in seen, f"src {src} reaches router {xy} twice"
        seen.add(xy)
        for port in plan.mesh_tables[xy].get(src, ()):
            if port == "local":
                delivered.append(xy)
                continue
            assert not (came in Y_PORTS and port in X_PORTS), f"Y->X turn at {xy}"
            todo.append((plan.neighbour(xy, port), port))
    return delivered


@pytest.mark.parametrize("seed", range(20))
def test_xy_multicast_trees_reach_each_destination_once(seed):
    """Random destination sets on random grids: every destination exactly once, nothing
    else, a tree, X before Y."""
    rng = random.Random(seed)
    width, height = rng.randint(1, 5), rng.randint(1, 5)
    tiles = [(x, y) for y in range(height) for x in range(width)]
    origin = rng.choice(tiles)
    dests = set(rng.sample(tiles, rng.randint(1, len(tiles))))
    tree = FabricPlan._xy_tree(origin, dests)
    plan = type("P", (), {"tile": {"s": origin}, "sources": ["s"],
                          "mesh_tables": {xy: {0: ports} for xy, ports in tree.items()}
                          | {xy: {} for xy in tiles if xy not in tree},
                          "neighbour": staticmethod(FabricPlan.neighbour)})
    assert sorted(_walk(plan, 0)) == sorted(dests)


def test_mesh_routers_only_have_the_links_trees_use():
    model = _model()
    plan = _plan(model, "mesh", splits={"a": 3, "b": 2})
    for src in range(len(plan.sources)):
        assert sorted(_walk(plan, src)) == sorted(plan.tile[r.dest]
                                                  for r in plan.routes_from(src))
    for router in plan.routers():
        for kind, name in router.outputs:
            assert kind == "deliver" or name in MESH_PORTS[1:]
        assert router.table_bits == len(plan.sources) * len(router.outputs)


def test_crossbar_table_sends_each_source_to_its_destinations():
    plan = _plan(_model(), splits={"a": 2})
    (router,) = plan.routers()
    assert [name for _, name in router.inputs] == ["input", "a_s0", "a_s1", "b", "c"]
    assert [name for _, name in router.outputs] == ["a_s0", "a_s1", "b", "c", "output"]
    assert router.table == (frozenset({0, 1, 3}), frozenset({2, 3}), frozenset({2, 3}),
                            frozenset({4}), frozenset())
    assert {(plan.sources[r.src], r.dest, r.base) for r in plan.routes_to("c")} == {
        ("input", "c", 0), ("a_s0", "c", 6), ("a_s1", "c", 11)}


@pytest.mark.parametrize("kw,message", [
    ({"splits": {"nope": 2}}, "'nope', which is not a layer"),
    ({"splits": {"b": 8}}, "cannot split 7 neurons into 8 cores"),
    ({"splits": {"b": 0}}, "cannot split 7 neurons into 0 cores"),
])
def test_bad_splits_are_one_clear_error(kw, message):
    with pytest.raises(FabricError, match=message):
        _plan(_model(), **kw)


def test_splitting_needs_a_fabric():
    with pytest.raises(ValueError, match="needs a router fabric"):
        GenerateOptions(topology="p2p", max_neurons_per_core=4)
    assert GenerateOptions(max_neurons_per_core=4).topology == "crossbar"
    assert GenerateOptions().topology == "p2p"


def _attention_model():
    """input -> q, k, v (8 neurons each) -> attention (2 tokens x 4 channels)."""
    proj = {"type": "dense", "input": "input", "size": 8, "weight_bits": 2,
            "weights": np.eye(8, dtype=int).tolist(),
            "neuron": {"model": "if", "threshold": 1, "reset": "hard", "v_bits": 4}}
    return model_from_dict({
        "format": "hwgen-model/1", "name": "att", "timesteps": 2,
        "input": {"size": 8, "max_value": 1},
        "layers": [{"name": r, **proj} for r in "qkv"] + [{
            "name": "att", "type": "attention", "variant": "linear", "tokens": 2, "dim": 4,
            "heads": 2, "q": "q", "k": "k", "v": "v",
            "neuron": {"model": "if", "threshold": 1, "reset": "soft", "v_bits": 6}}],
        "output": "att"})


def test_max_neurons_per_core_leaves_an_attention_unit_whole():
    plan = _plan(_attention_model(), max_neurons_per_core=3)
    assert [len(plan.slices[name]) for name in "qkv"] == [3, 3, 3]
    assert [s.size for s in plan.slices["att"]] == [8]


def test_splitting_an_attention_layer_is_one_clear_error():
    with pytest.raises(FabricError, match="layer 'att': attention layers cannot be split"):
        _plan(_attention_model(), splits={"att": 2})
