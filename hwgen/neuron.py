"""Neuron parameters of a layer (DESIGN.md section 4) and their model-file checks.

Every layer type that has neurons (dense, attention, conv2d) reads its
``neuron:`` mapping with :func:`parse_neuron`.
"""

from dataclasses import dataclass

__all__ = ["Neuron", "parse_neuron", "V_BITS_RANGE", "MAX_SPIKES_RANGE", "FRAC_BITS_RANGE"]

V_BITS_RANGE = (2, 32)
MAX_SPIKES_RANGE = (1, 255)
FRAC_BITS_RANGE = (0, 16)


@dataclass(frozen=True)
class Neuron:
    """Neuron parameters of one layer (DESIGN.md section 4)."""
    model: str                 # "if" | "lif"
    threshold: int
    reset: str                 # "hard" | "soft" | "none"
    v_bits: int
    max_spikes: int = 1
    v_reset: int = 0
    leak_shift: int | None = None        # lif {shift: k}
    leak_decay: int | None = None        # lif {decay: λ, frac_bits: f}
    leak_frac_bits: int | None = None

    @property
    def v_min(self):
        return -(1 << (self.v_bits - 1))

    @property
    def v_max(self):
        return (1 << (self.v_bits - 1)) - 1

    def to_dict(self):
        d = {"model": self.model}
        if self.leak_shift is not None:
            d["leak"] = {"shift": self.leak_shift}
        elif self.leak_decay is not None:
            d["leak"] = {"decay": self.leak_decay, "frac_bits": self.leak_frac_bits}
        d.update(threshold=self.threshold, reset=self.reset, v_reset=self.v_reset,
                 v_bits=self.v_bits, max_spikes=self.max_spikes)
        return d


def parse_neuron(c, nd):
    """The ``neuron:`` mapping of a layer, checked."""
    c.mapping(nd, "neuron")
    c.keys(nd, "neuron", ("model", "threshold", "reset", "v_bits"),
           ("leak", "v_reset", "max_spikes"))
    model = c.choice(nd["model"], "neuron.model", ("if", "lif"))
    v_bits = c.integer(nd["v_bits"], "neuron.v_bits", *V_BITS_RANGE)
    vmax = (1 << (v_bits - 1)) - 1
    threshold = c.integer(nd["threshold"], "neuron.threshold", 1, vmax)
    reset = c.choice(nd["reset"], "neuron.reset", ("hard", "soft", "none"))
    v_reset = c.integer(nd.get("v_reset", 0), "neuron.v_reset", -(vmax + 1), vmax)
    max_spikes = c.integer(nd.get("max_spikes", 1), "neuron.max_spikes", *MAX_SPIKES_RANGE)
    leak = {}
    if model == "lif":
        if "leak" not in nd:
            c.fail("neuron.leak is required for model 'lif' ({shift: k} or "
                   "{decay: λ, frac_bits: f})")
        ld = c.mapping(nd["leak"], "neuron.leak")
        if "shift" in ld:
            c.keys(ld, "neuron.leak", ("shift",))
            leak["leak_shift"] = c.integer(ld["shift"], "neuron.leak.shift", 0, v_bits)
        else:
            c.keys(ld, "neuron.leak", ("decay", "frac_bits"))
            f = c.integer(ld["frac_bits"], "neuron.leak.frac_bits", *FRAC_BITS_RANGE)
            leak["leak_decay"] = c.integer(ld["decay"], "neuron.leak.decay", 0, 1 << f)
            leak["leak_frac_bits"] = f
    elif "leak" in nd:
        c.fail("neuron.leak is only allowed for model 'lif'")
    return Neuron(model=model, threshold=threshold, reset=reset, v_bits=v_bits,
                  max_spikes=max_spikes, v_reset=v_reset, **leak)
