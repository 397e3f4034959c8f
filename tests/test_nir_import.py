"""hwgen import-nir: every mapping rule and every refusal, against an independent simulator."""

import nir
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nir_reference import simulate

import golden
from hwgen.cli import main
from hwgen.model import load_model
from hwgen.nir_import import NirImportError, import_nir
from hwgen.quantize import QuantizeError

DT = 1e-4


def arr(*values):
    return np.array(values, dtype=np.float64)


def if_node(size, threshold=3.0, v_reset=0.0, r=1.0):
    return nir.IF(r=np.full(size, r), v_threshold=np.full(size, threshold),
                  v_reset=np.full(size, v_reset))


def lif_node(size, tau, threshold=3.0, r=None, v_leak=0.0, v_reset=0.0):
    r = tau / DT if r is None else r
    return nir.LIF(tau=np.full(size, tau), r=np.full(size, r), v_leak=np.full(size, v_leak),
                   v_threshold=np.full(size, threshold), v_reset=np.full(size, v_reset))


def chain(*nodes, size_in):
    """Input -> nodes... -> Output, with the output type taken from the last node."""
    out_size = int(np.prod(nodes[-1].output_type["output"]))
    return nir.NIRGraph.from_list(nir.Input(input_type=np.array([size_in])), *nodes,
                                  nir.Output(output_type=np.array([out_size])))


def golden_spikes(result, x):
    return golden.run(result.model, x)[result.model.output]


# --- exactness of integer-valued graphs ---------------------------------------------------

@st.composite
def integer_graphs(draw):
    """Random integer-valued graphs: 1-3 spiking layers of IF / memoryless LIF / CubaLIF."""
    size_in = draw(st.integers(1, 6))
    sizes = draw(st.lists(st.integers(1, 5), min_size=1, max_size=3))
    nodes, fan_in = [], size_in
    for size in sizes:
        w = np.array(draw(st.lists(st.integers(-4, 6), min_size=size * fan_in,
                                   max_size=size * fan_in)), dtype=np.float64)
        w = w.reshape(size, fan_in)
        if draw(st.booleans()):
            nodes.append(nir.Affine(weight=w, bias=np.array(
                draw(st.lists(st.integers(-2, 2), min_size=size, max_size=size)), float)))
        else:
            nodes.append(nir.Linear(weight=w))
        threshold = float(draw(st.integers(0, 9)))
        v_reset = float(draw(st.integers(-3, 0)))
        kind = draw(st.sampled_from(["IF", "LIF", "CubaLIF"]))
        if kind == "IF":
            nodes.append(if_node(size, threshold, v_reset, r=float(draw(st.integers(1, 2)))))
        elif kind == "LIF":       # tau = dt: a neuron without memory, exact in integers
            nodes.append(lif_node(size, DT, threshold, r=1.0, v_reset=v_reset,
                                  v_leak=float(draw(st.integers(-1, 1)))))
        else:                     # tau_syn = dt: the current is this step's input
            nodes.append(nir.CubaLIF(tau_syn=np.full(size, DT), tau_mem=np.full(size, DT),
                                     r=np.ones(size), v_leak=np.zeros(size),
                                     v_threshold=np.full(size, threshold),
                                     v_reset=np.full(size, v_reset), w_in=2.0))
        fan_in = size
    return chain(*nodes, size_in=size_in), size_in


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(integer_graphs(), st.integers(0, 2**31 - 1))
def test_integer_graph_is_exact_against_reference(case, seed):
    graph, size_in = case
    result = import_nir(graph, timesteps=12, weight_bits=8, dt=DT)
    assert result.exact, result.report
    x = np.random.default_rng(seed).integers(0, 2, size=(12, size_in))
    expected = simulate(graph, x, dt=DT)
    out_key = [k for k, n in graph.nodes.items() if type(n).__name__ == "Output"][0]
    feeder = [a for a, b in graph.edges if b == out_key][0]
    np.testing.assert_array_equal(golden_spikes(result, x), expected[feeder])


def test_integer_graph_keeps_every_weight_and_bias():
    w = arr(3, -2, 0, 5).reshape(2, 2)
    graph = chain(nir.Affine(weight=w, bias=arr(1, -1)), if_node(2, threshold=4.0, v_reset=-2.0),
                  size_in=2)
    result = import_nir(graph, timesteps=4)
    layer = result.model.layers[0]
    np.testing.assert_array_equal(layer.weights, w.astype(np.int64))
    np.testing.assert_array_equal(layer.bias, [1, -1])
    # NIR fires on v > 4; integer membranes: v >= 5. The reset value stays.
    assert layer.neuron.threshold == 5 and layer.neuron.v_reset == -2
    assert layer.neuron.model == "if" and layer.neuron.reset == "hard"
    assert result.exact and result.report["layers"][0]["scale"] == 1.0


