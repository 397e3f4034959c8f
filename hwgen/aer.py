"""The AER event: the payload of every stream between hwgen blocks (DESIGN.md section 5).

One layout is the source of truth for the RTL, the testbenches and the host driver: pack
and unpack through it (:func:`pack_event`, :func:`unpack_event`), never by hand-written bit
offsets.
"""

from amaranth.lib import data, stream

__all__ = ["event_layout", "event_signature", "pack_event", "unpack_event", "bits_for",
           "layout_fields"]


def bits_for(max_value):
    """Bits of an unsigned field that holds ``0 .. max_value`` (at least 1)."""
    return max(1, int(max_value).bit_length())


def event_layout(addr_count, max_value):
    """Layout of events addressing ``addr_count`` axons with values ``0 .. max_value``.

    Bit order (LSB first): ``addr``, ``value``, ``tick``.
    """
    return data.StructLayout({
        "addr": bits_for(addr_count - 1),
        "value": bits_for(max_value),
        "tick": 1,
    })


def event_signature(addr_count, max_value):
    return stream.Signature(event_layout(addr_count, max_value))


def pack_event(layout, addr=0, value=0, tick=0):
    """Bits (an ``int``) of one event."""
    return layout.const({"addr": addr, "value": value, "tick": tick}).as_value().value


def unpack_event(layout, bits):
    """``(addr, value, tick)`` of an event's bits, through the layout's field offsets."""
    out = []
    for name in ("addr", "value", "tick"):
        f = layout[name]
        out.append((int(bits) >> f.offset) & ((1 << f.width) - 1))
    return tuple(out)


def layout_fields(layout):
    """The bit layout as a JSON-friendly dict: ``{field: {"offset": o, "width": w}}``."""
    return {name: {"offset": f.offset, "width": f.width} for name, f in layout}
