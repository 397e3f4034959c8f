"""Train small spiking networks on scikit-learn's digits and write them as hwgen-float/1 files.

The network is 64 inputs -> H integrate-and-fire neurons -> 10 integrate-and-fire neurons,
both layers with soft reset and graded spikes in 0..D ("spike firing approximation", SFA),
trained in plain NumPy with backpropagation through time and a rectangular surrogate
gradient. Training is quantization-aware (8-bit weights, straight-through estimator), and
the forward pass is computed so that it equals the integer arithmetic of the hardware
(golden/neuron.py) exactly; see ``quantize_layer`` and ``layer_forward``.

Data: ``sklearn.datasets.load_digits`` (1797 8x8 images, integer pixels 0..16, bundled with
scikit-learn, no download), split with ``train_test_split(test_size=0.2, random_state=0,
stratify=y)``: 1437 training and 360 test images. There is no validation split in this
script: every configuration trains for a fixed number of epochs with one shared recipe
(the constants below were chosen once on a validation part carved out of the training
split), and the test split is only used for the final numbers.

Usage::

    .venv/bin/python scripts/train_digits.py train [--d 1 2 4 8] [--timesteps 1 2 4 8]
        [--hidden 64] [--epochs 60] [--seed 0] [--workdir /tmp/hwgen_digits]

For every (D, T) combination this writes ``<workdir>/digits_d{D}_t{T}.npz`` (hwgen-float/1:
float parameters, per layer ``<name>.weight``, ``.bias``, ``.threshold``, ``.beta``,
``.reset``, ``.max_spikes``, layers in archive order), and once
``<workdir>/test_split.npz`` (``inputs`` uint8 [N, 64], ``labels`` uint8 [N]) and
``<workdir>/float_results.json`` (per configuration: test accuracy, mean synaptic operations
per inference, largest membrane magnitude in integer units, training time). Progress goes
to stderr. One configuration trains in 2-10 s on one CPU core, all 16 in about a minute;
results are deterministic for a given seed.

Then every configuration is quantized with hwgen's own quantizer (``hwgen quantize``'s
API: 8-bit weights, inputs 0..16) and its golden-model accuracy measured; the T = 8 models
are written to ``examples/digits/digits_d{D}.yaml`` (committed), with the test split in
``examples/digits/test_split.npz``, and all figures to ``docs/digits.json``.

    .venv/bin/python scripts/train_digits.py evaluate [--no-rtl]

re-measures the committed models on the whole test split -- golden model and RTL
co-simulation (Verilator) -- and writes ``docs/digits.{json,md,png}``.
"""

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hwgen.quantize import integer_threshold, snap  # noqa: E402

EXAMPLES = ROOT / "examples" / "digits"
DOCS = ROOT / "docs"

INPUT_MAX = 16          # digits pixels are integers 0..16 (hwgen quantize --input-max 16)
N_CLASSES = 10
WEIGHT_BITS = 8
THETA = 1.0             # float threshold of both layers: the scale lives in the weights
LAYERS = ("hidden", "out")

# Training recipe, shared by every (D, T): only D and T change between configurations.
BATCH = 32
# Adam step size relative to each layer's initial weight std (see init_params), decayed
# with a cosine schedule to LR_MIN.
LR = 0.01
LR_MIN = 1e-4
# Logits of the loss = KAPPA / (D * T) * (summed output spikes + MEMBRANE_WEIGHT * v_T / theta):
# the spike rate in [0, 1] times a constant (so the softmax can become equally confident
# for every D and T), plus a small share of the output membrane left after the last step.
# The membrane term is for the loss only, never the prediction. It keeps a gradient on
# output neurons that never reach threshold (the rectangular surrogate gives them none):
# without it, 2-4 of the 10 output neurons went silent for good in 3 of 4 seeds. Larger
# weights let D = 1, T = 1 learn to rank classes by membrane, which the prediction ignores.
KAPPA = 5.0
MEMBRANE_WEIGHT = 0.1
INIT_GAIN = 1.0         # initial std of each layer's per-step input current, in thresholds

# Columns of float_results.json; an evaluate step adds e.g. golden_acc and rtl_acc.
RESULT_FIELDS = ("D", "T", "hidden", "float_acc", "synops", "synops_binary", "max_abs_u",
                 "train_seconds")


