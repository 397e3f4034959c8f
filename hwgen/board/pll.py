"""A PLL that raises a board's clock (``hwgen build --clock MHz``): the ``sync`` domain
from the board's oscillator through the FPGA's PLL, held in reset until the PLL locks.

The divider search follows the documented limits of each PLL, as ``icepll`` and
``ecppll`` (from the IceStorm and Trellis projects) search them:

- iCE40 ``SB_PLL40_PAD``, simple feedback: ``f_out = f_in * (DIVF + 1) / ((DIVR + 1) *
  2^DIVQ)``, the phase detector ``f_in / (DIVR + 1)`` in 10-133 MHz, the VCO ``f_in * (DIVF
  + 1) / (DIVR + 1)`` in 533-1066 MHz, ``f_out`` in 16-275 MHz (iCE40 sysCLOCK PLL guide).
- ECP5 ``EHXPLLL``, feedback from CLKOP: ``f_out = f_in * CLKFB_DIV / CLKI_DIV``, the
  VCO ``f_out * CLKOP_DIV`` in 400-800 MHz, the phase detector ``f_in / CLKI_DIV`` in
  3.125-400 MHz, ``f_out`` in 3.125-400 MHz (ECP5 sysCLOCK PLL guide, TN1263).
"""

from amaranth.hdl import ClockDomain, ClockSignal, Elaboratable, Instance, Module, Signal

from ..errors import HwgenError

__all__ = ["PllError", "ice40_pll", "ecp5_pll", "PllDomain"]


class PllError(HwgenError):
    """No PLL setting gives the asked clock."""


def _ice40_filter_range(f_pfd):
    """The loop filter setting for a phase-detector frequency (MHz), as icepll sets it."""
    return 1 + sum(f_pfd >= edge for edge in (17, 26, 44, 66, 101))


def ice40_pll(f_in_mhz, f_out_mhz):
    """The ``SB_PLL40_PAD`` setting closest to ``f_out_mhz`` without exceeding it:
    ``{"DIVR", "DIVF", "DIVQ", "FILTER_RANGE", "mhz"}``."""
    best = None
    for divr in range(16):
        f_pfd = f_in_mhz / (divr + 1)
        if not 10 <= f_pfd <= 133:
            continue
        for divf in range(128):
            f_vco = f_pfd * (divf + 1)
            if not 533 <= f_vco <= 1066:
                continue
            for divq in range(1, 7):
                f_out = f_vco / (1 << divq)
                if 16 <= f_out <= min(f_out_mhz, 275) and (best is None or f_out > best["mhz"]):
                    best = {"DIVR": divr, "DIVF": divf, "DIVQ": divq,
                            "FILTER_RANGE": _ice40_filter_range(f_pfd), "mhz": f_out}
    if best is None:
        raise PllError(f"the iCE40 PLL cannot make {f_out_mhz:g} MHz from {f_in_mhz:g} MHz "
                       "(its output spans 16-275 MHz)")
    return best


def ecp5_pll(f_in_mhz, f_out_mhz):
    """The ``EHXPLLL`` setting closest to ``f_out_mhz`` without exceeding it:
    ``{"CLKI_DIV", "CLKFB_DIV", "CLKOP_DIV", "mhz"}``."""
    best = None
    for clki_div in range(1, 129):
        f_pfd = f_in_mhz / clki_div
        if not 3.125 <= f_pfd <= 400:
            continue
        for clkfb_div in range(1, 81):
            f_out = f_pfd * clkfb_div
            if not 3.125 <= f_out <= min(f_out_mhz, 400):
                continue
            # The output divider that puts the VCO nearest the middle of its range.
            divs = [d for d in range(1, 129) if 400 <= f_out * d <= 800]
            if divs and (best is None or f_out > best["mhz"]):
                best = {"CLKI_DIV": clki_div, "CLKFB_DIV": clkfb_div,
                        "CLKOP_DIV": min(divs, key=lambda d: abs(f_out * d - 600)),
                        "mhz": f_out}
    if best is None:
        raise PllError(f"the ECP5 PLL cannot make {f_out_mhz:g} MHz from {f_in_mhz:g} MHz "
                       "(its output spans 3.125-400 MHz)")
    return best


class PllDomain(Elaboratable):
    """Creates the ``sync`` domain at ``setting["mhz"]`` (from :func:`ice40_pll` or
    :func:`ecp5_pll`) out of the platform's default clock, and holds it in reset until the
    PLL locks (and, on iCE40, 16 us longer: its block RAMs read zeros for a few us after
    configuration, which the platform's own power-on reset otherwise covers)."""

    def __init__(self, family, setting):
        self._family = family
        self._setting = setting

    def elaborate(self, platform):
        m = Module()
        s = self._setting
        m.domains.sync = cd = ClockDomain("sync")
        m.domains.pll_por = por = ClockDomain("pll_por", reset_less=True)
        lock = Signal()
        if self._family == "ice40":
            pad = platform.request(platform.default_clk, dir="-")
            m.submodules.pll = Instance(
                "SB_PLL40_PAD", p_FEEDBACK_PATH="SIMPLE", p_DIVR=s["DIVR"], p_DIVF=s["DIVF"],
                p_DIVQ=s["DIVQ"], p_FILTER_RANGE=s["FILTER_RANGE"],
                i_PACKAGEPIN=pad.io, i_RESETB=1, i_BYPASS=0,
                o_PLLOUTGLOBAL=cd.clk, o_LOCK=lock)
        else:
            clk = platform.request(platform.default_clk)
            m.submodules.pll = Instance(
                "EHXPLLL", a_FREQUENCY_PIN_CLKI=str(platform.default_clk_frequency / 1e6),
                a_FREQUENCY_PIN_CLKOP=f"{s['mhz']:.6g}", a_ICP_CURRENT="12",
                a_LPF_RESISTOR="8", a_MFG_ENABLE_FILTEROPAMP="1", a_MFG_GMCREF_SEL="2",
                p_PLLRST_ENA="DISABLED", p_INTFB_WAKE="DISABLED", p_STDBY_ENABLE="DISABLED",
                p_DPHASE_SOURCE="DISABLED", p_OUTDIVIDER_MUXA="DIVA", p_CLKOP_ENABLE="ENABLED",
                p_CLKI_DIV=s["CLKI_DIV"], p_CLKFB_DIV=s["CLKFB_DIV"],
                p_CLKOP_DIV=s["CLKOP_DIV"], p_CLKOP_CPHASE=s["CLKOP_DIV"] - 1,
                p_CLKOP_FPHASE=0, p_FEEDBK_PATH="CLKOP",
                i_RST=0, i_STDBY=0, i_CLKI=clk.i, i_CLKFB=cd.clk, o_CLKOP=cd.clk,
                i_PHASESEL0=0, i_PHASESEL1=0, i_PHASEDIR=1, i_PHASESTEP=1,
                i_PHASELOADREG=1, i_PLLWAKESYNC=0, i_ENCLKOP=0, o_LOCK=lock)
        platform.add_clock_constraint(cd.clk, s["mhz"] * 1e6)
        # Reset until lock, then a count of 16 us at the new clock (a counter that only
        # counts up: flip-flops start at zero after configuration).
        m.d.comb += por.clk.eq(ClockSignal("sync"))
        delay = int(16 * s["mhz"]) + 1
        count = Signal(range(delay + 1))
        with m.If(~lock):
            m.d.pll_por += count.eq(0)
        with m.Elif(count != delay):
            m.d.pll_por += count.eq(count + 1)
        m.d.comb += cd.rst.eq(count != delay)
        return m
