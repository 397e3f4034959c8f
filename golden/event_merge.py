"""Golden EventMerge: several event streams into one address space, per timestep."""

__all__ = ["merge_events"]


def merge_events(sizes, inputs):
    """The events the merge outputs in each timestep.

    Parameters
    ----------
    sizes : list of int
        Address count of each input; input ``k`` lands at ``sum(sizes[:k]) ..``.
    inputs : list (one per input) of list (one per timestep) of (addr, value)
        Every input's events between its ticks; all inputs have the same timestep count.

    Returns
    -------
    list (one per timestep) of (addr, value)
        Events in any order within a timestep (the merge interleaves its inputs freely).
        An address at or beyond its input's size is dropped: offset, it would land on the
        next input's axons.
    """
    steps = {len(events) for events in inputs}
    if len(steps) != 1:
        raise ValueError(f"inputs disagree on the timestep count: {sorted(steps)}")
    offsets = [sum(sizes[:k]) for k in range(len(sizes))]
    return [[(offset + addr, value)
             for size, offset, events in zip(sizes, offsets, inputs, strict=True)
             for addr, value in events[t] if addr < size]
            for t in range(steps.pop())]
