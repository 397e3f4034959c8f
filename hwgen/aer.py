"""The AER event: the payload of every stream between hwgen blocks (DESIGN.md section 5).

One definition, :func:`event_layout`, is the source of truth for the RTL, the testbenches
and the host driver. Events become bits with :func:`pack` and bits become events with
:func:`unpack`, both through the layout: never by hand-written bit offsets.
"""

from typing import NamedTuple

from amaranth.lib import data, stream

from .errors import HwgenError
from .widths import bits_for

__all__ = ["Event", "EventFieldError", "bits_for", "event_layout", "event_signature",
           "layout_fields", "pack", "packet_layout", "unpack"]


class EventFieldError(HwgenError, ValueError):
    """A value does not fit the event field it is packed into (it would wrap silently)."""


class Event(NamedTuple):
    addr: int
    value: int
    tick: int


def event_layout(addr_count, max_value):
    """Layout of events addressing ``addr_count`` axons with values ``0 .. max_value``.

    Bit order (LSB first): ``addr``, ``value``, ``tick``.
    """
    return data.StructLayout({
        "addr": bits_for(addr_count - 1),
        "value": bits_for(max_value),
        "tick": 1,
    })


def packet_layout(sources, addr_count, max_value):
    """Layout of a routed packet (:mod:`hwgen.fabric`): an event of source ``src`` (one
    of ``sources``) with the source's own neuron address. Bit order (LSB first):
    ``addr``, ``value``, ``tick``, ``src``.
    """
    return data.StructLayout({
        "addr": bits_for(addr_count - 1),
        "value": bits_for(max_value),
        "tick": 1,
        "src": bits_for(sources - 1),
    })


def event_signature(addr_count, max_value):
    return stream.Signature(event_layout(addr_count, max_value))


def pack(layout, addr=0, value=0, tick=0):
    """Bits (an ``int``) of one event.

    Raises :class:`EventFieldError` when a field does not fit its width: ``value 16`` in a
    4-bit field would become 0, and an address too large would land on another axon.
    (An address inside the field but beyond the destination's size is legal: the
    destination drops it.)
    """
    fields = {"addr": int(addr), "value": int(value), "tick": int(tick)}
    for name, v in fields.items():
        width = layout[name].width
        if not 0 <= v < 1 << width:
            raise EventFieldError(f"event field '{name}' = {v} does not fit in {width} "
                                  f"bit(s) (0 .. {(1 << width) - 1})")
    return layout.const(fields).as_bits()


def unpack(layout, bits):
    """The :class:`Event` held in ``bits``, read through the layout."""
    view = layout.from_bits(int(bits))
    return Event(int(view.addr), int(view.value), int(view.tick))


def layout_fields(layout):
    """The bit layout as a JSON-friendly dict: ``{field: {"offset": o, "width": w}}``."""
    return {name: {"offset": f.offset, "width": f.width} for name, f in layout}