def test_snntorch_style_lif_gain_of_one_is_exact():
    """snnTorch exports r = tau/dt so that the input gain r*dt/tau is 1 (up to float ulps)."""
    tau = np.float32(DT / (1 - np.float32(0.0)))     # beta = 0 -> tau = dt
    graph = chain(nir.Linear(weight=arr(2, 3).reshape(1, 2)),
                  lif_node(1, float(tau), threshold=4.0, r=float(tau / DT)), size_in=2)
    result = import_nir(graph, timesteps=3)
    assert result.exact
    np.testing.assert_array_equal(result.model.layers[0].weights, [[2, 3]])


# --- mapping rules ------------------------------------------------------------------------

def test_lif_discretization_leak_gain_and_v_leak():
    # tau = 5 dt: leak 1 - 1/5 = 0.8; gain r*dt/tau = 10/5 = 2; v_leak 5 -> bias 5/5 = 1.
    graph = chain(nir.Linear(weight=arr(1, 2).reshape(1, 2)),
                  lif_node(1, 5 * DT, threshold=10.0, r=10.0, v_leak=5.0), size_in=2)
    result = import_nir(graph, timesteps=4)
    layer = result.model.layers[0]
    np.testing.assert_array_equal(layer.weights, [[2, 4]])
    np.testing.assert_array_equal(layer.bias, [1])
    assert (layer.neuron.leak_decay, layer.neuron.leak_frac_bits) == (round(0.8 * 2**16), 16)
    assert layer.neuron.threshold == 11
    assert not result.exact        # the leak product is floored in integers


def test_leak_that_is_a_shift_uses_no_multiplier():
    graph = chain(nir.Linear(weight=arr(1).reshape(1, 1)), lif_node(1, 8 * DT), size_in=1)
    neuron = import_nir(graph, timesteps=2).model.layers[0].neuron
    assert neuron.leak_shift == 3 and neuron.leak_decay is None      # 1 - 1/8


def test_float_graph_is_scaled_to_the_weight_bits_and_reported():
    graph = chain(nir.Affine(weight=arr(0.5, -0.25).reshape(1, 2), bias=arr(0.1)),
                  if_node(1, threshold=0.3), size_in=2)
    result = import_nir(graph, timesteps=4, weight_bits=6)
    layer = result.model.layers[0]
    assert layer.weights.tolist() == [[31, -16]]          # scale 31 / 0.5 = 62
    assert layer.bias.tolist() == [6]                     # 0.1 * 62 = 6.2
    assert layer.neuron.threshold == 19                   # u > 18.6  <=>  u >= 19
    r = result.report["layers"][0]
    assert r["scale"] == pytest.approx(62)
    assert r["weights"]["max_abs_error"] == pytest.approx(0.5 / 62)     # half a step
    assert r["worst_case_current_error"] > 0 and not result.exact


def test_scale_flatten_and_chained_affines_fold_into_one_matrix():
    w1, w2 = arr(1, 2, 3, 4).reshape(2, 2), arr(1, -1, 2, 0).reshape(2, 2)
    graph = nir.NIRGraph(
        nodes={"in": nir.Input(input_type=np.array([2])),
               "flat": nir.Flatten(input_type={"input": np.array([2])}, start_dim=0),
               "a": nir.Affine(weight=w1, bias=arr(1, 0)), "s": nir.Scale(scale=arr(2, 1)),
               "b": nir.Linear(weight=w2), "lif": if_node(2, threshold=40.0),
               "out": nir.Output(output_type=np.array([2]))},
        edges=[("in", "flat"), ("flat", "a"), ("a", "s"), ("s", "b"), ("b", "lif"),
               ("lif", "out")])
    layer = import_nir(graph, timesteps=2).model.layers[0]
    m = w2 @ np.diag([2, 1]) @ w1
    np.testing.assert_array_equal(layer.weights, m)
    np.testing.assert_array_equal(layer.bias, w2 @ (np.diag([2, 1]) @ arr(1, 0)))


