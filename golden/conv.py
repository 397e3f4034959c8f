"""Golden feature-map layers (docs/conv.md, extending DESIGN.md section 4): 2-D convolution
into neurons (optionally spike sparse: SSC) and sum pooling, vectorized over the batch."""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .neuron import neuron_step

__all__ = ["windows", "conv2d_current", "conv2d_step", "sumpool2d_step", "ssc_mask"]


def windows(window, x):
    """``x`` (``[batch, C*H*W]``) as the input window of every output position:
    ``[batch, C, H_out, W_out, kh, kw]``, zero padding included."""
    c, h, w = window.in_shape
    (kh, kw), (sy, sx), (py, px) = window.kernel, window.stride, window.padding
    ho, wo = window.out_hw
    fmap = np.asarray(x, dtype=np.int64).reshape(-1, c, h, w)
    padded = np.pad(fmap, ((0, 0), (0, 0), (py, py), (px, px)))
    view = sliding_window_view(padded, (kh, kw), axis=(2, 3))
    return view[:, :, :ho * sy:sy, :wo * sx:sx][:, :, :ho, :wo]


def ssc_mask(window, x):
    """Spike sparse convolution: ``[batch, H_out, W_out]``, 1 where the centre input
    position of the output's window, ``(oy*sy - py + (kh-1)//2, ox*sx - px + (kw-1)//2)``,
    has a spike in any channel (0 where it lies in the padding)."""
    kh, kw = window.kernel
    win = windows(window, x)
    centre = win[..., (kh - 1) // 2, (kw - 1) // 2]          # [batch, C, H_out, W_out]
    return (centre != 0).any(axis=1).astype(np.int64)


def conv2d_current(layer, x):
    """``I[co, oy, ox] = bias[co] + sum W[co, ci, ky, kx] * x[ci, oy*sy - py + ky, ...]``,
    zeroed where SSC masks the output: ``[batch, C_out * H_out * W_out]``."""
    win = windows(layer.window, x)
    current = np.einsum("bchwij,ocij->bohw", win, layer.weights, optimize=True)
    current = current + layer.bias[None, :, None, None]
    if layer.sparse:
        current = current * ssc_mask(layer.window, x)[:, None]
    return current.reshape(current.shape[0], -1)


def conv2d_step(layer, x, v):
    """One timestep of a conv2d layer: its current into its neurons."""
    return neuron_step(layer.neuron, v, conv2d_current(layer, x))


def sumpool2d_step(layer, x):
    """One timestep of a sumpool2d layer: each output is the sum of its window's spikes
    (no neurons, no state)."""
    win = windows(layer.window, x)
    return win.sum(axis=(-2, -1)).reshape(win.shape[0], -1)
