"""Golden spike-driven self-attention (DESIGN.md section 4), vectorized over a batch.

The layer's concatenated input is ``[Q | K | V]``, each ``tokens * dim`` binary spikes,
neuron ``n * dim + c`` being token ``n``, channel ``c``; channels form ``heads`` equal
groups. Only sums of 0/1 products (counts) appear: the hardware adds and masks.
"""

import numpy as np

from .neuron import neuron_step

__all__ = ["attention_step", "split_qkv"]


def split_qkv(layer, x):
    """``x [batch, 3 * tokens * dim]`` -> Q, K, V, each ``[batch, tokens, heads, dim/heads]``."""
    shape = (x.shape[0], layer.tokens, layer.heads, layer.dim // layer.heads)
    td = layer.tokens * layer.dim
    return tuple(x[:, k * td:(k + 1) * td].reshape(shape) for k in range(3))


def attention_step(layer, x, v):
    """One timestep of an attention layer for a batch.

    Parameters
    ----------
    layer : hwgen.layers.attention.AttentionLayer
    x : int64 array [batch, 3 * tokens * dim]
        ``[Q | K | V]`` spikes of this timestep.
    v : int64 array
        Membrane state: ``[batch, dim]`` (hadamard) or ``[batch, tokens * dim]`` (linear).

    Returns
    -------
    (spikes [batch, tokens * dim], v_next)
    """
    q, k, vv = split_qkv(layer, np.asarray(x, dtype=np.int64))
    batch = x.shape[0]
    if layer.variant == "hadamard":
        # a[c] = sum_n K[n,c] V[n,c]; m = neuron(a); out[n,c] = Q[n,c] m[c]
        a = (k * vv).sum(axis=1).reshape(batch, layer.dim)
        m, v_next = neuron_step(layer.neuron, v, a)
        out = q.reshape(batch, layer.tokens, layer.dim) * m[:, None, :]
        return out.reshape(batch, -1), v_next
    # linear: KV[c1,c2] = sum_n K[n,c1] V[n,c2] within a head; A[n,c2] = sum_c1 Q[n,c1] KV
    kv = np.einsum("bnhi,bnhj->bhij", k, vv)
    a = np.einsum("bnhi,bhij->bnhj", q, kv).reshape(batch, -1)
    return neuron_step(layer.neuron, v, a)
