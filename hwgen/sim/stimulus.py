"""The input event words of a co-simulation, shared by both engines.

Both benches drive the top input with the same words, so that a difference between the
engines can only come from the design or the bench, never from the stimulus.
"""

import numpy as np

from ..aer import EventFieldError, layout_fields

__all__ = ["input_words"]


def input_words(x, layout, seed=0, junk=0.0):
    """``uint64`` event words of inputs ``x`` (``[N, T, size]``) in ``layout``.

    Every timestep sends its nonzero inputs in a random order (from ``seed``), then a
    tick. With ``junk`` > 0, ``int(junk * size)`` events per timestep at addresses the
    address field holds beyond ``size`` are mixed in: the design must drop them.
    """
    fields = layout_fields(layout)
    size = x.shape[-1]
    vmax = (1 << fields["value"]["width"]) - 1
    if x.size and (x.min() < 0 or x.max() > vmax):
        raise EventFieldError(f"input values must lie in [0, {vmax}], found "
                              f"{x.min()} .. {x.max()}")
    addr_limit = 1 << fields["addr"]["width"]
    per_junk = int(junk * size) if addr_limit > size else 0
    rng = np.random.default_rng(seed)
    tick = np.uint64(1) << np.uint64(fields["tick"]["offset"])
    value_shift = np.uint64(fields["value"]["offset"])
    addr_shift = np.uint64(fields["addr"]["offset"])
    steps = []
    for step in x.reshape(-1, size):
        addr = np.flatnonzero(step)
        value = step[addr]
        if per_junk:
            addr = np.concatenate([addr, rng.integers(size, addr_limit, per_junk)])
            value = np.concatenate([value, np.ones(per_junk, np.int64)])
        order = rng.permutation(len(addr))
        words = ((addr[order].astype(np.uint64) << addr_shift)
                 | (value[order].astype(np.uint64) << value_shift))
        steps += [words, np.array([tick], np.uint64)]
    return np.concatenate(steps) if steps else np.zeros(0, np.uint64)
