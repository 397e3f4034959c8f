"""Golden EventBroadcast: every output carries the input stream unchanged."""

__all__ = ["broadcast_events"]


def broadcast_events(events, count):
    """The events of each of the ``count`` outputs, per timestep.

    Parameters
    ----------
    events : list (one per timestep) of (addr, value)
        The input stream's events between its ticks.
    count : int
        Outputs of the broadcast.

    Returns
    -------
    list (one per output) of list (one per timestep) of (addr, value)
        Each a copy of ``events``: nothing dropped, duplicated or changed.
    """
    return [[list(step) for step in events] for _ in range(count)]
