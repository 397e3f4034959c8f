"""The tops of a board build: the network behind the host link on the board's UART pins
(:class:`LinkBoardTop`), or the built-in self-test and the two LEDs that show its result
(:class:`BoardTop`). Both read the weights that the memory planner put in SPRAM from the
board's flash at boot (:mod:`hwgen.board.weight_boot`); the fail LED lights when the
flash holds no weight image."""

from amaranth.hdl import Elaboratable, Module, ResetInserter, ResetSignal

from .weight_boot import attach_flash_boot

__all__ = ["BoardTop", "LinkBoardTop"]


class _BoardTopBase(Elaboratable):
    """What both tops share: the board, the design on it (:attr:`design`, its submodule
    :attr:`design_name`), the PLL and the boot of SPRAM weights from the flash."""

    design_name = None              # the submodule that holds the design's memories

    def __init__(self, board, design, pll=None, clk_freq_hz=None):
        self._board = board
        self.design = design
        self._pll = pll
        self._clk_freq_hz = clk_freq_hz

    def _clock_and_boot(self, m, platform):
        """Add the PLL, if any, and the flash boot of the network's SPRAM weights, if it
        has any; return the weight loader (or None)."""
        if self._pll is not None:
            m.submodules.pll = self._pll
        if not self.design.network.spram_cores:
            return None
        return attach_flash_boot(m, platform, self.design.network, self._clk_freq_hz)


class BoardTop(_BoardTopBase):
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

    design_name = "self_test"

    def elaborate(self, platform):
        m = Module()
        st = self.design
        loader = self._clock_and_boot(m, platform)
        # The self-test's timeout counts from its reset: it starts once the weights are in
        # (the boot takes 16 cycles per byte, longer than the timeout of a few samples).
        m.submodules.self_test = st if loader is None else ResetInserter(~loader.done)(st)
        pass_led = platform.request(*self._board.pass_led)
        fail_led = platform.request(*self._board.fail_led)
        boot_error = 0 if loader is None else loader.error
        m.d.comb += [pass_led.o.eq(st.passed), fail_led.o.eq(st.failed | boot_error)]
        return m


class LinkBoardTop(_BoardTopBase):
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

    def elaborate(self, platform):
        m = Module()
        loader = self._clock_and_boot(m, platform)
        m.submodules.link = link = self.design
        uart = platform.request(*self._board.uart)
        m.d.comb += [link.rx.eq(uart.rx.i), uart.tx.o.eq(link.tx)]
        alive = platform.request(*self._board.pass_led)
        m.d.comb += alive.o.eq(~ResetSignal(allow_reset_less=True))
        if loader is not None:
            m.d.comb += platform.request(*self._board.fail_led).o.eq(loader.error)
        return m