def test_two_sources_become_a_list_input_and_skip_connections_work():
    graph = nir.NIRGraph(
        nodes={"in": nir.Input(input_type=np.array([2])),
               "w1": nir.Linear(weight=arr(1, 1).reshape(1, 2)), "a": if_node(1, 0.0),
               "w2": nir.Linear(weight=arr(2).reshape(1, 1)),
               "skip": nir.Linear(weight=arr(1, -1).reshape(1, 2)),
               "b": if_node(1, 1.0), "out": nir.Output(output_type=np.array([1]))},
        edges=[("in", "w1"), ("w1", "a"), ("a", "w2"), ("w2", "b"), ("in", "skip"),
               ("skip", "b"), ("b", "out")])
    result = import_nir(graph, timesteps=6)
    names = [layer.name for layer in result.model.layers]
    assert names == ["a", "b"]
    assert result.model.layer("b").inputs == ["input", "a"]
    np.testing.assert_array_equal(result.model.layer("b").weights, [[1, -1, 2]])
    x = np.random.default_rng(3).integers(0, 2, size=(6, 2))
    np.testing.assert_array_equal(golden_spikes(result, x), simulate(graph, x)["b"])


def test_two_paths_from_one_source_add_up():
    graph = nir.NIRGraph(
        nodes={"in": nir.Input(input_type=np.array([1])),
               "p": nir.Linear(weight=arr(2).reshape(1, 1)),
               "q": nir.Linear(weight=arr(3).reshape(1, 1)), "n": if_node(1, 1.0),
               "out": nir.Output(output_type=np.array([1]))},
        edges=[("in", "p"), ("in", "q"), ("p", "n"), ("q", "n"), ("n", "out")])
    assert import_nir(graph, timesteps=1).model.layers[0].weights.tolist() == [[5]]


def test_soft_reset_and_graded_spikes_are_options():
    graph = chain(nir.Linear(weight=arr(5).reshape(1, 1)), if_node(1, threshold=2.0), size_in=1)
    result = import_nir(graph, timesteps=3, reset="soft", max_spikes=4)
    neuron = result.model.layers[0].neuron
    assert (neuron.reset, neuron.max_spikes, neuron.threshold) == ("soft", 4, 3)
    # Subtracting 3 where the graph's threshold is 2 is a change, and the report says so.
    assert not result.exact


def test_membrane_width_never_clamps_within_the_timesteps():
    graph = chain(nir.Linear(weight=np.full((1, 4), 100.0)), if_node(1, threshold=1e6),
                  size_in=4)
    result = import_nir(graph, timesteps=50, weight_bits=8)
    v_bits = result.model.layers[0].neuron.v_bits
    assert 2 ** (v_bits - 1) > 50 * 400
    x = np.ones((50, 4), dtype=np.int64)
    np.testing.assert_array_equal(golden_spikes(result, x), simulate(graph, x)["if"])


def test_layer_and_model_names_are_made_legal():
    graph = chain(nir.Linear(weight=arr(1).reshape(1, 1)), if_node(1), size_in=1)
    result = import_nir(graph, timesteps=1, name="net")
    assert result.model.layers[0].name == "if_if" and result.model.name == "net"


# --- refusals: one clear message naming the node ------------------------------------------

def refused(graph, match, **kw):
    with pytest.raises(NirImportError, match=match):
        import_nir(graph, timesteps=4, **kw)


def test_unsupported_node_is_named_with_its_type():
    graph = chain(nir.Linear(weight=arr(1).reshape(1, 1)),
                  nir.LI(tau=arr(1e-3), r=arr(1), v_leak=arr(0)), size_in=1)
    refused(graph, r"node 'li' is a LI, which import-nir does not support")


def test_cubalif_with_synaptic_memory_is_refused():
    node = nir.CubaLIF(tau_syn=arr(5e-4), tau_mem=arr(1e-3), r=arr(10), v_leak=arr(0),
                       v_threshold=arr(1))
    refused(chain(nir.Linear(weight=arr(1).reshape(1, 1)), node, size_in=1),
            r"'cubalif' \(CubaLIF\) has tau_syn = 0.0005, not dt = 0.0001")


def test_non_spiking_readout_is_refused():
    graph = nir.NIRGraph.from_list(nir.Input(input_type=np.array([1])),
                                   nir.Linear(weight=arr(1).reshape(1, 1)), if_node(1),
                                   nir.Linear(weight=arr(1).reshape(1, 1)),
                                   nir.Output(output_type=np.array([1])))
    refused(graph, r"Output is fed by Linear node 'linear_1'")


