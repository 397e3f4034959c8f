"""Train a small spiking CNN on scikit-learn's digits and write it as hwgen models, once
with dense convolutions and once with spike sparse convolutions (SSC).

The network reads each 8x8 image as a ``[1, 8, 8]`` map (pixels 0..16, presented unchanged
at every timestep)::

    input [1, 8, 8]
      -> conv1  conv2d 1 -> C1, 3x3, padding 1   [C1, 8, 8]  IF, graded spikes 0..D
      -> pool1  sumpool2d 2x2                    [C1, 4, 4]  sums 0..4D (no neurons)
      -> conv2  conv2d C1 -> C2, 3x3, padding 1  [C2, 4, 4]  IF, graded spikes 0..D
      -> pool2  sumpool2d 2x2                    [C2, 2, 2]  sums 0..4D
      -> flat   flatten                          [4 C2]
      -> out    dense 4 C2 -> 10                 IF, graded spikes 0..D

All neurons are integrate-and-fire with soft reset. SSC (``sparse: true`` on both conv
layers): an output position gets input (bias + convolution) only where the centre input
position of its window -- for 3x3, padding 1, stride 1: the same position -- has a spike
(or, for conv1, a nonzero pixel) in any channel this timestep; elsewhere its input is 0 and
its membrane keeps its value.

Training is the recipe of ``scripts/train_digits.py``, whose helpers it reuses: plain NumPy,
integer activations (spike firing approximation: graded spikes ``clip(floor(u / theta), 0,
D)``), backpropagation through time with a rectangular surrogate gradient and a detached
reset, quantization-aware (8-bit weights with hwgen's own rounding, straight-through
estimator), Adam with a cosine schedule (``train_digits.fit``), the rate-coded loss with a
small membrane term. Convolutions are matrix products over im2col columns. The forward pass
is computed in integer units (see ``train_digits.QuantLayer``), so it *is* the integer
arithmetic of the hardware (golden/neuron.py, golden/conv.py): golden must predict exactly
what it predicts, which ``train`` checks before it writes a model. The SSC mask is a
constant of the forward pass (no gradient flows through it).

One pre-training without SSC (``--epochs``), then two fine-tunings from it for the same
number of epochs (``--fine-tune-epochs``, the same recipe with a fresh schedule): without
SSC (the dense model) and with SSC in the forward pass (the SSC model), so that the two
differ in SSC only, not in training budget.

Data: ``sklearn.datasets.load_digits`` (no download), split with ``train_test_split(
test_size=0.2, random_state=0, stratify=y)`` as in train_digits.py: 1437 training and 360
test images. No validation split: one fixed recipe, the test split only gives the final
numbers.

Usage::

    .venv/bin/python scripts/train_conv.py train [--channels 8 16] [--d 4] [--timesteps 4]
        [--epochs 40] [--fine-tune-epochs 20] [--seed 0]

trains both models (about 40 s on one CPU core, deterministic for a seed), quantizes them
with hwgen's quantizer (``hwgen.quantize.quantize`` on ``FloatConv2d``, ``FloatSumPool2d``,
``FloatFlatten`` and ``FloatLayer``, ``input_shape=(1, 8, 8)``), checks that golden
predicts what the float network predicts, and writes
``examples/conv/conv_{dense,ssc}.{yaml,npz}`` (the models),
``examples/conv/conv_{dense,ssc}_float.npz`` (the float parameters, this script's own
layout: ``<layer>.weight``, ``<layer>.bias``), ``examples/conv/test_split.npz`` (``inputs``
uint8 [360, 64], ``labels`` uint8 [360], the same file as examples/digits/test_split.npz;
``hwgen check --samples all`` reads it next to the model) and the figures to
``docs/conv-digits.json``.

    .venv/bin/python scripts/train_conv.py evaluate [--no-rtl] [--lanes 4]

re-measures the committed models on the whole test split -- float (from the committed float
parameters), golden and RTL co-simulation (Verilator, every layer's spikes compared against
golden) -- with synaptic operations and spikes per layer, and writes
``docs/conv-digits.{json,md,png}``, comparing with the dense digits models of
``docs/digits.json``.
"""

import json
import sys
import time
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from train_digits import (  # noqa: E402
    INIT_GAIN,
    accuracy_axes,
    best_dense_within,
    command_line,
    dense_digits_reference,
    fit,
    golden_accuracy,
    layer_backward,
    layer_forward,
    load_split,
    load_test_split,
    peak_membranes,
    plot_dense_reference,
    quantize_layer,
    rate_loss,
    rate_predictions,
    refresh_rtl,
    rtl_cells,
    rtl_timing,
    save_accuracy_plot,
    save_test_split,
    surrogate,
    write_checked,
    write_docs,
)