def log(msg):
    print(f"train_digits: {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------
# Data


def load_split():
    """The fixed digits split: (x_train, x_test, y_train, y_test), pixels as int64 0..16."""
    # Imported here: code that only reuses forward_float (e.g. an evaluate step) needs
    # nothing but NumPy.
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = digits.data.astype(np.int64)          # stored as float64 holding integers
    y = digits.target.astype(np.int64)
    # The hardware input port is sized for INPUT_MAX; a different dataset version must fail.
    if x.min() < 0 or x.max() > INPUT_MAX:
        raise ValueError(f"digits pixels outside 0..{INPUT_MAX}")
    return train_test_split(x, y, test_size=0.2, random_state=0, stratify=y)


# --------------------------------------------------------------------------------------
# Quantization and the forward pass


@dataclass
class QuantLayer:
    """A layer's fake-quantized parameters, held in integer units (integer-valued floats).

    hwgen's quantizer maps a float layer to ``W_int = round(s W)``, ``b_int = round(s b)``,
    ``theta_int = ceil(s theta)`` with ``s = 127 / max|W|`` (see ``quantize_layer``). Fake
    quantization in float units is ``W_q = W_int / s`` etc.; dividing every term of the
    membrane equation by the same ``s`` changes nothing but the rounding, so we compute in
    integer units instead. There, all sums of products are small integers and exact in
    float64, and ``floor(u / theta)`` cannot land one below an exact multiple the way it
    can with ``u_q / theta_q`` in float units: the forward pass *is* the hardware's, given
    a membrane wide enough not to saturate (``hwgen quantize`` picks one by default;
    ``membrane_peaks`` reports the range used).
    """

    w: np.ndarray           # [size, fan_in] round(s W)
    b: np.ndarray           # [size] round(s b)
    theta: float            # ceil(s theta)
    scale: float            # s


def quantize_layer(w, b, theta, bits=WEIGHT_BITS):
    # hwgen's own rounding rules (snap float noise to integers first, then round or ceil),
    # so that training sees exactly the hardware's numbers. (hwgen's quantizer uses scale 1
    # for weights that are already small integers; trained float weights never are.)
    wmax = np.max(np.abs(w))
    scale = (2 ** (bits - 1) - 1) / wmax if wmax > 0 else 1.0
    return QuantLayer(w=np.rint(snap(w * scale)), b=np.rint(snap(b * scale)),
                      theta=float(integer_threshold(theta * scale, strict=False)),
                      scale=float(scale))


def layer_forward(q, x_seq, max_spikes):
    """One IF layer with soft reset and graded spikes over T timesteps, in integer units.

    Per timestep: ``u = v + W x_t + b``, ``s = clip(floor(u / theta), 0, D)``,
    ``v = u - s theta`` (v = 0 at the start of every sample). ``floor(u / theta)`` is the
    SFA activation ``clip(round(z), 0, D)`` with ``z = u / theta - 1/2``: the rounding
    threshold sits where the hardware fires, at ``u >= theta`` for the first spike.

    x_seq : [T, N, fan_in] inputs of every timestep.
    Returns (spikes [T, N, size], u [T, N, size]), u in integer units.
    """
    steps, n, _ = x_seq.shape
    v = np.zeros((n, q.w.shape[0]))
    spikes = np.empty((steps, n, q.w.shape[0]))
    us = np.empty_like(spikes)
    for t in range(steps):
        u = v + x_seq[t] @ q.w.T + q.b
        s = np.clip(np.floor_divide(u, q.theta), 0, max_spikes)
        v = u - s * q.theta
        spikes[t], us[t] = s, u
    return spikes, us


def quantize_params(params):
    return {name: quantize_layer(params[f"{name}.weight"], params[f"{name}.bias"],
                                 params[f"{name}.threshold"])
            for name in LAYERS}


def network_forward(qlayers, x, max_spikes, timesteps):
    """Both layers; x [N, 64] is presented unchanged at every timestep (direct coding).

    Returns {"input": [T, N, 64], name: (spikes, u) for each layer}.
    """
    x_seq = np.broadcast_to(x.astype(np.float64), (timesteps, *x.shape))
    trace = {"input": x_seq}
    for name in LAYERS:
        trace[name] = layer_forward(qlayers[name], x_seq, max_spikes)
        x_seq = trace[name][0]      # layer 2 sees layer 1's spikes of the same timestep
    return trace


def forward_float(params, x, max_spikes, timesteps):
    """Fake-quantized forward of a hwgen-float parameter dict on inputs x [N, 64].

    Returns (predictions [N], trace): the prediction is the argmax of the output spike
    counts summed over T (lowest index wins ties, like golden.predict); the trace is
    ``network_forward``'s.
    """
    trace = network_forward(quantize_params(params), x, max_spikes, timesteps)
    return rate_predictions(trace["out"][0]), trace


def rate_predictions(out_spikes):
    """Each sample's class from the output spikes [T, N, classes]: the argmax of their sum
    over T, lowest index on ties (like golden.predict)."""
    return np.argmax(out_spikes.sum(axis=0), axis=1)


def synops(trace):
    """Mean synaptic operations per inference, per layer and in total.

    An event is a nonzero input entry (pixel or graded spike) at one timestep; it costs one
    operation per neuron of the layer it feeds (events x fan-out). "binary" counts an
    event of value s as s events, as a binary-spike network would have to send them.
    """
    inputs = {"hidden": trace["input"], "out": trace["hidden"][0]}
    events, binary = {}, {}
    for name, x_seq in inputs.items():
        size = trace[name][0].shape[2]
        n = x_seq.shape[1]
        events[name] = float(np.count_nonzero(x_seq)) * size / n
        binary[name] = float(x_seq.sum()) * size / n
    events["total"] = sum(events.values())
    binary["total"] = sum(binary.values())
    return events, binary


def membrane_peaks(trace):
    """Largest |u| of each layer in integer units: the hardware membrane (signed v_bits)
    must hold it for the integer network to match this forward pass exactly."""
    return {name: int(np.abs(trace[name][1]).max()) for name in LAYERS}


def peak_membranes(trace, layers):
    """``membrane_peaks`` of the traces {layer: {"u": [T, ...], ...}} of train_conv.py and
    train_transformer.py, for ``layers``."""
    return {name: int(np.abs(trace[name]["u"]).max()) for name in layers}


# --------------------------------------------------------------------------------------
# Training


def init_params(rng, x_train, hidden, max_spikes, timesteps):
    """Random weights sized so that every layer's input current starts at ~INIT_GAIN.

    Each layer's std is set from the mean squared norm of its actual input (the pixels,
    then the hidden spikes of the freshly initialized first layer), so the same recipe
    works for pixels 0..16 and for graded spikes 0..D of any D.

    Returns (params, lr_scale): lr_scale is each layer's initial weight std. Adam's steps
    have an absolute size, so the step of each layer is scaled by it: the pixel layer's
    weights are 10-20x smaller than the spike layer's and, with one shared step size,
    would jump by a large fraction of themselves at every step (which kills neurons: the
    first runs without this scaling left 3 of the 10 output neurons silent).
    """
    params, lr_scale = {}, {}
    sample = x_train[rng.choice(len(x_train), 256, replace=False)].astype(np.float64)
    x_seq = np.broadcast_to(sample, (timesteps, *sample.shape))
    for name, size in zip(LAYERS, (hidden, N_CLASSES), strict=True):
        sq_norm = max(np.mean(np.sum(x_seq ** 2, axis=2)), 1.0)
        w = rng.normal(0.0, INIT_GAIN / np.sqrt(sq_norm), (size, x_seq.shape[2]))
        params.update({f"{name}.weight": w, f"{name}.bias": np.zeros(size),
                       f"{name}.threshold": THETA})
        lr_scale[name] = INIT_GAIN / np.sqrt(sq_norm)
        x_seq, _ = layer_forward(quantize_layer(w, np.zeros(size), THETA), x_seq, max_spikes)
    return params, lr_scale


def surrogate(u, theta, max_spikes):
    """ds/du of the spike function: 1/theta inside its rising range, 0 elsewhere.

    ``s = floor(u / theta)`` climbs from 0 to D while 0 <= u < (D + 1) theta; the
    rectangle has the slope of that staircase. u and theta in the same units.
    """
    return ((u >= 0) & (u < (max_spikes + 1) * theta)) / theta


def loss_and_grads(params, x, y, max_spikes, timesteps):
    """Softmax cross-entropy on the rate logits (``rate_loss``) and its gradients by BPTT.

    Straight-through estimator: the forward pass uses the fake-quantized weights, the
    gradients are applied to the float weights as if W_q = W.
    """
    qlayers = quantize_params(params)
    trace = network_forward(qlayers, x, max_spikes, timesteps)
    loss, grad_spikes, grad_v_out = rate_loss(*trace["out"], qlayers["out"], y, max_spikes,
                                              timesteps)
    grad_v = {"out": grad_v_out, "hidden": 0.0}     # the hidden layer has no v_T term

    grads = {}
    layer_inputs = {"out": trace["hidden"][0], "hidden": trace["input"]}
    for name in reversed(LAYERS):
        grads[name], grad_spikes = layer_backward(qlayers[name], layer_inputs[name],
                                                  trace[name][1], grad_spikes, grad_v[name],
                                                  max_spikes)
    return loss, grads


def rate_loss(spikes_out, u_out, q_out, y, max_spikes, timesteps):
    """The loss of every training script and its gradients at the output layer.

    Softmax cross-entropy on the logits described at KAPPA and MEMBRANE_WEIGHT, from the
    output layer's spikes and membrane inputs u [T, N, classes] (integer units, ``q_out``
    its QuantLayer). v_T = u_{T-1} - s_{T-1} theta depends on every u_t with derivative 1
    (detached reset), so its gradient enters the output layer's running sum in
    layer_backward before the last step.

    Returns (loss, dL/ds [T, N, classes], dL/dv_T in float units).
    """
    # v_T / theta is unit-free: the integer units cancel.
    v_rel = (u_out[-1] - spikes_out[-1] * q_out.theta) / q_out.theta
    n = len(y)
    norm = KAPPA / (max_spikes * timesteps)
    logits = norm * (spikes_out.sum(axis=0) + MEMBRANE_WEIGHT * v_rel)
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(p[np.arange(n), y] + 1e-12))
    dlogits = p
    dlogits[np.arange(n), y] -= 1.0
    # Every timestep's output spikes enter the count with weight 1.
    grad_spikes = np.broadcast_to(dlogits * (norm / n), spikes_out.shape)
    # dL/dv_T in float units (theta_q = theta_int / s).
    grad_v = dlogits * (norm * MEMBRANE_WEIGHT / n) / (q_out.theta / q_out.scale)
    return loss, grad_spikes, grad_v


