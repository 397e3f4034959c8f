"""hwgen import-nir on convolutional NIR graphs (Conv2d, SumPool2d, AvgPool2d, Flatten):
integer-valued graphs import unchanged and spike exactly as the independent simulator
(tests/nir_reference.py) says, in every layer; what cannot be mapped is refused by name."""

import nir
import numpy as np
import pytest
from nir_reference import simulate

import golden
from hwgen.cli import main
from hwgen.model import load_model
from hwgen.nir_import import NirImportError, import_nir

DT = 1e-4


def conv(weight, stride=1, padding=0, bias=None, **kw):
    weight = np.asarray(weight, dtype=np.float64)
    return nir.Conv2d(input_shape=kw.pop("input_shape", None), weight=weight, stride=stride,
                      padding=padding, dilation=kw.pop("dilation", 1),
                      groups=kw.pop("groups", 1),
                      bias=np.zeros(weight.shape[0]) if bias is None else np.asarray(
                          bias, dtype=np.float64))


def if_map(shape, threshold, v_reset=0.0, r=1.0):
    return nir.IF(r=np.full(shape, r), v_threshold=np.full(shape, float(threshold)),
                  v_reset=np.full(shape, float(v_reset)))


def lif_map(shape, threshold, v_leak=0.0, v_reset=0.0):
    """tau = dt: a neuron without memory, exact in integers."""
    return nir.LIF(tau=np.full(shape, DT), r=np.ones(shape), v_leak=np.full(shape, v_leak),
                   v_threshold=np.full(shape, float(threshold)),
                   v_reset=np.full(shape, float(v_reset)))


def pool(kind, kernel, stride=None, padding=(0, 0)):
    cls = nir.SumPool2d if kind == "sum" else nir.AvgPool2d
    return cls(kernel_size=np.array(kernel), stride=np.array(kernel if stride is None
                                                             else stride),
               padding=np.array(padding))


def graph_of(in_shape, stages, type_check=True, out_type=None):
    """Input -> (key, node)... -> Output, in a line."""
    nodes = {"in": nir.Input(input_type=np.array(in_shape))}
    keys = ["in"]
    for key, node in stages:
        nodes[key] = node
        keys.append(key)
    nodes["out"] = nir.Output(output_type=out_type)
    keys.append("out")
    edges = list(zip(keys, keys[1:], strict=False))
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=type_check)


def out_hw(hw, k, s, p):
    return tuple((hw[i] + 2 * p[i] - k[i]) // s[i] + 1 for i in range(2))


def check_against_reference(graph, in_shape, steps=6, samples=2, seed=0, density=0.4):
    """Import (exact, scale 1 everywhere) and compare every neuron and pooling layer."""
    result = import_nir(graph, timesteps=steps, weight_bits=8, dt=DT)
    assert result.exact, result.report
    assert all(row.get("scale", 1.0) == 1.0 for row in result.report["layers"])
    rng = np.random.default_rng(seed)
    size = int(np.prod(in_shape))
    x = (rng.random((samples, steps, size)) < density).astype(np.int64)
    got = golden.run(result.model, x)
    names = {layer.name for layer in result.model.layers}
    for n in range(samples):
        expected = simulate(graph, x[n], dt=DT, pools=True)
        for key, values in expected.items():
            assert key in names, key
            node = graph.nodes[key]
            if isinstance(node, nir.AvgPool2d):     # imported as the sum: area times more
                values = values * int(np.prod(node.kernel_size))
            np.testing.assert_array_equal(got[key][n], values, err_msg=key)
    return result, got


# --- random integer CNN graphs against the reference ------------------------------------

def random_cnn(seed):
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(1, 4)), int(rng.integers(5, 11)), int(rng.integers(5, 11)))
    stages, c, hw = [], shape[0], shape[1:]
    convs, dense = int(rng.integers(1, 4)), rng.random() < 0.6
    for i in range(convs):
        k = tuple(min(int(v), hw[a]) for a, v in enumerate(rng.integers(1, 4, size=2)))
        s = tuple(int(v) for v in rng.integers(1, 3, size=2))
        p = tuple(int(rng.integers(0, k[a])) for a in range(2))
        c_out = int(rng.integers(1, 5))
        w = rng.integers(-2, 4, size=(c_out, c, *k))
        bias = rng.integers(-1, 2, size=c_out) if rng.random() < 0.5 else None
        stages.append((f"c{i}", conv(w, stride=s, padding=p, bias=bias)))
        hw, c = out_hw(hw, k, s, p), c_out
        threshold = int(rng.integers(0, 5))
        if rng.random() < 0.5:
            stages.append((f"n{i}", if_map((c, *hw), threshold, -int(rng.integers(0, 3)))))
        else:
            stages.append((f"n{i}", lif_map((c, *hw), threshold, int(rng.integers(-1, 2)))))
        if min(hw) >= 2 and (dense or i < convs - 1) and rng.random() < 0.6:
            kind = "avg" if rng.random() < 0.5 else "sum"
            pk = [(2, 2), (1, 2), (2, 1)][int(rng.integers(0, 3))]   # areas 4, 2: exact
            ps = pk if rng.random() < 0.5 else (1, 1)
            pp = (0, 0) if rng.random() < 0.7 else (pk[0] - 1, pk[1] - 1)
            stages.append((f"p{i}", pool(kind, pk, ps, pp)))
            hw = out_hw(hw, pk, ps, pp)
    if dense:
        n = c * hw[0] * hw[1]
        m = int(rng.integers(1, 6))
        stages += [("flat", nir.Flatten(input_type=None, start_dim=0)),
                   ("fc", nir.Affine(weight=rng.integers(-2, 4, size=(m, n)).astype(float),
                                     bias=rng.integers(-1, 2, size=m).astype(float))),
                   ("nfc", if_map((m,), int(rng.integers(0, 4))))]
    # nir 1.0.8 infers a Conv2d's output from weight.shape[2] on both axes: its type check
    # fails non-square kernels, so those graphs are built without it.
    square = all(n.weight.shape[2] == n.weight.shape[3] for _, n in stages
                 if isinstance(n, nir.Conv2d))
    return graph_of(shape, stages, type_check=square), shape


