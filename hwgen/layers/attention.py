"""The ``attention`` layer type: spike-driven self-attention over three binary layers
(DESIGN.md sections 3 and 4); in hardware an :class:`~hwgen.core.attention_core.AttentionCore`.

Its input is the concatenation ``[q, k, v]`` of the three layers it names, so the network
graph, the merge (point to point) and the routers (fabric) bring Q, K and V to one core
like any concatenated input: Q at addresses ``0 ..``, K from ``tokens * dim``, V from
``2 * tokens * dim``.
"""

from dataclasses import dataclass

import numpy as np

from golden.attention import attention_step

from ..model_fields import MAX_SIZE
from ..neuron import Neuron, parse_neuron
from .base import Layer

__all__ = ["AttentionLayer", "VARIANTS"]

VARIANTS = ("hadamard", "linear")


@dataclass
class AttentionLayer(Layer):
    name: str
    inputs: list[str]          # [q, k, v]
    variant: str               # "hadamard" | "linear"
    tokens: int
    dim: int
    heads: int
    neuron: Neuron

    type_name = "attention"
    required_fields = ("variant", "tokens", "dim", "heads", "q", "k", "v", "neuron")

    @classmethod
    def from_fields(cls, c, fields, sources):
        variant = c.choice(fields["variant"], "variant", VARIANTS)
        tokens = c.integer(fields["tokens"], "tokens", 1, MAX_SIZE)
        dim = c.integer(fields["dim"], "dim", 1, MAX_SIZE)
        if tokens * dim > MAX_SIZE:
            c.fail(f"tokens * dim = {tokens * dim} is more than {MAX_SIZE} neurons")
        heads = c.integer(fields["heads"], "heads", 1, dim)
        if dim % heads:
            c.fail(f"heads = {heads} must divide dim = {dim} (each head has dim / heads "
                   "channels)")
        inputs = []
        for role in ("q", "k", "v"):
            src = fields[role]
            if not isinstance(src, str) or src not in sources.sizes:
                c.fail(f"{role} {src!r} must be 'input' or the name of an earlier layer")
            if sources.sizes[src] != tokens * dim:
                c.fail(f"{role} '{src}' has {sources.sizes[src]} neurons; it must have "
                       f"tokens * dim = {tokens * dim}")
            if sources.spike_max[src] != 1:
                c.fail(f"{role} '{src}' must be binary (max_spikes 1, or an input with "
                       f"max_value 1); its spikes reach {sources.spike_max[src]}")
            inputs.append(src)
        if len(set(inputs)) != 3:
            c.fail("q, k and v must name three different layers")
        neuron = parse_neuron(c, fields["neuron"])
        return cls(name=fields["name"], inputs=inputs, variant=variant, tokens=tokens,
                   dim=dim, heads=heads, neuron=neuron)

    @property
    def head_dim(self):
        return self.dim // self.heads

    @property
    def shape(self):
        return (self.tokens * self.dim,)

    @property
    def spike_max(self):
        return self.neuron.max_spikes

    @property
    def neurons(self):
        """Neurons with a membrane: ``dim`` (hadamard) or ``tokens * dim`` (linear)."""
        return self.dim if self.variant == "hadamard" else self.tokens * self.dim

    def golden_state(self, batch):
        return np.zeros((batch, self.neurons), np.int64)

    def golden_step(self, x, state):
        return attention_step(self, x, state)

    def core(self, node, graph, options):
        from ..core.attention_core import AttentionCore  # Amaranth only where hardware is built
        return AttentionCore(self, timesteps=graph.timesteps, lanes=options.lanes_for(node.name),
                             burst=options.burst)

    @property
    def synops_per_event(self):
        # linear: a K event adds a row of V into KV, a Q event a row of KV into A (dim /
        # heads counts each); hadamard: a K event adds one V bit into a column counter.
        return self.head_dim if self.variant == "linear" else 1

    @property
    def synapses(self):
        # Additions of a timestep in which every Q, K and V neuron spikes.
        td = self.tokens * self.dim
        return 2 * td * self.head_dim if self.variant == "linear" else td

    def memories(self, core):
        return dict(core.params["memories"])

    def manifest_entry(self, core):
        from ..core.attention_core import CYCLE_MODEL
        return {"variant": self.variant, "tokens": self.tokens, "dim": self.dim,
                "heads": self.heads, "q": self.inputs[0], "k": self.inputs[1],
                "v": self.inputs[2], "neuron": self.neuron.to_dict(), "core": core.params,
                "cycle_model": CYCLE_MODEL[self.variant]}
