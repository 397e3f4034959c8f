"""Golden routing model: where every event of a router fabric goes, per timestep.

The fabric (``hwgen.fabric``) moves packets ``(src, addr, value, tick)``; a source's
timestep is the number of ticks it has sent before. Events of one timestep may arrive in
any order (DESIGN.md section 5), so what is compared is the multiset of each timestep.
"""

from collections import Counter

__all__ = ["LINK", "router_outputs", "fabric_deliveries"]

LINK = "link"


def _by_timestep(packets):
    """``{src: [Counter((addr, value)) per timestep]}`` of a packet sequence; a timestep
    exists once its tick has been sent."""
    out, current = {}, {}
    for src, addr, value, tick in packets:
        if tick:
            out.setdefault(src, []).append(current.pop(src, Counter()))
        else:
            current.setdefault(src, Counter())[(addr, value)] += 1
    return out


def router_outputs(table, outputs, inputs):
    """What one router sends out of each output port.

    Parameters
    ----------
    table : list of sets
        ``table[src]``: the output ports of source ``src``'s packets.
    outputs : list
        Per output port: ``LINK``, or the set of source ids a delivery port expects.
    inputs : list of lists
        Per input port, its packets ``(src, addr, value, tick)`` in order.

    Returns a list, per output port:

    - ``LINK``: ``{src: [packet, ...]}``, the exact sequence of each source's packets
      routed there (a link keeps each source's order: ticks stay between their events);
    - delivery port: ``[Counter((src, addr, value)) per timestep]``, followed in the
      stream by exactly one tick each; a timestep is complete once every expected source
      has sent its tick.
    """
    per_src = {}
    for port in inputs:
        for packet in port:
            per_src.setdefault(packet[0], []).append(tuple(packet))
    result = []
    for j, kind in enumerate(outputs):
        routed = {src: seq for src, seq in per_src.items() if j in table[src]}
        if kind == LINK:
            result.append(routed)
            continue
        steps = {src: _by_timestep(seq).get(src, []) for src, seq in routed.items()}
        count = min((len(steps.get(src, [])) for src in kind), default=0)
        timesteps = []
        for t in range(count):
            merged = Counter()
            for src, seq in steps.items():
                for (addr, value), n in seq[t].items():
                    merged[(src, addr, value)] += n
            timesteps.append(merged)
        result.append(timesteps)
    return result


def fabric_deliveries(routes, sources):
    """What each destination of a fabric receives, per timestep.

    ``routes``: ``(src, dest, base)`` triples (``hwgen.fabric.Route``); ``sources``:
    ``{src: [[(addr, value), ...] per timestep]}``. Returns ``{dest: [Counter((base +
    addr, value)) per timestep]}``: every event of a source reaches each of its
    destinations exactly once, at its base, in the timestep it was sent.
    """
    out = {}
    for src, dest, base in routes:
        steps = out.setdefault(dest, [])
        for t, events in enumerate(sources[src]):
            while len(steps) <= t:
                steps.append(Counter())
            for addr, value in events:
                steps[t][(base + addr, value)] += 1
    return out
