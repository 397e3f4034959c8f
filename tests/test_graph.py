"""hwgen.graph: the structure NetworkTop, the manifest and the testbenches read."""

import pytest

from hwgen.graph import OUTPUT_PORT, NetworkGraph
from hwgen.layers.dense import DenseLayer
from hwgen.model import model_from_dict
from hwgen.network import GenerateOptions, NetworkTop


def _model():
    def dense(name, size, fan_in, inputs, max_spikes=1):
        return {"name": name, "type": "dense", "size": size, "input": inputs,
                "weight_bits": 4, "weights": [[1] * fan_in] * size,
                "neuron": {"model": "if", "threshold": 2, "reset": "soft", "v_bits": 8,
                           "max_spikes": max_spikes}}
    return model_from_dict({"format": "hwgen-model/1", "name": "net", "timesteps": 2,
                            "input": {"size": 6, "max_value": 3},
                            "layers": [dense("hidden", 4, 6, "input", max_spikes=3),
                                       dense("out", 3, 10, ["input", "hidden"])],
                            "output": "out"})


def test_edges_consumers_and_streams():
    graph = NetworkGraph(_model(), GenerateOptions(burst=True))
    assert [(e.source, e.slot, e.base, e.size) for e in graph.nodes["out"].inputs] == \
        [("input", 0, 0, 6), ("hidden", 1, 6, 4)]
    assert [(e.consumer, e.slot) for e in graph.consumers("input")] == [("hidden", 0),
                                                                        ("out", 0)]
    assert [e.consumer for e in graph.consumers("out")] == [OUTPUT_PORT]
    # hidden sends bursts of 1, but its consumer's axons still receive up to 3 a step.
    assert graph.nodes["hidden"].event_max == 1
    assert graph.axon_max("out").tolist() == [3] * 6 + [3] * 4
    assert [s.path for s in graph.streams()] == [
        "i_events", "hidden.o_events", "hidden_fifo.o_events", "out_merge.o_events",
        "out.o_events", "out_fifo.o_events", "input_fanout.o_0", "input_fanout.o_1",
        "o_events"]


def test_a_block_whose_layouts_differ_from_the_graph_is_refused(monkeypatch):
    """wiring.connect compares widths only, so NetworkTop compares the field layouts."""
    core = DenseLayer.core

    def core_with_bursts(self, node, graph, options):      # the graph was told: no bursts
        return core(self, node, graph, GenerateOptions(burst=True))
    monkeypatch.setattr(DenseLayer, "core", core_with_bursts)
    with pytest.raises(AssertionError, match="layer 'hidden': the dense block's event "
                                             "layouts differ from the network graph's"):
        NetworkTop(_model(), GenerateOptions())
