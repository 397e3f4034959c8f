"""Golden EventFIFO: the output stream is the input stream, in the same order."""

__all__ = ["fifo_events"]


def fifo_events(events):
    """The events the FIFO outputs in each timestep.

    Parameters
    ----------
    events : list (one per timestep) of (addr, value)
        The input stream's events between its ticks, in the order they went in.

    Returns
    -------
    list (one per timestep) of (addr, value)
        The same events in the same order: a FIFO neither reorders nor drops.
    """
    return [list(step) for step in events]
