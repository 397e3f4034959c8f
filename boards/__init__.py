"""Boards hwgen builds for: each a :class:`Board` naming its amaranth-boards platform,
its clock and the LEDs the self-test drives."""

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Board", "BOARDS", "get_board"]


@dataclass(frozen=True)
class Board:
    name: str
    description: str
    platform: Callable[[], object]     # builds the amaranth platform (imported lazily)
    pass_led: tuple[str, int]          # resource (name, number) lit when the self-test passes
    fail_led: tuple[str, int]          # lit when it fails
    device: str                        # nextpnr's name for the FPGA, for reports


def _icebreaker():
    from .icebreaker import platform
    return platform()


def _ulx3s_85f():
    from .ulx3s import platform
    return platform()


BOARDS = {
    "icebreaker": Board("icebreaker", "1BitSquared iCEBreaker (iCE40 UP5K, 12 MHz)",
                        _icebreaker, ("led_g", 0), ("led_r", 0), "iCE40UP5K"),
    "ulx3s-85f": Board("ulx3s-85f", "Radiona ULX3S (ECP5 LFE5U-85F, 25 MHz)",
                       _ulx3s_85f, ("led", 0), ("led", 7), "LFE5U-85F"),
}


def get_board(name):
    from hwgen.errors import HwgenError
    if name not in BOARDS:
        raise HwgenError(f"unknown board '{name}' (known: {', '.join(BOARDS)})")
    return BOARDS[name]
