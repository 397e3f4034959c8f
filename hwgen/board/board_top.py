"""The tops of a board build: the network behind the host link on the board's UART pins
(:class:`LinkBoardTop`), or the built-in self-test and the two LEDs that show its result
(:class:`BoardTop`). Both read the weights that the memory planner put in SPRAM from the
board's flash at boot (:mod:`hwgen.board.weight_boot`); the fail LED lights when the
flash holds no weight image."""

from amaranth.hdl import Elaboratable, Module, ResetInserter, ResetSignal

from .weight_boot import attach_flash_boot

__all__ = ["BoardTop", "LinkBoardTop"]


def _boot_weights(m, platform, network, clk_freq_hz):
    """The flash boot of ``network``'s SPRAM weights, if it has any; returns the loader
    (or None)."""
    if not network.spram_cores:
        return None
    return attach_flash_boot(m, platform, network, clk_freq_hz)


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
    clk_freq_hz : float, optional
        The design's clock (needed to time the flash reader when weights are in SPRAM).
    """

    design_name = "self_test"       # the submodule that holds the design's memories

    def __init__(self, board, self_test, pll=None, clk_freq_hz=None):
        self._board = board
        self._self_test = self_test
        self._pll = pll
        self._clk_freq_hz = clk_freq_hz

    @property
    def design(self):
        return self._self_test

    def elaborate(self, platform):
        m = Module()
        if self._pll is not None:
            m.submodules.pll = self._pll
        st = self._self_test
        loader = _boot_weights(m, platform, st.network, self._clk_freq_hz)
        # The self-test's timeout counts from its reset: it starts once the weights are in
        # (the boot takes 16 cycles per byte, longer than the timeout of a few samples).
        m.submodules.self_test = st if loader is None else ResetInserter(~loader.done)(st)
        pass_led = platform.request(*self._board.pass_led)
        fail_led = platform.request(*self._board.fail_led)
        boot_error = 0 if loader is None else loader.error
        m.d.comb += [pass_led.o.eq(st.passed), fail_led.o.eq(st.failed | boot_error)]
        return m


class LinkBoardTop(Elaboratable):
    """The network behind the host link (:class:`~hwgen.host_link.top.HostLinkTop`) on a
    board: its ``rx``/``tx`` on the board's UART pins (``board.uart``), the pass LED lit
    while the design runs (out of reset), the fail LED when weights in SPRAM found no
    image in the flash.

    Parameters
    ----------
    board : boards.Board
    link : hwgen.host_link.top.HostLinkTop
    pll : hwgen.board.pll.PllDomain, optional
    clk_freq_hz : float, optional
    """

    design_name = "link"

    def __init__(self, board, link, pll=None, clk_freq_hz=None):
        self._board = board
        self._link = link
        self._pll = pll
        self._clk_freq_hz = clk_freq_hz

    @property
    def design(self):
        return self._link

    def elaborate(self, platform):
        m = Module()
        if self._pll is not None:
            m.submodules.pll = self._pll
        m.submodules.link = link = self._link
        uart = platform.request(*self._board.uart)
        m.d.comb += [link.rx.eq(uart.rx.i), uart.tx.o.eq(link.tx)]
        alive = platform.request(*self._board.pass_led)
        m.d.comb += alive.o.eq(~ResetSignal(allow_reset_less=True))
        loader = _boot_weights(m, platform, link.network, self._clk_freq_hz)
        if loader is not None:
            m.d.comb += platform.request(*self._board.fail_led).o.eq(loader.error)
        return m