def layer_backward(q, x_seq, u_int, grad_spikes, grad_v_final, max_spikes):
    """BPTT through one IF layer. Returns ((dW, db), dL/dx [T, N, fan_in]).

    grad_spikes [T, N, size] is dL/ds_t, grad_v_final dL/dv_T (the membrane after the last
    step).

    Gradients are taken in float units (u = u_int / s, theta_q = theta_int / s), which is
    what the float weights see through the straight-through estimator.
    """
    u = u_int / q.scale
    theta = q.theta / q.scale
    w_q = q.w / q.scale
    grad_w = np.zeros_like(q.w)
    grad_b = np.zeros(q.w.shape[0])
    grad_x = np.empty_like(x_seq, dtype=np.float64)
    # The reset path is detached, the usual choice in SNN training (SpikingJelly's
    # detach_reset=True): dv_t/du_t is taken as 1, not 1 - theta ds/du (which the
    # rectangular surrogate would make 0 wherever the neuron can spike, cutting the
    # gradient through time). With no leak, dL/du_t is then the spike gradient of step t
    # plus dL/du_{t+1}, a running sum backwards in time.
    carry = np.zeros(u.shape[1:]) + grad_v_final
    for t in range(u.shape[0] - 1, -1, -1):
        carry = carry + grad_spikes[t] * surrogate(u[t], theta, max_spikes)
        grad_w += carry.T @ x_seq[t]
        grad_b += carry.sum(axis=0)
        grad_x[t] = carry @ w_q
    return (grad_w, grad_b), grad_x


