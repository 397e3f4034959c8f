"""Train small spiking networks on scikit-learn's digits and write them as hwgen-float/1 files.

The network is 64 inputs -> H integrate-and-fire neurons -> 10 integrate-and-fire neurons,
both layers with soft reset and graded spikes in 0..D ("spike firing approximation", SFA),
trained in plain NumPy with backpropagation through time and a rectangular surrogate
gradient. Training is quantization-aware (8-bit weights, straight-through estimator), and
the forward pass is computed so that it equals the integer arithmetic of the hardware
(golden/neuron.py) exactly; see ``quantize_layer`` and ``layer_forward``.

Data: ``sklearn.datasets.load_digits`` (1797 8x8 images, integer pixels 0..16, bundled with
scikit-learn, no download), split with ``train_test_split(test_size=0.2, random_state=0,
stratify=y)``: 1437 training and 360 test images. There is no validation split: every
configuration trains for a fixed number of epochs with one shared recipe, and the test
split is only used for the final numbers.

Usage::

    .venv/bin/python scripts/train_digits.py train [--d 1 2 4 8] [--timesteps 1 2 4 8]
        [--hidden 64] [--epochs 60] [--seed 0] [--workdir /tmp/hwgen_digits]

For every (D, T) combination this writes ``<workdir>/digits_d{D}_t{T}.npz`` (hwgen-float/1:
float parameters, per layer ``<name>.weight``, ``.bias``, ``.threshold``, ``.beta``,
``.reset``, ``.max_spikes``, layers in archive order), and once
``<workdir>/test_split.npz`` (``inputs`` uint8 [N, 64], ``labels`` uint8 [N]) and
``<workdir>/float_results.json`` (accuracy and synaptic operations per configuration).
Progress goes to stderr.

Next steps, not implemented here: an ``evaluate`` subcommand that quantizes every float
file with ``hwgen quantize FLOAT.npz -o MODEL.yaml --timesteps T --weight-bits 8
--input-max 16`` and measures the golden-model and RTL accuracy on ``test_split.npz``.
``add_evaluate_parser`` and ``RESULT_FIELDS`` mark where it plugs in.
"""

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

INPUT_MAX = 16          # digits pixels are integers 0..16
N_CLASSES = 10
WEIGHT_BITS = 8
THETA = 1.0             # float threshold of both layers: the scale lives in the weights
LAYERS = ("hidden", "out")

# Training recipe, shared by every (D, T): only D and T change between configurations.
BATCH = 32
# Adam step size relative to each layer's initial weight std (see init_params), decayed
# with a cosine schedule to LR_MIN.
LR = 0.02
LR_MIN = 2e-4
# Logits = KAPPA * (summed output spikes) / (D * T): the spike rate in [0, 1] times a
# constant, so the softmax can become equally confident for every D and T.
KAPPA = 10.0
INIT_GAIN = 1.0         # initial std of each layer's per-step input current, in thresholds

# Columns of float_results.json; an evaluate step adds e.g. golden_acc and rtl_acc.
RESULT_FIELDS = ("D", "T", "hidden", "float_acc", "synops", "synops_binary", "train_seconds")


def log(msg):
    print(f"train_digits: {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------
# Data


def load_split():
    """The fixed digits split: (x_train, x_test, y_train, y_test), pixels as int64 0..16."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = digits.data.astype(np.int64)          # stored as float64 holding integers
    y = digits.target.astype(np.int64)
    return train_test_split(x, y, test_size=0.2, random_state=0, stratify=y)


# --------------------------------------------------------------------------------------
# Quantization and the forward pass


@dataclass
class QuantLayer:
    """A layer's fake-quantized parameters, held in integer units (integer-valued floats).

    hwgen's quantizer maps a float layer to ``W_int = round(s W)``, ``b_int = round(s b)``,
    ``theta_int = ceil(s theta)`` with ``s = 127 / max|W|``. Fake quantization in float
    units is ``W_q = W_int / s`` etc.; dividing every term of the membrane equation by the
    same ``s`` changes nothing but the rounding, so we compute in integer units instead.
    There, all sums of products are small integers and exact in float64, and
    ``floor(u / theta)`` cannot land one below an exact multiple the way it can with
    ``u_q / theta_q`` in float units: the forward pass *is* the hardware's.
    """

    w: np.ndarray           # [size, fan_in] round(s W)
    b: np.ndarray           # [size] round(s b)
    theta: float            # ceil(s theta)
    scale: float            # s


def quantize_layer(w, b, theta, bits=WEIGHT_BITS):
    wmax = np.max(np.abs(w))
    scale = (2 ** (bits - 1) - 1) / wmax if wmax > 0 else 1.0
    return QuantLayer(w=np.round(w * scale), b=np.round(b * scale),
                      theta=float(np.ceil(theta * scale)), scale=float(scale))


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
    return np.argmax(trace["out"][0].sum(axis=0), axis=1), trace


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


# --------------------------------------------------------------------------------------
# Training


def init_params(rng, x_train, hidden, max_spikes, timesteps):
    """Random weights sized so that every layer's input current starts at ~INIT_GAIN.

    Each layer's std is set from the mean squared norm of its actual input (the pixels,
    then the hidden spikes of the freshly initialized first layer), so the same recipe
    works for pixels 0..16 and for graded spikes 0..D of any D.

    Returns (params, lr_scale): lr_scale is each layer's initial weight std. Adam's steps
    have an absolute size, so the step of each layer is scaled by it: the pixel layer's
    weights are ~30x smaller than the spike layer's and would otherwise jump by a large
    fraction of themselves at every step (and kill neurons).
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
    """Softmax cross-entropy on the rate logits and its gradients by BPTT.

    Straight-through estimator: the forward pass uses the fake-quantized weights, the
    gradients are applied to the float weights as if W_q = W. The reset path is detached
    (dv/du = 1 in v = u - s theta): the standard choice, which keeps the gradient from
    fighting the surrogate at every spike.
    """
    qlayers = quantize_params(params)
    trace = network_forward(qlayers, x, max_spikes, timesteps)
    counts = trace["out"][0].sum(axis=0)
    n = len(y)
    norm = KAPPA / (max_spikes * timesteps)
    logits = norm * counts
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(p[np.arange(n), y] + 1e-12))
    dlogits = p
    dlogits[np.arange(n), y] -= 1.0
    # Every timestep's output spikes enter the count with weight 1.
    grad_spikes = np.broadcast_to(dlogits * (norm / n), (timesteps, n, N_CLASSES))

    grads = {}
    for name, x_name in (("out", "hidden"), ("hidden", "input")):
        q = qlayers[name]
        x_seq = trace[x_name] if x_name == "input" else trace[x_name][0]
        grad_u, grad_x = layer_backward(q, x_seq, trace[name][1], grad_spikes, max_spikes)
        grads[name] = grad_u
        grad_spikes = grad_x
    return loss, grads


