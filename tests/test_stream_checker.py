"""The stream protocol checker (hwgen.sim.stream_checker) on hand-made cycle traces."""

from hwgen.aer import event_layout, pack
from hwgen.sim.stream_checker import StreamChecker

LAYOUT = event_layout(8, 3)
EV = pack(LAYOUT, 5, 2)
EV2 = pack(LAYOUT, 1, 1)
TICK = pack(LAYOUT, tick=1)


def run(trace, ticks=1, addr_count=None):
    """``trace``: (valid, ready, payload) per cycle. Returns (taken events, error)."""
    checker = StreamChecker("s", LAYOUT, ticks, addr_count)
    taken = [checker.sample(cycle, *sample) for cycle, sample in enumerate(trace)]
    return [e for e in taken if e is not None], checker.finish(len(trace))


def test_a_clean_stream_passes_and_yields_its_events():
    taken, error = run([(1, 0, EV), (1, 1, EV), (0, 1, 0), (1, 1, EV2), (1, 1, TICK)])
    assert error is None
    assert [(e.addr, e.value, e.tick) for e in taken] == [(5, 2, 0), (1, 1, 0), (0, 0, 1)]


def test_payload_change_while_stalled_is_an_error():
    _, error = run([(1, 0, EV), (1, 1, EV2), (1, 1, TICK)])
    assert error == ("stream 's', cycle 1: payload changed from 0x15 to 0x9 while the "
                     "event waited for ready")


def test_valid_falling_while_stalled_is_an_error():
    _, error = run([(1, 0, EV), (0, 1, 0), (1, 1, TICK)])
    assert "cycle 1: valid fell before the event was taken" in error


def test_an_event_after_the_last_tick_is_an_error():
    _, error = run([(1, 1, TICK), (1, 1, EV)])
    assert "an event after the last tick" in error


def test_a_missing_or_extra_tick_is_an_error():
    assert "1 ticks crossed, 2 expected" in run([(1, 1, TICK)], ticks=2)[1]
    assert "an event after the last tick" in run([(1, 1, TICK), (1, 1, TICK)])[1]


def test_the_first_error_is_kept():
    _, error = run([(1, 0, EV), (0, 0, 0), (1, 0, EV), (1, 1, EV2)], ticks=1)
    assert "cycle 1: valid fell" in error


def test_an_address_beyond_the_stream_is_an_error_where_it_promises_range():
    trace = [(1, 1, EV), (1, 1, TICK)]          # address 5
    assert run(trace, addr_count=6)[1] is None
    assert run(trace, addr_count=5)[1] == ("stream 's', cycle 0: address 5 out of range "
                                           "(the stream carries 5 addresses)")
    assert run(trace)[1] is None                # the top input: its consumers drop it