@pytest.mark.parametrize("seed", range(40))
def test_random_integer_cnn_is_exact_against_reference(seed):
    graph, shape = random_cnn(seed)
    check_against_reference(graph, shape, seed=seed)


# --- the NIR paper's CNN ------------------------------------------------------------------

def paper_cnn(in_hw, rng, hidden=256, classes=10, if_shape=lambda s: s):
    """The NIR paper's N-MNIST CNN (Sinabs): Conv2d(2->16, k5, s2, p1) -> IF ->
    Conv2d(16->16, k3, p1) -> IF -> SumPool2d(2) -> Conv2d(16->8, k3, p1) -> IF ->
    SumPool2d(2) -> Flatten -> Affine -> IF -> Affine -> IF, integer weights."""
    def w(*shape):
        return rng.choice([-1, 0, 0, 1, 2], size=shape).astype(float)
    hw1 = out_hw(in_hw, (5, 5), (2, 2), (1, 1))
    hw2 = (hw1[0] // 2, hw1[1] // 2)
    hw3 = (hw2[0] // 2, hw2[1] // 2)
    flat = 8 * hw3[0] * hw3[1]
    return [("c1", conv(w(16, 2, 5, 5), stride=2, padding=1)),
            ("if1", if_map(if_shape((16, *hw1)), 1)),
            ("c2", conv(w(16, 16, 3, 3), padding=1)), ("if2", if_map(if_shape((16, *hw1)), 2)),
            ("pool2", pool("sum", (2, 2))),
            ("c3", conv(w(8, 16, 3, 3), padding=1)), ("if3", if_map(if_shape((8, *hw2)), 2)),
            ("pool3", pool("sum", (2, 2))),
            ("flat", nir.Flatten(input_type=None, start_dim=0)),
            ("fc1", nir.Affine(weight=w(hidden, flat), bias=np.zeros(hidden))),
            ("if4", if_map(if_shape((hidden,)), 1)),
            ("fc2", nir.Affine(weight=w(classes, hidden), bias=np.zeros(classes))),
            ("if5", if_map(if_shape((classes,)), 1))]


def test_paper_cnn_shape_small_input():
    graph = graph_of((2, 12, 12), paper_cnn((12, 12), np.random.default_rng(1), hidden=32))
    result, got = check_against_reference(graph, (2, 12, 12), steps=8, density=0.3)
    types = [layer.type for layer in result.model.layers]
    assert types == ["conv2d", "conv2d", "sumpool2d", "conv2d", "sumpool2d", "dense", "dense"]
    assert result.model.input_shape == (2, 12, 12)
    assert got["if5"].sum() > 0                       # the test is not vacuous


def test_paper_cnn_full_34x34_in_golden():
    graph = graph_of((2, 34, 34), paper_cnn((34, 34), np.random.default_rng(2)))
    result, got = check_against_reference(graph, (2, 34, 34), steps=4, samples=1,
                                          density=0.2)
    c1 = result.model.layer("if1")
    assert (c1.window.out_hw, c1.window.stride, c1.window.padding) == ((16, 16), (2, 2),
                                                                       (1, 1))
    assert result.model.layer("if4").weights.shape == (256, 128)
    assert got["if3"].sum() > 0


def test_sinabs_style_batch_dims_import_the_same_model():
    """A leading batch dim on the Input and the IF arrays, and a Flatten written with
    PyTorch's start_dim=1 over a declared rank-4 input (what Sinabs writes), mean the
    same network as the NIR-convention graph."""
    rng = np.random.default_rng(3)
    clean = paper_cnn((12, 12), rng, hidden=16)
    batched = [(k, n) for k, n in paper_cnn((12, 12), np.random.default_rng(3), hidden=16,
                                            if_shape=lambda s: (1, *s))]
    batched = [(k, nir.Flatten(input_type={"input": np.array([0, 0, 0, 0])}, start_dim=1)
                if k == "flat" else n) for k, n in batched]
    a = import_nir(graph_of((2, 12, 12), clean), timesteps=4)
    b = import_nir(graph_of((1, 2, 12, 12), batched, type_check=False), timesteps=4)
    assert b.model.input_shape == (2, 12, 12)
    for la, lb in zip(a.model.layers, b.model.layers, strict=True):
        assert la.name == lb.name and la.type == lb.type
        if hasattr(la, "weights"):
            np.testing.assert_array_equal(la.weights, lb.weights)


# --- mapping details ------------------------------------------------------------------------

def test_conv_keeps_weights_bias_and_geometry():
    w = np.arange(2 * 3 * 3 * 2).reshape(2, 3, 3, 2) % 5 - 2
    graph = graph_of((3, 7, 6), [("c", conv(w, stride=(2, 1), padding=(1, 0), bias=[1, -2])),
                                 ("n", if_map((2, 4, 5), 3, -1))], type_check=False)
    result = import_nir(graph, timesteps=4)
    layer = result.model.layers[0]
    assert layer.type == "conv2d" and layer.name == "n" and result.exact
    np.testing.assert_array_equal(layer.weights, w)
    np.testing.assert_array_equal(layer.bias, [1, -2])
    assert (layer.window.kernel, layer.window.stride, layer.window.padding) == (
        (3, 2), (2, 1), (1, 0))
    assert layer.neuron.threshold == 4 and layer.neuron.v_reset == -1     # v > 3: v >= 4
    assert layer.neuron.model == "if" and layer.neuron.reset == "hard"


@pytest.mark.parametrize("padding,expected", [("same", (1, 2)), ("valid", (0, 0))])
def test_same_and_valid_padding(padding, expected):
    w = np.ones((1, 1, 3, 5))
    hw = (6, 7) if padding == "same" else (4, 3)
    graph = graph_of((1, 6, 7), [("c", conv(w, padding=padding)), ("n", if_map((1, *hw), 2))],
                     type_check=False)          # nir 1.0.8 infers 3x5 kernels as 3x3
    layer = import_nir(graph, timesteps=2).model.layers[0]
    assert layer.window.padding == expected and layer.window.out_hw == hw
    check_against_reference(graph, (1, 6, 7))


def test_scales_around_a_conv_fold_per_channel():
    w = np.ones((2, 2, 2, 2))
    graph = graph_of((2, 4, 4), [("pre", nir.Scale(scale=np.array([2.0, 3.0])[:, None, None]
                                                   * np.ones((2, 4, 4)))),
                                 ("c", conv(w, bias=[1, 1])),
                                 ("post", nir.Scale(scale=np.array([1.0, -1.0]))),
                                 ("n", if_map((2, 3, 3), 4))], type_check=False)
    layer = import_nir(graph, timesteps=2).model.layers[0]
    np.testing.assert_array_equal(layer.weights[:, 0], np.full((2, 2, 2), 2) * [[[1]], [[-1]]])
    np.testing.assert_array_equal(layer.weights[:, 1], np.full((2, 2, 2), 3) * [[[1]], [[-1]]])
    np.testing.assert_array_equal(layer.bias, [1, -1])


def test_conv_reads_a_flat_source_through_its_input_shape():
    w = np.ones((1, 2, 2, 2))
    graph = graph_of((2 * 3 * 3,), [("c", conv(w, input_shape=(3, 3))),
                                    ("n", if_map((1, 2, 2), 3))], type_check=False)
    result = import_nir(graph, timesteps=3)
    assert result.model.input_shape == (18,)
    assert result.model.layers[0].window.in_shape == (2, 3, 3)


def test_avgpool_multiplies_the_consumer_to_stay_integer():
    """avg = sum / 4 into weights 1..3: the consumer's voltages are multiplied by 4."""
    w2 = np.array([1, 2, 3, -1], dtype=float).reshape(1, 1, 2, 2)
    graph = graph_of((1, 8, 8), [("c1", conv(np.ones((1, 1, 1, 1)))),
                                 ("n1", if_map((1, 8, 8), 0)),
                                 ("p", pool("avg", (2, 2))),
                                 ("c2", conv(w2, bias=[1])),
                                 ("n2", if_map((1, 3, 3), 1, v_reset=-1))])
    result, _ = check_against_reference(graph, (1, 8, 8), density=0.6)
    layer = result.model.layer("n2")
    np.testing.assert_array_equal(layer.weights, w2)
    np.testing.assert_array_equal(layer.bias, [4])
    assert layer.neuron.threshold == 5 and layer.neuron.v_reset == -4    # v > 4, reset -4
    assert any("multiplied by 4" in note for note in result.report["notes"])


def test_avgpool_divisible_weights_are_divided():
    w2 = np.full((1, 1, 2, 2), 4.0)
    graph = graph_of((1, 4, 4), [("c1", conv(np.ones((1, 1, 1, 1)))),
                                 ("n1", if_map((1, 4, 4), 0)), ("p", pool("avg", (2, 2))),
                                 ("c2", conv(w2)), ("n2", if_map((1, 1, 1), 1))])
    result = import_nir(graph, timesteps=2)
    assert result.model.layer("n2").weights.tolist() == [[[[1, 1], [1, 1]]]]
    assert result.model.layer("n2").neuron.threshold == 2 and result.exact


def test_avgpool_into_float_weights_is_approximate_and_says_so():
    w2 = np.where(np.arange(9).reshape(1, 1, 3, 3) % 2, 0.3, 0.7)
    graph = graph_of((1, 6, 6), [("c1", conv(np.ones((1, 1, 1, 1)))),
                                 ("n1", if_map((1, 6, 6), 0)), ("p", pool("avg", (3, 3))),
                                 ("c2", conv(w2, padding=1)), ("n2", if_map((1, 2, 2), 1))])
    result = import_nir(graph, timesteps=2)
    assert not result.exact
    assert any("1/area is folded" in note for note in result.report["notes"])


def test_avgpool_into_a_dense_layer():
    graph = graph_of((1, 4, 4), [("c1", conv(np.ones((2, 1, 1, 1)))),
                                 ("n1", if_map((2, 4, 4), 0)), ("p", pool("avg", (2, 2))),
                                 ("flat", nir.Flatten(input_type=None, start_dim=0)),
                                 ("fc", nir.Linear(weight=np.ones((3, 8)))),
                                 ("n2", if_map((3,), 1))])
    result, _ = check_against_reference(graph, (1, 4, 4), density=0.5)
    assert result.model.layer("n2").inputs == ["p"]
    assert result.model.layer("n2").neuron.threshold == 5          # 4 * 1 + 1


def test_round_trip_through_a_nir_file_and_the_cli(tmp_path, capsys):
    graph = graph_of((2, 12, 12), paper_cnn((12, 12), np.random.default_rng(4), hidden=12))
    nir.write(tmp_path / "cnn.nir", graph)
    direct = import_nir(graph, timesteps=5)
    read = import_nir(tmp_path / "cnn.nir", timesteps=5)
    assert read.exact
    for la, lb in zip(direct.model.layers, read.model.layers, strict=True):
        assert (la.name, la.type) == (lb.name, lb.type)
        if hasattr(la, "window"):
            assert la.window == lb.window
        if hasattr(la, "weights"):
            np.testing.assert_array_equal(la.weights, lb.weights)
    out = tmp_path / "o" / "cnn.yaml"
    assert main(["import-nir", str(tmp_path / "cnn.nir"), "-o", str(out),
                 "--timesteps", "5"]) == 0
    text = capsys.readouterr().out
    assert "the model is exact" in text and "sumpool2d, nothing to quantize" in text
    model = load_model(out)
    assert model.input_shape == (2, 12, 12)
    x = np.random.default_rng(0).integers(0, 2, size=(5, 2 * 12 * 12))
    np.testing.assert_array_equal(golden.run(model, x)["if5"],
                                  golden.run(direct.model, x)["if5"])


def test_an_export_that_fails_nirs_type_check_is_read_without_it(tmp_path, capsys):
    stages = [("c", conv(np.ones((1, 1, 2, 2)), input_shape=(4, 4))),   # nir writes no None
              ("n", if_map((1, 1, 3, 3), 1)),
              ("flat", nir.Flatten(input_type={"input": np.array([0, 0, 0, 0])}, start_dim=1)),
              ("fc", nir.Affine(weight=np.ones((2, 9)), bias=np.zeros(2))),
              ("m", if_map((1, 2), 1))]
    nir.write(tmp_path / "old.nir", graph_of((1, 1, 4, 4), stages, type_check=False,
                                             out_type=np.array([1, 2])))
    args = ["import-nir", str(tmp_path / "old.nir"), "-o", str(tmp_path / "m.yaml"),
            "--timesteps", "3"]
    assert main(args) == 0
    out = capsys.readouterr()
    assert "nir's own type check refused the graph" in out.out + out.err
    assert load_model(tmp_path / "m.yaml").input_shape == (1, 4, 4)
    assert main(args + ["--no-type-check", "-o", str(tmp_path / "m2.yaml")]) == 0
    assert "type check refused" not in capsys.readouterr().out


# --- refusals -------------------------------------------------------------------------------

def refused(stages, match, in_shape=(2, 6, 6), **kw):
    with pytest.raises(NirImportError, match=match):
        import_nir(graph_of(in_shape, stages, type_check=False), timesteps=2, **kw)


def test_groups_are_refused():
    refused([("c", conv(np.ones((2, 1, 3, 3)), groups=2)), ("n", if_map((2, 4, 4), 1))],
            r"Conv2d node 'c' has groups = 2")


def test_dilation_is_refused():
    refused([("c", conv(np.ones((2, 2, 3, 3)), dilation=2)), ("n", if_map((2, 2, 2), 1))],
            r"Conv2d node 'c' has dilation \[2, 2\]")


def test_same_padding_with_stride_is_refused():
    refused([("c", conv(np.ones((2, 2, 3, 3)), stride=2, padding="same")),
             ("n", if_map((2, 3, 3), 1))], r"Conv2d node 'c' has padding 'same'")


def test_unequal_per_neuron_thresholds_are_refused():
    node = if_map((2, 4, 4), 1)
    node.v_threshold[1, 2, 3] = 2.0
    refused([("c", conv(np.ones((2, 2, 3, 3)))), ("n", node)],
            r"NIR node 'n' \(IF\) has 2 different v_threshold values")


def test_r_varying_within_a_channel_is_refused():
    node = if_map((2, 4, 4), 1)
    node.r[0, 0, 0] = 2.0
    refused([("c", conv(np.ones((2, 2, 3, 3)))), ("n", node)],
            r"NIR node 'n' \(IF\) has different r values within one output channel")


def test_unsupported_node_is_refused():
    refused([("d", nir.Conv1d(input_shape=None, weight=np.ones((1, 2, 3)), stride=1,
                              padding=0, dilation=1, groups=1, bias=np.zeros(1))),
             ("n", if_map((1, 4), 1))], r"node 'd' is a Conv1d, which import-nir does not")


def test_conv_without_a_neuron_after_it_is_refused():
    refused([("c", conv(np.ones((1, 2, 3, 3)))),
             ("flat", nir.Flatten(input_type=None, start_dim=0)),
             ("fc", nir.Linear(weight=np.ones((2, 16)))), ("n", if_map((2,), 1))],
            r"Conv2d node 'c' reaches 'n' through other nodes than Scale")


def test_conv_next_to_another_input_is_refused():
    graph = nir.NIRGraph(
        nodes={"in": nir.Input(input_type=np.array([1, 4, 4])),
               "c": conv(np.ones((1, 1, 3, 3)), padding=1),
               "s": nir.Scale(scale=np.ones((1, 4, 4))), "n": if_map((1, 4, 4), 1),
               "out": nir.Output(output_type=np.array([1, 4, 4]))},
        edges=[("in", "c"), ("in", "s"), ("c", "n"), ("s", "n"), ("n", "out")],
        type_check=False)
    with pytest.raises(NirImportError, match=r"Conv2d node 'c' reaches 'n' .* next to other "
                       r"inputs"):
        import_nir(graph, timesteps=2)


def test_partial_flatten_is_read_as_a_whole_map_flatten_with_a_note():
    """PyTorch's nn.Flatten(start_dim=1) counts a batch dimension that the NIR type of the
    map lacks: the consumer reads all 32 values, so the import reads it as a whole-map
    flatten (the reference simulator's start_dim=0), exactly, and says so."""
    def graph(start_dim):
        return graph_of((2, 6, 6), [
            ("c", conv(np.ones((2, 2, 3, 3)))), ("m", if_map((2, 4, 4), 1)),
            ("flat", nir.Flatten(input_type=None, start_dim=start_dim)),
            ("fc", nir.Linear(weight=np.arange(64.0).reshape(2, 32) % 3)),
            ("n", if_map((2,), 1))], type_check=False)

    result = import_nir(graph(1), timesteps=3)
    assert result.exact
    assert any("Flatten node 'flat' (start_dim 1, end_dim -1) of the input [2, 4, 4] leaves "
               "part of the map" in note for note in result.report["notes"])
    x = (np.random.default_rng(0).random((3, 72)) < 0.5).astype(np.int64)
    expected = simulate(graph(0), x.astype(np.float64))
    np.testing.assert_array_equal(golden.run(result.model, x)["n"], expected["n"])


def test_spatially_varying_scale_before_a_conv_is_refused():
    scale = np.ones((2, 6, 6))
    scale[0, 1, 1] = 2.0
    refused([("s", nir.Scale(scale=scale)), ("c", conv(np.ones((1, 2, 3, 3)))),
             ("n", if_map((1, 4, 4), 1))], r"Scale node 's' scales the positions of one "
            r"channel differently")


def test_conv_channel_and_shape_mismatches_are_refused():
    refused([("c", conv(np.ones((1, 3, 3, 3)))), ("n", if_map((1, 4, 4), 1))],
            r"Conv2d node 'c' has 3 input channels, but 'in' gives the map \[2, 6, 6\]")
    refused([("c", conv(np.ones((1, 2, 3, 3)))), ("n", if_map((1, 5, 5), 1))],
            r"'n' has 25 neurons, but Conv2d node 'c' gives the map \[1, 4, 4\]")
    refused([("c", conv(np.ones((1, 2, 3, 3)), padding=3)), ("n", if_map((1, 10, 10), 1))],
            r"Conv2d node 'c' has padding 3 not smaller than its kernel height 3")


def test_scalar_neuron_parameters_after_an_affine():
    """A neuron node whose parameters are scalars (as some exporters write them) has as
    many neurons as its input gives, after an Affine as after a Conv2d."""
    f32 = np.float32

    def scalar_if():
        return nir.IF(r=np.array(f32(1)), v_threshold=np.array(f32(1)),
                      v_reset=np.array(f32(0)))

    nodes = {"input": nir.Input(input_type={"input": np.array([1, 4, 4])}),
             "conv": nir.Conv2d(input_shape=None, weight=np.ones((2, 1, 3, 3), f32), stride=1,
                                padding=1, dilation=1, groups=1, bias=np.zeros(2, f32)),
             "if1": scalar_if(),
             "flat": nir.Flatten(input_type=None, start_dim=0, end_dim=-1),
             "fc": nir.Affine(weight=np.ones((3, 32), f32), bias=np.zeros(3, f32)),
             "if2": scalar_if(),
             "output": nir.Output(output_type={"output": np.array([3])})}
    keys = list(nodes)
    edges = list(zip(keys[:-1], keys[1:], strict=True))
    graph = nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)
    model = import_nir(graph, timesteps=2).model
    assert [(layer.name, layer.size) for layer in model.layers] == [("if1", 32), ("if2", 3)]