def layer_backward(q, x_seq, u_int, grad_spikes, max_spikes):
    """BPTT through one IF layer. Returns ((dW, db), dL/dx [T, N, fan_in]).

    Gradients are taken in float units (u = u_int / s, theta_q = theta_int / s), which is
    what the float weights see through the straight-through estimator.
    """
    u = u_int / q.scale
    theta = q.theta / q.scale
    w_q = q.w / q.scale
    grad_w = np.zeros_like(q.w)
    grad_b = np.zeros(q.w.shape[0])
    grad_x = np.empty_like(x_seq, dtype=np.float64)
    # With no leak and a detached reset, v_{t} = u_{t} - ..., so dL/du_t collects the
    # spike gradient of step t plus everything dL/du_{t+1} carries back through v.
    carry = np.zeros(u.shape[1:])
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


def train_one(max_spikes, timesteps, hidden=64, epochs=60, seed=0, split=None):
    """Train one (D, T) configuration.

    Returns (hwgen-float arrays, float test accuracy, synops dict). The accuracy and the
    synops are those of the fake-quantized forward on the whole test split.
    """
    x_train, x_test, y_train, y_test = split if split is not None else load_split()
    rng = np.random.default_rng(seed)
    params, lr_scale = init_params(rng, x_train, hidden, max_spikes, timesteps)
    # Biases are in threshold units already: their steps are not scaled down.
    adam = Adam(params, {key: scale for name in LAYERS
                         for key, scale in ((f"{name}.weight", lr_scale[name]),
                                            (f"{name}.bias", 1.0))})
    steps_per_epoch = -(-len(x_train) // BATCH)
    total_steps = epochs * steps_per_epoch
    for epoch in range(epochs):
        order = rng.permutation(len(x_train))
        losses = []
        for i in range(steps_per_epoch):
            batch = order[i * BATCH:(i + 1) * BATCH]
            loss, grads = loss_and_grads(params, x_train[batch], y_train[batch],
                                         max_spikes, timesteps)
            flat = {f"{name}.{p}": g for name in LAYERS
                    for p, g in zip(("weight", "bias"), grads[name], strict=True)}
            progress = (epoch * steps_per_epoch + i) / total_steps
            lr = LR_MIN + 0.5 * (LR - LR_MIN) * (1 + np.cos(np.pi * progress))
            adam.step(params, flat, lr)
            losses.append(loss)
        if epoch % 10 == 9 or epoch == epochs - 1:
            train_acc = np.mean(forward_float(params, x_train, max_spikes, timesteps)[0]
                                == y_train)
            log(f"D={max_spikes} T={timesteps} epoch {epoch + 1}/{epochs} "
                f"loss {np.mean(losses):.4f} train acc {train_acc:.4f}")
    pred, trace = forward_float(params, x_test, max_spikes, timesteps)
    events, binary = synops(trace)
    return (to_hwgen_float(params, max_spikes), float(np.mean(pred == y_test)),
            {"events": events, "binary": binary})


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
    save_test_split(workdir / "test_split.npz", split[1], split[3])
    results = []
    for d in args.d:
        for t in args.timesteps:
            start = time.perf_counter()
            arrays, acc, ops = train_one(d, t, args.hidden, args.epochs, args.seed, split)
            seconds = time.perf_counter() - start
            path = workdir / f"digits_d{d}_t{t}.npz"
            save_float_npz(path, arrays)
            log(f"D={d} T={t}: float test acc {acc:.4f}, synops {ops['events']['total']:.0f} "
                f"(binary-equivalent {ops['binary']['total']:.0f}), {seconds:.1f} s -> {path}")
            row = dict(zip(RESULT_FIELDS, (d, t, args.hidden, acc, ops["events"],
                                           ops["binary"], round(seconds, 2)), strict=True))
            results.append({**row, "file": path.name})
    summary = {"format": "hwgen-digits-results/1", "seed": args.seed, "epochs": args.epochs,
               "split": "train_test_split(test_size=0.2, random_state=0, stratify=y)",
               "test_size": int(len(split[3])), "results": results}
    with open(workdir / "float_results.json", "w") as f:
        json.dump(summary, f, indent=2)
    log(f"wrote {workdir / 'float_results.json'}")


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
    p.set_defaults(func=cmd_train)


def add_evaluate_parser(sub):
    """Hook: an ``evaluate`` subcommand (quantize with ``hwgen quantize``, then golden and
    RTL accuracy on test_split.npz, added to float_results.json) registers itself here."""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    add_train_parser(sub)
    add_evaluate_parser(sub)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