EXAMPLES = ROOT / "examples" / "conv"
DOCS = ROOT / "docs"

INPUT_MAX = 16          # digits pixels are integers 0..16
SIDE = 8                # images are 8x8
N_CLASSES = 10
WEIGHT_BITS = 8
THETA = 1.0             # float threshold of every layer: the scale lives in the weights
KERNEL, PAD, POOL = 3, 1, 2
LAYERS = ("conv1", "conv2", "out")      # the layers with parameters
VARIANTS = ("dense", "ssc")


def log(msg):
    print(f"train_conv: {msg}", file=sys.stderr, flush=True)


class Config:
    """The architecture: channels (C1, C2), graded spike maximum D, timesteps T, SSC."""

    def __init__(self, channels=(8, 16), max_spikes=4, timesteps=4, sparse=False):
        self.channels, self.max_spikes = tuple(channels), max_spikes
        self.timesteps, self.sparse = timesteps, sparse

    @property
    def conv_shapes(self):
        """(name, input map [C, H, W], output channels) of both conv layers."""
        c1, c2 = self.channels
        return (("conv1", (1, SIDE, SIDE), c1),
                ("conv2", (c1, SIDE // POOL, SIDE // POOL), c2))

    @property
    def flat_size(self):
        return self.channels[1] * (SIDE // POOL // POOL) ** 2

    def param_shapes(self):
        shapes = {name: ((c_out, shape[0], KERNEL, KERNEL), (c_out,))
                  for name, shape, c_out in self.conv_shapes}
        shapes["out"] = ((N_CLASSES, self.flat_size), (N_CLASSES,))
        return shapes

    def to_dict(self):
        return {"channels": list(self.channels), "D": self.max_spikes, "T": self.timesteps,
                "sparse": self.sparse, "kernel": KERNEL, "padding": PAD, "pool": POOL}


# --------------------------------------------------------------------------------------
# Convolution by im2col, in integer units (see train_digits.QuantLayer)


def im2col(x):
    """x [N, C, H, W] -> the 3x3 windows (zero padding 1, stride 1) of every output
    position as rows: [N, H*W, C*9], columns ordered (c, ky, kx) like a weight
    ``W[co, c, ky, kx]`` reshaped to [C_out, C*9]."""
    n, c, h, w = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (PAD, PAD), (PAD, PAD)))
    view = sliding_window_view(padded, (KERNEL, KERNEL), axis=(2, 3))   # [N, C, H, W, k, k]
    return view.transpose(0, 2, 3, 1, 4, 5).reshape(n, h * w, c * KERNEL * KERNEL)


def col2im(cols, shape):
    """The adjoint of im2col: sums column gradients [N, H*W, C*9] back onto [N, C, H, W]."""
    n, c, h, w = shape
    g = cols.reshape(n, h, w, c, KERNEL, KERNEL)
    out = np.zeros((n, c, h + 2 * PAD, w + 2 * PAD))
    for ky in range(KERNEL):
        for kx in range(KERNEL):
            out[:, :, ky:ky + h, kx:kx + w] += g[..., ky, kx].transpose(0, 3, 1, 2)
    return out[:, :, PAD:PAD + h, PAD:PAD + w]


def ssc_mask(x):
    """[N, H*W, 1]: 1 where the centre of the output's window -- for 3x3, padding 1,
    stride 1, the same position of the input map x [N, C, H, W] -- is nonzero in any
    channel (golden.conv.ssc_mask)."""
    n, _, h, w = x.shape
    return (x != 0).any(axis=1).reshape(n, h * w, 1).astype(np.float64)


def conv_forward(q, x_seq, max_spikes, sparse):
    """One conv2d layer of IF neurons (soft reset, graded spikes) over T timesteps.

    Per timestep ``u = v + mask * (W * x_t + b)`` (mask 1 without SSC), ``s = clip(floor(
    u / theta), 0, D)``, ``v = u - s theta``; x_seq [T, N, C, H, W].

    Returns {"s": spikes [T, N, C_out, H, W], "u": [T, N, H*W, C_out], "cols": the im2col
    rows of every step, "mask": the SSC masks (None without SSC)}.
    """
    steps, n, _, h, w = x_seq.shape
    w2 = q.w.reshape(q.w.shape[0], -1)
    v = np.zeros((n, h * w, w2.shape[0]))
    spikes, us, cols_seq, masks = [], [], [], []
    for t in range(steps):
        cols = im2col(x_seq[t])
        current = cols @ w2.T + q.b
        if sparse:
            mask = ssc_mask(x_seq[t])
            current = current * mask
            masks.append(mask)
        u = v + current
        s = np.clip(np.floor_divide(u, q.theta), 0, max_spikes)
        v = u - s * q.theta
        spikes.append(s.reshape(n, h, w, -1).transpose(0, 3, 1, 2))
        us.append(u)
        cols_seq.append(cols)
    return {"s": np.array(spikes), "u": np.array(us), "cols": cols_seq,
            "mask": masks if sparse else None}


def conv_backward(q, layer, grad_s, x_shape, max_spikes, need_grad_x=True):
    """BPTT through one conv layer (detached reset, as train_digits.layer_backward);
    grad_s [T, N, C_out, H, W] is dL/ds. Returns ((dW, db), dL/dx [T, N, C, H, W] or None).
    Gradients in float units, what the float weights get through the straight-through
    estimator; the SSC mask is a constant."""
    u = layer["u"] / q.scale
    theta = q.theta / q.scale
    w2 = q.w.reshape(q.w.shape[0], -1) / q.scale
    grad_w = np.zeros_like(w2)
    grad_b = np.zeros(w2.shape[0])
    grad_x = np.empty(grad_s.shape[:2] + x_shape) if need_grad_x else None
    steps, n = grad_s.shape[:2]
    carry = np.zeros(u.shape[1:])
    for t in range(steps - 1, -1, -1):
        gs = grad_s[t].transpose(0, 2, 3, 1).reshape(u.shape[1:])
        carry = carry + gs * surrogate(u[t], theta, max_spikes)
        g_current = carry if layer["mask"] is None else carry * layer["mask"][t]
        grad_w += g_current.reshape(-1, w2.shape[0]).T @ layer["cols"][t].reshape(
            -1, w2.shape[1])
        grad_b += g_current.sum(axis=(0, 1))
        if need_grad_x:
            grad_x[t] = col2im(g_current @ w2, (n, *x_shape))
    return (grad_w.reshape(q.w.shape), grad_b), grad_x


def sumpool(x):
    """2x2 sum pooling of [..., C, H, W]."""
    *lead, c, h, w = x.shape
    return x.reshape(*lead, c, h // POOL, POOL, w // POOL, POOL).sum(axis=(-3, -1))


def sumpool_backward(g):
    return np.repeat(np.repeat(g, POOL, axis=-2), POOL, axis=-1)


def quantize_params(params):
    return {name: quantize_layer(params[f"{name}.weight"], params[f"{name}.bias"], THETA)
            for name in LAYERS}


def network_forward(ql, x, cfg):
    """The whole network on images x [N, 64] in integer units. Returns the trace: "input"
    [T, N, 1, 8, 8], conv layers as conv_forward's dicts, "pool1"/"pool2" sums, "flat"
    [T, N, 4 C2], "out" {"s", "u"} [T, N, 10]."""
    n = x.shape[0]
    pix = x.reshape(n, 1, SIDE, SIDE).astype(np.float64)
    tr = {"input": np.broadcast_to(pix, (cfg.timesteps, *pix.shape))}
    d = cfg.max_spikes
    tr["conv1"] = conv_forward(ql["conv1"], tr["input"], d, cfg.sparse)
    tr["pool1"] = sumpool(tr["conv1"]["s"])
    tr["conv2"] = conv_forward(ql["conv2"], tr["pool1"], d, cfg.sparse)
    tr["pool2"] = sumpool(tr["conv2"]["s"])
    tr["flat"] = tr["pool2"].reshape(cfg.timesteps, n, -1)
    s, u = layer_forward(ql["out"], tr["flat"], d)
    tr["out"] = {"s": s, "u": u}
    return tr


def forward_float(params, x, cfg):
    """(rate_predictions [N], trace) of the fake-quantized network on images x [N, 64]."""
    trace = network_forward(quantize_params(params), x, cfg)
    return rate_predictions(trace["out"]["s"]), trace


# --------------------------------------------------------------------------------------
# Training


def init_params(rng, x_train, cfg):
    """Random weights sized, layer after layer, so that each layer's input current starts
    at about INIT_GAIN thresholds (train_digits.init_params: the std from the mean squared
    norm of the layer's actual input window in the freshly initialized network). Returns
    (params, lr_scale): each layer's initial std."""
    params, lr_scale = {}, {}
    for name, (w_shape, b_shape) in cfg.param_shapes().items():
        params[f"{name}.weight"] = np.zeros(w_shape)
        params[f"{name}.bias"] = np.zeros(b_shape)
    sample = x_train[rng.choice(len(x_train), 256, replace=False)]
    for name in LAYERS:
        tr = network_forward(quantize_params(params), sample, cfg)
        if name == "out":
            sq_norm = np.mean(np.sum(tr["flat"] ** 2, axis=-1))
        else:
            cols = tr[name]["cols"] if name == "conv1" else [im2col(p) for p in tr["pool1"]]
            sq_norm = np.mean([np.mean(np.sum(c ** 2, axis=-1)) for c in cols])
        std = INIT_GAIN / np.sqrt(max(float(sq_norm), 1.0))
        params[f"{name}.weight"] = rng.normal(0.0, std, params[f"{name}.weight"].shape)
        lr_scale[name] = std
    return params, lr_scale


def loss_and_grads(params, x, y, cfg):
    """train_digits.rate_loss (softmax cross-entropy on the rate logits), gradients by BPTT
    with the straight-through estimator."""
    ql = quantize_params(params)
    tr = network_forward(ql, x, cfg)
    d = cfg.max_spikes
    loss, grad_s, grad_v = rate_loss(tr["out"]["s"], tr["out"]["u"], ql["out"], y, d,
                                     cfg.timesteps)
    grads = {}
    grads["out"], g = layer_backward(ql["out"], tr["flat"], tr["out"]["u"], grad_s, grad_v, d)
    g = sumpool_backward(g.reshape(tr["pool2"].shape))
    grads["conv2"], g = conv_backward(ql["conv2"], tr["conv2"], g, tr["pool1"].shape[2:], d)
    g = sumpool_backward(g)
    grads["conv1"], _ = conv_backward(ql["conv1"], tr["conv1"], g, (1, SIDE, SIDE), d,
                                      need_grad_x=False)
    return loss, grads


def train(params, lr_scale, cfg, epochs, seed, split, label):
    """``train_digits.fit`` on ``params`` (in place). Returns (float test accuracy,
    seconds)."""
    x_train, x_test, y_train, y_test = split
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    fit(params, lr_scale, LAYERS, x_train, y_train, epochs, rng,
        lambda p, xb, yb: loss_and_grads(p, xb, yb, cfg),
        lambda p: forward_float(p, x_train, cfg)[0], label, log=log)
    seconds = time.perf_counter() - start
    pred, _ = forward_float(params, x_test, cfg)
    return float(np.mean(pred == y_test)), seconds


# --------------------------------------------------------------------------------------
# hwgen's quantizer, golden, synaptic operations


def float_layers(params, cfg):
    """The network as hwgen's quantizer's float description."""
    from hwgen.quantize import FloatConv2d, FloatFlatten, FloatLayer, FloatSumPool2d
    layers, src = [], "input"
    for i, (name, shape, c_out) in enumerate(cfg.conv_shapes, start=1):
        layers.append(FloatConv2d(
            name=name, inputs=[src], weight=params[f"{name}.weight"],
            bias=params[f"{name}.bias"], threshold=THETA, reset="soft",
            max_spikes=cfg.max_spikes, input_shape=shape, stride=(1, 1), padding=(PAD, PAD),
            sparse=cfg.sparse))
        layers.append(FloatSumPool2d(name=f"pool{i}", input=name,
                                     input_shape=(c_out, *shape[1:]), kernel=(POOL, POOL)))
        src = f"pool{i}"
    layers.append(FloatFlatten(name="flat", input=src, size=cfg.flat_size))
    layers.append(FloatLayer(name="out", inputs=["flat"], weight=params["out.weight"],
                             bias=params["out.bias"], threshold=THETA, reset="soft",
                             max_spikes=cfg.max_spikes))
    return layers


def quantize_model(params, cfg, name, source):
    from hwgen.quantize import quantize
    return quantize(float_layers(params, cfg), name=name, timesteps=cfg.timesteps,
                    input_size=SIDE * SIDE, input_max=INPUT_MAX, weight_bits=WEIGHT_BITS,
                    source=str(source), input_shape=(1, SIDE, SIDE))


def model_synops(model, x, spikes):
    """Mean synaptic operations per inference, per layer with synapses and in total, from
    golden's spikes ``{layer: [N, T, size]}``; x: images [N, 64].

    An event is a nonzero entry (pixel or graded spike) at one timestep. Sum pooling and
    flatten only remap the addresses of the events passing through them (a sumpool2d
    forwards every event to the pooled address, it does not merge them), so the events a
    layer receives are those of the layer with neurons before it, at remapped addresses.
    "hwgen": events x the layer's ``synops_per_event`` (a dense event visits every neuron;
    a conv event kh * kw positions x C_out, border or not). "exact": a conv event costs
    only the positions inside the map its window reaches (fewer at the border).
    """
    from golden.conv import windows
    n = x.shape[0]
    counts = {"input": np.count_nonzero(x, axis=0) * model.timesteps}  # per axon, all steps

    def events(name):
        """Events per axon of ``name``'s output, summed over the split and timesteps."""
        if name not in counts:
            layer = model.layer(name)
            if layer.type == "flatten":
                counts[name] = events(layer.inputs[0])
            elif layer.type == "sumpool2d":
                src = events(layer.inputs[0])
                counts[name] = windows(layer.window, src[None]).sum(axis=(-2, -1)).reshape(-1)
            else:
                counts[name] = np.count_nonzero(spikes[name], axis=(0, 1))
        return counts[name]

    hwgen, exact = {}, {}
    for layer in model.layers:
        if not layer.synops_per_event:
            continue
        ev = events(layer.inputs[0])
        hwgen[layer.name] = float(ev.sum()) * layer.synops_per_event / n
        if layer.type == "conv2d":
            c, h, w = layer.window.in_shape
            reach = np.outer([layer.window.reach(0, yy)[2] for yy in range(h)],
                             [layer.window.reach(1, xx)[2] for xx in range(w)])
            exact[layer.name] = float(ev @ np.tile(reach.reshape(-1), c)) * \
                layer.out_channels / n
        else:
            exact[layer.name] = hwgen[layer.name]
    hwgen["total"], exact["total"] = sum(hwgen.values()), sum(exact.values())
    return hwgen, exact


def spike_counts(spikes, n):
    """Per layer with neurons: mean events (nonzero spikes) and spikes (sum of the graded
    values) per inference."""
    return {name: {"events": float(np.count_nonzero(s)) / n, "spikes": float(s.sum()) / n}
            for name, s in spikes.items() if name in LAYERS}


# --------------------------------------------------------------------------------------
# Command line


def save_float(path, params):
    np.savez(path, **{k: np.asarray(v, np.float64) for k, v in params.items()})


def load_float(path):
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


def cmd_train(args):
    split = load_split()
    x_test, y_test = split[1], split[3]
    EXAMPLES.mkdir(parents=True, exist_ok=True)
    save_test_split(EXAMPLES / "test_split.npz", x_test, y_test)
    dense_cfg = Config(args.channels, args.d, args.timesteps, sparse=False)
    ssc_cfg = Config(args.channels, args.d, args.timesteps, sparse=True)
    # One pre-training without SSC, then both models fine-tuned from it for the same
    # number of epochs: they differ in SSC only, not in training budget.
    pre, lr_scale = init_params(np.random.default_rng(args.seed), split[0], dense_cfg)
    pre_acc, pre_seconds = train(pre, lr_scale, dense_cfg, args.epochs, args.seed, split,
                                 "pre-training")
    zero_shot = float(np.mean(forward_float(pre, x_test, ssc_cfg)[0] == y_test))
    log(f"pre-trained: float test acc {pre_acc:.4f} without SSC, {zero_shot:.4f} with SSC "
        f"(no fine-tuning), {pre_seconds:.1f} s")
    results = []
    for variant, cfg in (("dense", dense_cfg), ("ssc", ssc_cfg)):
        params = dict(pre)          # Adam replaces the arrays, never mutates them
        float_acc, seconds = train(params, lr_scale, cfg, args.fine_tune_epochs, args.seed,
                                   split, variant)
        name = f"conv_{variant}"
        float_path = EXAMPLES / f"{name}_float.npz"
        save_float(float_path, params)
        quantized = quantize_model(params, cfg, name, float_path.relative_to(ROOT))
        golden_acc, golden_pred, spikes = golden_accuracy(quantized.model, x_test, y_test)
        float_pred, trace = forward_float(params, x_test, cfg)
        differ = int(np.sum(golden_pred != float_pred))
        ops, ops_exact = model_synops(quantized.model, x_test, spikes)
        log(f"{variant}: float test acc {float_acc:.4f}, golden {golden_acc:.4f} ({differ} "
            f"predictions differ), synops {ops['total']:.0f} (exact {ops_exact['total']:.0f})"
            f", fine-tuning {seconds:.1f} s")
        model_path = EXAMPLES / f"{name}.yaml"
        write_checked(quantized, model_path, float_acc, golden_acc, differ,
                      f"train_conv: {variant}")
        results.append({"variant": variant, **cfg.to_dict(),
                        "epochs": [args.epochs, args.fine_tune_epochs],
                        "float_acc": float_acc, "golden_acc": golden_acc,
                        "float_golden_differences": differ, "synops": ops,
                        "synops_exact": ops_exact,
                        "spikes": spike_counts(spikes, len(y_test)),
                        "max_abs_u": peak_membranes(trace, LAYERS),
                        "v_bits": {layer.name: layer.neuron.v_bits
                                   for layer in quantized.model.layers
                                   if hasattr(layer, "neuron")},
                        "quantization_exact": quantized.exact,
                        "train_seconds": round(pre_seconds + seconds, 1),
                        "model": str(model_path.relative_to(ROOT)),
                        "float_params": str(float_path.relative_to(ROOT))})
    pretrained = {"epochs": args.epochs, "float_acc": pre_acc,
                  "float_acc_with_ssc": zero_shot, "train_seconds": round(pre_seconds, 1)}
    summary = {"format": "hwgen-conv-digits-results/1", "seed": args.seed,
               "command": " ".join(["scripts/train_conv.py", *sys.argv[1:]]),
               "split": "train_test_split(test_size=0.2, random_state=0, stratify=y)",
               "test_size": int(len(y_test)), "pretrained": pretrained, "results": results}
    DOCS.mkdir(exist_ok=True)
    (DOCS / "conv-digits.json").write_text(json.dumps(summary, indent=2) + "\n")
    log(f"wrote {DOCS / 'conv-digits.json'} and the models in {EXAMPLES}/")


def cmd_evaluate(args):
    from hwgen.model import load_model
    summary = json.loads((DOCS / "conv-digits.json").read_text())
    x, y = load_test_split(EXAMPLES)
    for row in summary["results"]:
        path = ROOT / row["model"]
        model = load_model(path)
        cfg = Config(row["channels"], row["D"], row["T"], sparse=row["sparse"])
        float_pred, _ = forward_float(load_float(ROOT / row["float_params"]), x, cfg)
        golden_acc, golden_pred, expected = golden_accuracy(model, x, y)
        ops, ops_exact = model_synops(model, x, expected)
        row.update(float_acc=float(np.mean(float_pred == y)), golden_acc=golden_acc,
                   float_golden_differences=int(np.sum(float_pred != golden_pred)),
                   synops=ops, synops_exact=ops_exact, spikes=spike_counts(expected, len(y)),
                   weights=int(sum(layer.weights.size for layer in model.layers
                                   if hasattr(layer, "weights"))))
        log(f"{path.name}: float {row['float_acc']:.4f}, golden {golden_acc:.4f}, synops "
            f"{ops['total']:.0f}")
        refresh_rtl(row, model, path.name, x, y, args, expected, log=log)
    summary["dense_digits"] = dense_digits_reference()
    write_docs("conv-digits", summary, write_markdown, plot, log=log)


def write_markdown(path, s):
    r0 = s["results"][0]
    c1, c2 = r0["channels"]
    d, t = r0["D"], r0["T"]
    pre = s["pretrained"]
    lines = [
        "# A trained spiking CNN on digits, with and without spike sparse convolution",
        "",
        (f"Made by `{s.get('command', 'scripts/train_conv.py train')}` (NumPy, one CPU core) "
         "and `scripts/train_conv.py evaluate` (float, golden and RTL on the committed "
         "models)."),
        "",
        "## Network",
        "",
        (f"Each 8x8 image is a [1, 8, 8] map (pixels 0..16, presented unchanged at each of "
         f"T = {t} timesteps):"),
        "",
        "| layer | hwgen type | what | output | values |",
        "|---|---|---|---|---|",
        (f"| `conv1` | conv2d | 1 -> {c1} channels, 3x3, padding 1, IF | [{c1}, 8, 8] "
         f"| graded spikes 0..{d} |"),
        f"| `pool1` | sumpool2d | 2x2 sum, no neurons | [{c1}, 4, 4] | 0..{4 * d} |",
        (f"| `conv2` | conv2d | {c1} -> {c2} channels, 3x3, padding 1, IF | [{c2}, 4, 4] "
         f"| graded spikes 0..{d} |"),
        f"| `pool2` | sumpool2d | 2x2 sum, no neurons | [{c2}, 2, 2] | 0..{4 * d} |",
        f"| `flat` | flatten | row-major (c, y, x) | {4 * c2} | 0..{4 * d} |",
        f"| `out` | dense | {4 * c2} -> 10, IF | 10 | graded spikes 0..{d} |",
        "",
        ("All neurons are integrate-and-fire with soft reset; weights are 8-bit (one scale "
         "per layer). Trained with integer activations (spike firing approximation), a "
         "rectangular surrogate gradient, BPTT and quantization-aware training, the recipe "
         "of `scripts/train_digits.py` (convolutions as im2col matrix products); quantized "
         "with hwgen's quantizer (`FloatConv2d`, `FloatSumPool2d`, `FloatFlatten`, "
         "`FloatLayer`, `input_shape=(1, 8, 8)`). The float forward pass is the integer "
         "arithmetic of golden, so golden predicts exactly what the float network predicts "
         "(checked before a model is written). "
         f"Test split: {s['split']}, {s['test_size']} images."),
        "",
        (f"Training: {pre['epochs']} epochs without SSC (float test accuracy "
         f"{pre['float_acc']:.4f}), then each model fine-tuned from there for "
         f"{r0['epochs'][1]} epochs with a fresh schedule: the dense model without SSC, the "
         "SSC model (`sparse: true` on both conv layers) with SSC in the forward pass. So "
         "both had the same training budget. With SSC an output position gets input (bias + "
         "convolution) only where the centre of its window (here the same position) holds a "
         "spike, or a nonzero pixel, in any channel at that timestep; the pre-trained "
         f"weights run with SSC without fine-tuning reach {pre['float_acc_with_ssc']:.4f}."),
        "",
        "## Accuracy on the whole test split",
        "",
        ("| model | SSC | float | golden | RTL (Verilator) | RTL = golden, every spike "
         "| synops / inference | exact synops | train time |"),
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in s["results"]:
        rtl, exact = rtl_cells(r)
        lines.append(f"| `{r['model']}` | {'yes' if r['sparse'] else 'no'} | "
                     f"{r['float_acc']:.4f} | {r['golden_acc']:.4f} | {rtl} | {exact} | "
                     f"{r['synops']['total']:.0f} | {r['synops_exact']['total']:.0f} | "
                     f"{r['train_seconds']} s ({r['epochs'][0]} + {r['epochs'][1]} epochs) |")
    timed = [r for r in s["results"] if "rtl_sim_seconds" in r]
    lines += [
        "",
        ("Float is the training network's own (fake-quantized) forward pass, from the "
         "committed float parameters (`examples/conv/conv_*_float.npz`); golden is "
         "`golden.run` on the model hwgen's quantizer made of it; RTL is the generated "
         "Verilog co-simulated by Verilator (the fast engine, "
         f"{timed[0]['rtl_lanes'] if timed else 4} lanes, 10% random stalls on both "
         "streams), compared against golden for every layer's spikes."
         + rtl_timing(s["results"])),
        "",
        ("Synaptic operations: an event is a nonzero pixel or graded spike at one timestep; "
         "the events a layer receives are those of the layer with neurons before it (sum "
         "pooling forwards each event with a remapped address). *synops* is hwgen's count, "
         "events x `synops_per_event` (a conv event: 3 x 3 positions x C_out; a dense event: "
         "every neuron of the layer); *exact* counts a conv event only at the positions "
         "inside the map that its window reaches (fewer at the border). The conv core walks "
         "every position an event reaches with or without SSC: SSC saves operations only "
         "through the spikes it removes."),
        "",
        "Per layer (mean per inference over the test split):",
        "",
        ("| model | synops conv1 / conv2 / out | events (nonzero spikes) conv1 / conv2 / out "
         "| spikes (sum of graded values) conv1 / conv2 / out |"),
        "|---|---|---|---|",
    ]
    for r in s["results"]:
        ops, sp = r["synops"], r["spikes"]
        lines.append(f"| {r['variant']} | " + " / ".join(f"{ops[k]:.0f}" for k in LAYERS)
                     + " | " + " / ".join(f"{sp[k]['events']:.1f}" for k in LAYERS)
                     + " | " + " / ".join(f"{sp[k]['spikes']:.1f}" for k in LAYERS) + " |")
    pixels = float(np.count_nonzero(np.load(EXAMPLES / "test_split.npz")["inputs"])) / \
        s["test_size"]
    lines += [
        "",
        (f"The input has {pixels:.1f} nonzero pixels per image on average (of 64), sent at "
         f"each of the {t} timesteps."),
        "",
        "## Against the dense digits model",
        "",
        "![accuracy against synaptic operations](conv-digits.png)",
        "",
    ]
    lines += conclusions(s)
    path.write_text("\n".join(lines) + "\n")


def conclusions(s):
    ref = s["dense_digits"]
    by = {r["variant"]: r for r in s["results"]}
    r0 = s["results"][0]
    dearest = max(ref, key=lambda r: r["synops"])
    best = best_dense_within(ref)
    same = next((r for r in ref if r["D"] == r0["D"] and r["T"] == r0["T"]), None)
    lines = ["What the figures say (one training seed; one test image is 0.28%):", ""]
    lines.append(
        "- Against the dense digits model (64 -> 64 -> 10 IF, `docs/digits.md`): none of its "
        "configurations costs as many operations as the CNN (its dearest, "
        f"D = {dearest['D']}, T = {dearest['T']}, costs {dearest['synops']:.0f} synops), so "
        "there is no perceptron at similar synops to set beside it. "
        + (f"At the same D = {same['D']} and T = {same['T']} it reaches "
           f"{100 * same['golden_acc']:.1f}% for {same['synops']:.0f} synops; " if same else "")
        + f"its best is {100 * best['golden_acc']:.1f}% for {best['synops']:.0f} synops "
        f"(D = {best['D']}, T = {best['T']}). The CNN: "
        + "; ".join(f"{'SSC' if r['sparse'] else 'dense convolution'} "
                    f"{100 * r['golden_acc']:.1f}% "
                    f"({100 * (r['golden_acc'] - best['golden_acc']):+.1f} points against "
                    f"the best, {r['synops']['total'] / best['synops']:.1f}x its operations)"
                    for r in s["results"])
        + ". With one seed and 360 test images, differences of one to three images are "
          "noise: the CNN is not more accurate on this task, and it is several times more "
          "expensive in operations.")
    if "dense" in by:
        de = by["dense"]
        lines.append(
            f"- Where the operations go: conv2 takes "
            f"{100 * de['synops']['conv2'] / de['synops']['total']:.0f}% of them (dense "
            f"convolution). Every conv1 event ({de['spikes']['conv1']['events']:.0f} per "
            f"inference over the {de['T']} timesteps) reaches 3 x 3 positions x "
            f"{de['channels'][1]} channels of conv2, and sum pooling forwards events rather "
            "than merging them, so the four neurons of a pooling window cost up to four "
            f"events. conv1 alone ({de['synops']['conv1']:.0f}) costs about what the "
            "perceptron's first layer costs at the same T (each pixel event reaches "
            f"9 x {de['channels'][0]} = {9 * de['channels'][0]} synapses against 64). "
            "Fewer channels, a strided conv2 or a spike-count penalty in the loss would "
            "cut the count; none was tried here.")
    if {"dense", "ssc"} <= set(by):
        de, ss = by["dense"], by["ssc"]
        saved = 1 - ss["synops"]["total"] / de["synops"]["total"]
        pre = s["pretrained"]
        loss = 100 * (pre["float_acc"] - pre["float_acc_with_ssc"])
        lines.append(
            f"- SSC against dense convolution, same training budget: "
            f"{100 * (ss['golden_acc'] - de['golden_acc']):+.1f} points for "
            f"{100 * saved:.0f}% fewer synaptic operations (conv2 "
            f"{de['synops']['conv2']:.0f} -> {ss['synops']['conv2']:.0f}, out "
            f"{de['synops']['out']:.0f} -> {ss['synops']['out']:.0f}; conv1's depend on "
            "the pixels only). SSC gives conv1 no input wherever the pixel is 0 and conv2 "
            "none wherever the pooled map is 0 at that timestep, so fewer events leave "
            f"them. It has to be trained for: the pre-trained weights lose {loss:.1f} points "
            f"when run with SSC as they are, and {ss['epochs'][1]} epochs of fine-tuning "
            "with SSC win them back.")
    weights = {r["variant"]: r.get("weights") for r in s["results"]}
    if weights.get("dense"):
        lines.append(
            f"- What the convolution buys is parameters: the CNN stores "
            f"{weights['dense']} weights (the kernels shared by every position), the "
            "64 -> 64 -> 10 perceptron 4736.")
    lines.append(
        "- The example is here to show a trained conv network, with and without SSC, end to "
        "end (float = golden"
        + (" = RTL, every spike" if all(r.get("rtl_bit_exact") for r in s["results"]) else "")
        + "), not to beat the perceptron.")
    return lines


def plot(path, s):
    fig, ax = accuracy_axes((7.5, 4.4))
    plot_dense_reference(ax, s["dense_digits"])
    for j, r in enumerate(s["results"]):
        acc = 100 * r["golden_acc"]
        ax.plot(r["synops"]["total"], acc, "s^"[j % 2], color=f"C{5 + j}", ms=9,
                label=f"CNN, {'SSC' if r['sparse'] else 'dense conv'} (T = {r['T']}, "
                      f"D = {r['D']})")
    save_accuracy_plot(fig, ax, path, "synaptic operations per inference (hwgen's count)",
                       "digits: spiking CNN against the dense model", fontsize=7,
                       loc="lower right")


def add_train_parser(sub):
    p = sub.add_parser("train", help="train the dense and SSC models and write them")
    p.add_argument("--channels", type=int, nargs=2, default=[8, 16], metavar=("C1", "C2"),
                   help="output channels of conv1 and conv2 (default: 8 16)")
    p.add_argument("--d", type=int, default=4, help="graded spike maximum D (default: 4)")
    p.add_argument("--timesteps", type=int, default=4, help="timesteps T (default: 4)")
    p.add_argument("--epochs", type=int, default=40,
                   help="epochs of the pre-training, without SSC (default: 40)")
    p.add_argument("--fine-tune-epochs", type=int, default=20,
                   help="epochs of each model's fine-tuning from the pre-trained one, with "
                   "SSC or without (default: 20)")
    p.add_argument("--seed", type=int, default=0, help="initialization and shuffling seed")
    p.set_defaults(func=cmd_train)


def main(argv=None):
    return command_line(__doc__, add_train_parser, cmd_evaluate, argv,
                        evaluate_help="float, golden and RTL accuracy of the committed models")


if __name__ == "__main__":
    main()
