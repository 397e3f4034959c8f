"""The top of a board build: the self-test and the two LEDs that show its result."""

from amaranth.hdl import Elaboratable, Module

__all__ = ["BoardTop"]


class BoardTop(Elaboratable):
    """Drives ``board``'s pass and fail LEDs from ``self_test``
    (:class:`~hwgen.board.self_test.SelfTest`).

    Parameters
    ----------
    board : boards.Board
        Names the LED resources (``pass_led``, ``fail_led``) of the platform.
    self_test : SelfTest
    pll : hwgen.board.pll.PllDomain, optional
        Clocks the design from a PLL instead of the board's oscillator.
    """

    def __init__(self, board, self_test, pll=None):
        self._board = board
        self._self_test = self_test
        self._pll = pll

    def elaborate(self, platform):
        m = Module()
        if self._pll is not None:
            m.submodules.pll = self._pll
        m.submodules.self_test = st = self._self_test
        pass_led = platform.request(*self._board.pass_led)
        fail_led = platform.request(*self._board.fail_led)
        m.d.comb += [pass_led.o.eq(st.passed), fail_led.o.eq(st.failed)]
        return m
