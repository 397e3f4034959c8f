"""hwgen.aer: one definition of the event layout, packing that refuses what would wrap."""

import pytest

from hwgen.aer import Event, EventFieldError, event_layout, layout_fields, pack, unpack


def test_layout_widths_and_order():
    layout = event_layout(64, 15)           # addresses 0..63, values 0..15
    assert layout_fields(layout) == {"addr": {"offset": 0, "width": 6},
                                     "value": {"offset": 6, "width": 4},
                                     "tick": {"offset": 10, "width": 1}}
    assert event_layout(1, 1).size == 3     # every field at least one bit


@pytest.mark.parametrize("addr,value,tick", [(0, 0, 0), (63, 15, 0), (17, 9, 0), (0, 0, 1),
                                             (5, 3, 1)])
def test_pack_unpack_round_trip(addr, value, tick):
    layout = event_layout(64, 15)
    bits = pack(layout, addr, value, tick)
    assert bits == addr | value << 6 | tick << 10
    assert unpack(layout, bits) == Event(addr, value, tick)


@pytest.mark.parametrize("fields,phrase", [
    ({"value": 16}, "field 'value' = 16 does not fit in 4 bit(s) (0 .. 15)"),
    ({"addr": 64}, "field 'addr' = 64 does not fit in 6 bit(s)"),
    ({"addr": -1}, "field 'addr' = -1"),
    ({"tick": 2}, "field 'tick' = 2"),
])
def test_pack_refuses_what_would_wrap(fields, phrase):
    with pytest.raises(EventFieldError, match=phrase.replace("(", r"\(").replace(")", r"\)")):
        pack(event_layout(64, 15), **fields)


def test_an_address_inside_the_field_but_beyond_the_size_is_legal():
    """Input size 6 leaves addresses 6 and 7 in a 3-bit field: the destination drops them,
    so they may be sent (the co-simulation does, to test exactly that)."""
    layout = event_layout(6, 1)
    assert unpack(layout, pack(layout, 7, 1)) == Event(7, 1, 0)