class Adam:
    """Adam with a fixed step-size multiplier per parameter array."""

    def __init__(self, params, lr_scale, b1=0.9, b2=0.999, eps=1e-8):
        self.lr_scale, self.b1, self.b2, self.eps = lr_scale, b1, b2, eps
        self.keys = list(lr_scale)
        self.m = {k: np.zeros_like(params[k]) for k in self.keys}
        self.v = {k: np.zeros_like(params[k]) for k in self.keys}
        self.step_count = 0

    def step(self, params, grads, lr):
        self.step_count += 1
        c1 = 1 - self.b1 ** self.step_count
        c2 = 1 - self.b2 ** self.step_count
        for k in self.keys:
            self.m[k] = self.b1 * self.m[k] + (1 - self.b1) * grads[k]
            self.v[k] = self.b2 * self.v[k] + (1 - self.b2) * grads[k] ** 2
            step = (self.m[k] / c1) / (np.sqrt(self.v[k] / c2) + self.eps)
            params[k] = params[k] - lr * self.lr_scale[k] * step


def to_hwgen_float(params, max_spikes):
    """The hwgen-float/1 arrays of trained float parameters, in archive (layer) order."""
    arrays = {}
    for name in LAYERS:
        arrays[f"{name}.weight"] = np.asarray(params[f"{name}.weight"], np.float64)
        arrays[f"{name}.bias"] = np.asarray(params[f"{name}.bias"], np.float64)
        arrays[f"{name}.threshold"] = np.array(params[f"{name}.threshold"], np.float64)
        arrays[f"{name}.beta"] = np.array(1.0)      # IF: no leak
        arrays[f"{name}.reset"] = np.array("soft")
        arrays[f"{name}.max_spikes"] = np.array(max_spikes)
    return arrays