def test_recurrent_loop_is_refused():
    graph = nir.NIRGraph(
        nodes={"in": nir.Input(input_type=np.array([1])), "n": if_node(1),
               "rec": nir.Linear(weight=arr(1).reshape(1, 1)),
               "out": nir.Output(output_type=np.array([1]))},
        edges=[("in", "n"), ("n", "rec"), ("rec", "n"), ("n", "out")], type_check=False)
    refused(graph, r"node 'n' is part of a recurrent loop")


def test_tau_below_dt_is_refused():
    graph = chain(nir.Linear(weight=arr(1).reshape(1, 1)), lif_node(1, DT / 2), size_in=1)
    refused(graph, r"tau = 5e-05 < dt = 0.0001")


def test_infinite_tau_and_r_is_refused():
    graph = chain(nir.Linear(weight=arr(1).reshape(1, 1)),
                  lif_node(1, np.inf, r=np.inf), size_in=1)
    refused(graph, r"tau = r = inf")


def test_per_neuron_threshold_is_refused():
    node = nir.IF(r=arr(1, 1), v_threshold=arr(1, 2), v_reset=arr(0, 0))
    refused(chain(nir.Linear(weight=np.ones((2, 1))), node, size_in=1),
            r"has 2 different v_threshold values")


def test_shape_mismatch_is_refused():
    graph = nir.NIRGraph(
        nodes={"in": nir.Input(input_type=np.array([3])),
               "w": nir.Linear(weight=np.ones((2, 2))), "n": if_node(2),
               "out": nir.Output(output_type=np.array([2]))},
        edges=[("in", "w"), ("w", "n"), ("n", "out")], type_check=False)
    refused(graph, r"'in' gives 3 values but the path to 'n' expects 2")


def test_non_finite_weight_and_negative_threshold_are_refused():
    refused(chain(nir.Linear(weight=arr(np.nan).reshape(1, 1)), if_node(1), size_in=1),
            r"Linear node 'linear' holds a value that is not finite")
    with pytest.raises(QuantizeError, match=r"'if' \(IF\): threshold -1 is not positive"):
        import_nir(chain(nir.Linear(weight=arr(1).reshape(1, 1)), if_node(1, threshold=-1.0),
                         size_in=1), timesteps=1)


def test_missing_and_broken_files(tmp_path):
    with pytest.raises(NirImportError, match="NIR file does not exist"):
        import_nir(tmp_path / "nope.nir", timesteps=1)
    bad = tmp_path / "bad.nir"
    bad.write_bytes(b"not hdf5 at all")
    with pytest.raises(NirImportError, match="bad.nir: not a readable NIR graph"):
        import_nir(bad, timesteps=1)


# --- the command ---------------------------------------------------------------------------

def test_cli_writes_model_weights_and_report(tmp_path, capsys):
    graph = chain(nir.Affine(weight=arr(2, -1).reshape(1, 2), bias=arr(0)), if_node(1),
                  size_in=2)
    nir.write(tmp_path / "g.nir", graph)
    out = tmp_path / "out" / "my-net.yaml"
    rc = main(["import-nir", str(tmp_path / "g.nir"), "-o", str(out), "--timesteps", "5",
               "--report", str(tmp_path / "r.json")])
    assert rc == 0
    text = capsys.readouterr().out
    assert "exact, nothing changed" in text and "u > 3  <=>  u >= 4" in text
    model = load_model(out)
    assert model.name == "my_net" and model.timesteps == 5
    assert (tmp_path / "out" / "my-net.npz").is_file() and (tmp_path / "r.json").is_file()


def test_cli_error_is_one_line_and_writes_nothing(tmp_path, capsys):
    graph = chain(nir.Linear(weight=arr(1).reshape(1, 1)),
                  nir.CubaLIF(tau_syn=arr(1e-3), tau_mem=arr(1e-3), r=arr(1), v_leak=arr(0),
                              v_threshold=arr(1)), size_in=1)
    nir.write(tmp_path / "g.nir", graph)
    rc = main(["import-nir", str(tmp_path / "g.nir"), "-o", str(tmp_path / "o" / "m.yaml"),
               "--timesteps", "5"])
    err = capsys.readouterr().err
    assert rc == 1 and err.count("\n") == 2 and "hwgen: error:" in err   # progress + error
    assert "Traceback" not in err and not (tmp_path / "o").exists()