def fit(params, lr_scale, layers, x_train, y_train, epochs, rng, loss_and_grads, predict,
        label, log=log):
    """Adam on ``params`` (in place) for ``epochs`` epochs of shuffled mini-batches of
    ``BATCH``, step size cosine-decayed from LR to LR_MIN; the recipe both training
    scripts share. ``loss_and_grads(params, x, y)`` gives the loss and ``{layer: (grad
    weight, grad bias)}``; ``predict(params)`` the training-set classes, logged with
    ``label`` every ten epochs and at the end (through ``log``)."""
    # Biases are in threshold units already: their steps are not scaled down.
    adam = Adam(params, {key: scale for name in layers
                         for key, scale in ((f"{name}.weight", lr_scale[name]),
                                            (f"{name}.bias", 1.0))})
    steps_per_epoch = -(-len(x_train) // BATCH)
    total_steps = epochs * steps_per_epoch
    for epoch in range(epochs):
        order = rng.permutation(len(x_train))
        losses = []
        for i in range(steps_per_epoch):
            batch = order[i * BATCH:(i + 1) * BATCH]
            loss, grads = loss_and_grads(params, x_train[batch], y_train[batch])
            flat = {f"{name}.{p}": g for name in layers
                    for p, g in zip(("weight", "bias"), grads[name], strict=True)}
            progress = (epoch * steps_per_epoch + i) / total_steps
            lr = LR_MIN + 0.5 * (LR - LR_MIN) * (1 + np.cos(np.pi * progress))
            adam.step(params, flat, lr)
            losses.append(loss)
        if epoch % 10 == 9 or epoch == epochs - 1:
            train_acc = np.mean(predict(params) == y_train)
            log(f"{label} epoch {epoch + 1}/{epochs} loss {np.mean(losses):.4f} "
                f"train acc {train_acc:.4f}")


def train_one(max_spikes, timesteps, hidden=64, epochs=60, seed=0, split=None):
    """Train one (D, T) configuration.

    Returns (hwgen-float arrays, float test accuracy, stats). The accuracy and the stats
    are those of the fake-quantized forward on the whole test split; stats holds the mean
    synaptic operations per inference ("events", "binary", see ``synops``) and the
    largest membrane magnitudes ("max_abs_u", see ``membrane_peaks``).
    """
    x_train, x_test, y_train, y_test = split if split is not None else load_split()
    rng = np.random.default_rng(seed)
    params, lr_scale = init_params(rng, x_train, hidden, max_spikes, timesteps)
    fit(params, lr_scale, LAYERS, x_train, y_train, epochs, rng,
        lambda p, xb, yb: loss_and_grads(p, xb, yb, max_spikes, timesteps),
        lambda p: forward_float(p, x_train, max_spikes, timesteps)[0],
        f"D={max_spikes} T={timesteps}")
    pred, trace = forward_float(params, x_test, max_spikes, timesteps)
    events, binary = synops(trace)
    stats = {"events": events, "binary": binary, "max_abs_u": membrane_peaks(trace)}
    return to_hwgen_float(params, max_spikes), float(np.mean(pred == y_test)), stats


# --------------------------------------------------------------------------------------
# Files and command line


def save_float_npz(path, arrays):
    """Write a hwgen-float/1 archive; np.savez keeps the key order (= layer order)."""
    np.savez(path, **arrays)


def save_test_split(path, x_test, y_test):
    np.savez(path, inputs=x_test.astype(np.uint8), labels=y_test.astype(np.uint8))


def cmd_train(args):
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    split = load_split()
    x_test, y_test = split[1], split[3]
    save_test_split(workdir / "test_split.npz", x_test, y_test)
    EXAMPLES.mkdir(parents=True, exist_ok=True)
    save_test_split(EXAMPLES / "test_split.npz", x_test, y_test)
    # The first 8 test images as hwgen inputs [N, T, 64], for `hwgen check --inputs`.
    np.save(EXAMPLES / "samples.npy", np.broadcast_to(
        x_test[:8, None, :], (8, args.export_timesteps, 64)).astype(np.int16))
    results = []
    for d in args.d:
        for t in args.timesteps:
            start = time.perf_counter()
            arrays, acc, ops = train_one(d, t, args.hidden, args.epochs, args.seed, split)
            seconds = time.perf_counter() - start
            path = workdir / f"digits_d{d}_t{t}.npz"
            save_float_npz(path, arrays)
            quantized = quantize_model(path, d, t)
            golden_acc, golden_pred, _ = golden_accuracy(quantized.model, x_test, y_test)
            float_pred = forward_float(arrays, x_test, d, t)[0]
            differ = int(np.sum(golden_pred != float_pred))
            log(f"D={d} T={t}: float test acc {acc:.4f}, golden {golden_acc:.4f} ({differ} "
                f"predictions differ), synops {ops['events']['total']:.0f} (binary-equivalent "
                f"{ops['binary']['total']:.0f}), {seconds:.1f} s -> {path}")
            row = dict(zip(RESULT_FIELDS, (d, t, args.hidden, acc, ops["events"], ops["binary"],
                                           ops["max_abs_u"], round(seconds, 2)), strict=True))
            row.update(golden_acc=golden_acc, float_golden_differences=differ)
            if t == args.export_timesteps:
                model_path = EXAMPLES / f"digits_d{d}.yaml"
                quantized.write(model_path)
                row["model"] = str(model_path.relative_to(ROOT))
            results.append({**row, "file": path.name})
    summary = {"format": "hwgen-digits-results/1", "seed": args.seed, "epochs": args.epochs,
               "hidden": args.hidden,
               "split": "train_test_split(test_size=0.2, random_state=0, stratify=y)",
               "test_size": int(len(y_test)), "results": results}
    with open(workdir / "float_results.json", "w") as f:
        json.dump(summary, f, indent=2)
    DOCS.mkdir(exist_ok=True)
    (DOCS / "digits.json").write_text(json.dumps(summary, indent=2) + "\n")
    log(f"wrote {workdir / 'float_results.json'}, {DOCS / 'digits.json'} and the "
        f"T={args.export_timesteps} models in {EXAMPLES}/")


# --------------------------------------------------------------------------------------
# The quantized models: golden and RTL


def quantize_model(float_path, max_spikes, timesteps, name=None, input_size=64,
                   input_max=INPUT_MAX):
    """hwgen's quantizer on a hwgen-float/1 file (what ``hwgen quantize`` runs); the model
    is named ``name`` (default ``digits_d{max_spikes}``), its input ``input_size`` values
    0..``input_max`` (default: the digits pixels)."""
    from hwgen.quantize import load_float_npz, quantize
    return quantize(load_float_npz(float_path), name=name or f"digits_d{max_spikes}",
                    timesteps=timesteps, input_size=input_size, input_max=input_max,
                    weight_bits=WEIGHT_BITS, source=str(float_path))


def model_inputs(model, x):
    """[N, T, 64]: every image presented unchanged at every timestep (direct coding)."""
    return np.broadcast_to(x.astype(np.int64)[:, None, :],
                           (x.shape[0], model.timesteps, x.shape[1])).copy()


def golden_accuracy(model, x, y):
    """(accuracy, predictions, spikes of every layer) of the golden model."""
    import golden
    spikes = golden.run(model, model_inputs(model, x))
    pred = golden.predict(model, spikes)
    return float(np.mean(pred == y)), pred, spikes


def rtl_accuracy(model, x, y, lanes, expected):
    """Accuracy of the Verilator co-simulation, every layer compared against ``expected``
    (golden's spikes)."""
    import golden
    from hwgen.compare import describe_mismatch, first_mismatch
    from hwgen.network import GenerateOptions
    from hwgen.sim.cosim import run_rtl
    inputs = model_inputs(model, x)
    spikes, info = run_rtl(model, inputs, sim="verilator", options=GenerateOptions(lanes=lanes),
                           build_dir=ROOT / "sim_build" / f"eval_{model.name}", seed=0,
                           stall_in=0.1, stall_out=0.1)
    mismatch = first_mismatch(model, expected, spikes)
    pred = golden.predict(model, {model.output: info["out_spikes"]})
    return float(np.mean(pred == y)), mismatch and describe_mismatch(mismatch, "golden",
                                                                      "verilator"), info


def rtl_figures(model, label, x, y, lanes, expected, log=log):
    """The ``rtl_*`` fields of a committed model's row (accuracy, bit-exactness against
    ``expected``, cycles, times), logged through ``log``."""
    start = time.perf_counter()
    rtl_acc, mismatch, info = rtl_accuracy(model, x, y, lanes, expected)
    row = {"rtl_acc": rtl_acc, "rtl_bit_exact": mismatch is None, "rtl_cycles": info["cycles"],
           "rtl_engine": info["engine"], "rtl_sim_seconds": round(info["seconds"], 2),
           "rtl_seconds": round(time.perf_counter() - start, 1), "rtl_lanes": lanes}
    log(f"{label}: RTL {rtl_acc:.4f}, {'bit-exact' if mismatch is None else mismatch}, "
        f"{info['cycles']} cycles in {info['seconds']:.2f} s of simulation "
        f"({row['rtl_seconds']} s with generation and build)")
    return row


def write_checked(quantized, path, float_acc, golden_acc, differ, label):
    """Write a quantized model to ``path``, or exit writing nothing if golden does not
    predict exactly what the float network predicts (``differ`` predictions, or the
    accuracy, differ); ``label`` starts the message."""
    if differ or golden_acc != float_acc:
        raise SystemExit(f"{label}: golden differs from the float network; not writing the "
                         "model")
    quantized.write(path)


def cmd_evaluate(args):
    from hwgen.model import load_model
    summary = json.loads((DOCS / "digits.json").read_text())
    x, y = load_test_split(EXAMPLES)
    committed = []
    for path in sorted(EXAMPLES.glob("digits_d*.yaml"), key=lambda p: int(p.stem[8:])):
        model = load_model(path)
        d = model.layers[0].neuron.max_spikes
        golden_acc, _, expected = golden_accuracy(model, x, y)
        row = {"model": str(path.relative_to(ROOT)), "D": d, "T": model.timesteps,
               "golden_acc": golden_acc}
        log(f"{path.name}: golden {golden_acc:.4f}")
        refresh_rtl(row, model, path.name, x, y, args, expected)
        committed.append(row)
    summary["committed"] = committed
    write_docs("digits", summary, write_markdown, plot)


def write_markdown(path, s):
    rows = {(r["D"], r["T"]): r for r in s["results"]}
    lines = [
        "# Digits: a trained SNN with spike firing approximation, end to end",
        "",
        ("Made by `scripts/train_digits.py train` (NumPy, about a minute) and "
        "`scripts/train_digits.py evaluate` (golden and RTL on the committed models)."),
        "",
        (f"Network: 64 inputs (pixels 0..16, presented at every timestep) -> "
        f"{s['hidden']} IF -> 10 IF, soft reset, graded spikes 0..D, 8-bit weights; trained "
        f"{s['epochs']} epochs with integer activations and a rectangular surrogate gradient "
        f"(seed {s['seed']}). Test split: {s['split']}, {s['test_size']} images."),
        "",
        "## The committed models (examples/digits/, T = 8), whole test split",
        "",
        ("| model | D | float | golden | RTL (Verilator) | RTL = golden, every spike "
        "| synops / inference | binary-equivalent |"),
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in s.get("committed", []):
        r = rows[(c["D"], c["T"])]
        rtl, exact = rtl_cells(c)
        lines.append(f"| `{c['model']}` | {c['D']} | {r['float_acc']:.4f} | "
                     f"{c['golden_acc']:.4f} | {rtl} | {exact} | "
                     f"{r['synops']['total']:.0f} | {r['synops_binary']['total']:.0f} |")
    lines += [
        "",
        ("Float is the training network's own (fake-quantized) forward pass; golden is "
        "`golden.run` on the model `hwgen quantize` made of it; RTL is the generated "
        "Verilog co-simulated by the fast engine (a Verilator C++ bench; 4 lanes, 10% random "
        "stalls on both streams), compared against golden for every layer's spikes."
        + rtl_timing(s.get("committed", []))
        + " Synaptic operations: one per "
        "event and target neuron (an event is a nonzero pixel or a nonzero graded spike); "
        "binary-equivalent counts an event of value s as s operations (what `--burst` "
        "sends)."),
        "",
        "## Graded against binary spikes at equal operations",
        "",
        ("| D | T | float | golden | synops / inference (input layer + hidden layer) "
        "| binary-equivalent |"),
        "|---|---|---|---|---|---|",
    ]
    for r in s["results"]:
        ev = r["synops"]
        lines.append(f"| {r['D']} | {r['T']} | {r['float_acc']:.4f} | {r['golden_acc']:.4f} | "
                     f"{ev['total']:.0f} ({ev['hidden']:.0f} + {ev['out']:.0f}) | "
                     f"{r['synops_binary']['total']:.0f} |")
    lines += ["", "![accuracy against synaptic operations](digits.png)", "",
              "What the figures say (one training seed; one test image is 0.28%):", ""]
    for d in sorted({r["D"] for r in s["results"]}):
        best = min((r for r in s["results"] if r["D"] == d and r["golden_acc"] >= 0.97),
                   key=lambda r: r["synops"]["total"], default=None)
        lines.append(f"- D = {d}: " + ("never reaches 97%" if best is None else
                     f"97% or more from {best['synops']['total']:.0f} operations per "
                     f"inference (T = {best['T']}, {100 * best['golden_acc']:.1f}%)"))
    lines += [
        "",
        ("For seed 0: at small operation budgets graded spikes win: with one timestep, "
        "binary spikes (D = 1) reach the lowest accuracy of the table, while D = 2..8 at "
        "about the same operation count are 3.6 to 5.8 points better, and D = 8 needs about "
        "a quarter of "
        "the operations binary spikes need for 97%. From T = 4 on every D is at 96.7-97.8%: "
        "the task saturates and the differences are one to four test images. Two caveats: "
        "the operations are dominated by the input layer (the graded pixel values are sent "
        "at every timestep whatever D is), and counted as bursts of binary events "
        "(binary-equivalent) graded spikes save nothing -- the saving needs the payload "
        "form, which costs one multiplier per lane in the neuron core."),
        "",
    ]
    path.write_text("\n".join(lines))


def plot_accuracy_by_d(ax, results, binary="binary"):
    """Golden accuracy against synaptic operations, one line per D through its T."""
    for i, d in enumerate(sorted({r["D"] for r in results})):
        rs = sorted((r for r in results if r["D"] == d), key=lambda r: r["T"])
        ops = [r["synops"]["total"] for r in rs]
        ax.plot(ops, [100 * r["golden_acc"] for r in rs], "o-", color=f"C{i}",
                label=f"D = {d}" + (f" ({binary})" if d == 1 else ""))
        for r, o in zip(rs, ops, strict=True):
            ax.annotate(f"T={r['T']}", (o, 100 * r["golden_acc"]), fontsize=7,
                        xytext=(3, -9), textcoords="offset points")


def plot(path, s):
    fig, ax = accuracy_axes((7, 4.2))
    plot_accuracy_by_d(ax, s["results"])
    save_accuracy_plot(fig, ax, path, "synaptic operations per inference (events x fan-out)",
                       "digits, 64-64-10 IF, 8-bit weights")


# --------------------------------------------------------------------------------------
# Shared by every training script's evaluate step and command line


def load_test_split(examples):
    """(inputs [N, 64], labels [N]) of ``examples``/test_split.npz (see save_test_split)."""
    split = np.load(examples / "test_split.npz")
    return split["inputs"], split["labels"]


def refresh_rtl(row, model, label, x, y, args, expected, log=log):
    """Drop a result row's ``rtl_*`` fields (never keep figures of an older model) and,
    unless ``--no-rtl``, measure them again (``rtl_figures`` with ``--lanes``)."""
    for key in [k for k in row if k.startswith("rtl_")]:
        del row[key]
    if not args.no_rtl:
        row.update(rtl_figures(model, label, x, y, args.lanes, expected, log=log))


def write_docs(stem, summary, write_markdown, plot, log=log):
    """Write ``docs/<stem>.json`` (the summary), ``.md`` (``write_markdown(path, summary)``)
    and ``.png`` (``plot(path, summary)``)."""
    (DOCS / f"{stem}.json").write_text(json.dumps(summary, indent=2) + "\n")
    write_markdown(DOCS / f"{stem}.md", summary)
    plot(DOCS / f"{stem}.png", summary)
    log(f"wrote {DOCS / f'{stem}.json'}, {stem}.md and {stem}.png")


def dense_digits_reference():
    """The dense digits models' (D, T, golden accuracy, synops) from docs/digits.json, what
    the other networks are compared with."""
    digits = json.loads((DOCS / "digits.json").read_text())
    return [{"D": r["D"], "T": r["T"], "hidden": r["hidden"], "golden_acc": r["golden_acc"],
             "synops": r["synops"]["total"]} for r in digits["results"]]


def best_dense_within(reference, budget=math.inf):
    """The most accurate dense digits model (the cheaper on ties) costing at most
    ``budget`` synops (None if every one costs more)."""
    return max((r for r in reference if r["synops"] <= budget),
               key=lambda r: (r["golden_acc"], -r["synops"]), default=None)


def rtl_cells(row):
    """The "RTL (Verilator)" and "RTL = golden, every spike" cells of a result row."""
    if "rtl_acc" not in row:
        return "not run", ""
    return f"{row['rtl_acc']:.4f}", "yes" if row.get("rtl_bit_exact") else "NO"


def rtl_timing(rows):
    """A sentence on the RTL simulation time of the rows that have one ("" if none)."""
    timed = [r for r in rows if "rtl_sim_seconds" in r]
    if not timed:
        return ""
    return (f" The {len(timed)} models simulate the whole split in "
            f"{sum(r['rtl_sim_seconds'] for r in timed):.1f} s "
            f"({sum(r['rtl_cycles'] for r in timed)} cycles; "
            f"{sum(r['rtl_seconds'] for r in timed):.0f} s with Verilog generation and "
            "builds).")


def accuracy_axes(figsize):
    """A new matplotlib (Agg) figure and its axes."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt.subplots(figsize=figsize)


def plot_dense_reference(ax, reference):
    """The dense digits models (``dense_digits_reference``), one line per D."""
    for i, d in enumerate(sorted({r["D"] for r in reference})):
        rs = sorted((r for r in reference if r["D"] == d), key=lambda r: r["T"])
        ax.plot([r["synops"] for r in rs], [100 * r["golden_acc"] for r in rs], "o-",
                color=f"C{i}", alpha=0.6, ms=4, label=f"dense digits 64-64-10, D = {d}")


def save_accuracy_plot(fig, ax, path, xlabel, title, **legend):
    """Label accuracy against synaptic operations (log scale) and save the figure."""
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("test accuracy, golden model (%)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(**legend)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def command_line(doc, add_train_parser, cmd_evaluate, argv=None,
                 evaluate_help="golden and RTL accuracy of the committed models",
                 lanes=4, add_evaluate_args=None):
    """Every training script's command line: ``train`` (its own options, added by
    ``add_train_parser``, which may add further commands) and ``evaluate [--no-rtl]
    [--lanes N]`` (``cmd_evaluate``; ``lanes`` is the default of ``--lanes``,
    ``add_evaluate_args(parser)`` may add options)."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    add_train_parser(sub)
    p = sub.add_parser("evaluate", help=evaluate_help)
    p.add_argument("--no-rtl", action="store_true", help="skip the RTL co-simulation")
    p.add_argument("--lanes", type=int, default=lanes,
                   help=f"synapse lanes of the RTL (default {lanes})")
    if add_evaluate_args is not None:
        add_evaluate_args(p)
    p.set_defaults(func=cmd_evaluate)
    args = parser.parse_args(argv)
    return args.func(args)


# --------------------------------------------------------------------------------------
# digits' command line


def add_train_parser(sub):
    p = sub.add_parser("train", help="train every (D, T) and write the float models")
    p.add_argument("--d", type=int, nargs="+", default=[1, 2, 4, 8],
                   help="graded spike maxima D to train (default: 1 2 4 8)")
    p.add_argument("--timesteps", type=int, nargs="+", default=[1, 2, 4, 8],
                   help="numbers of timesteps T to train (default: 1 2 4 8)")
    p.add_argument("--hidden", type=int, default=64, help="hidden layer size (default: 64)")
    p.add_argument("--epochs", type=int, default=60, help="training epochs (default: 60)")
    p.add_argument("--seed", type=int, default=0, help="initialization and shuffling seed")
    p.add_argument("--workdir", default="/tmp/hwgen_digits",
                   help="output directory (default: /tmp/hwgen_digits)")
    p.add_argument("--export-timesteps", type=int, default=8,
                   help="T of the models written to examples/digits/ (default: 8)")
    p.set_defaults(func=cmd_train)


def main(argv=None):
    return command_line(__doc__, add_train_parser, cmd_evaluate, argv)


if __name__ == "__main__":
    main()
