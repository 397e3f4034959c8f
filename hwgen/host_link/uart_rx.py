"""UART receiver, 8N1."""

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out

__all__ = ["UARTReceiver"]


class UARTReceiver(wiring.Component):
    """Receives 8N1 bytes on ``rx``: LSB first, each bit sampled in its middle.

    A falling edge starts a byte; the start bit is sampled again half a bit later (a
    glitch shorter than that is ignored); each data bit is sampled one bit time after the
    previous one; a stop bit read as 0 is a framing error, after which the receiver waits
    for the line to go high (a break) before it looks for the next start bit.

    Parameters
    ----------
    divisor : int
        Clock cycles per bit (``clk_freq / baud``, rounded); at least 4.

    Members
    -------
    rx : In(1)
        The line (idle high); synchronized here (two flip-flops).
    data : Out(8)
        The last byte received.
    valid : Out(1)
        High for one cycle when ``data`` holds a new byte. Nothing waits for the
        consumer: it must take the byte in that cycle.
    error : Out(1)
        High for one cycle on a framing error (no stop bit).
    """

    rx: In(1, init=1)
    data: Out(8)
    valid: Out(1)
    error: Out(1)

    def __init__(self, divisor):
        if divisor < 4:
            raise ValueError(f"the UART needs at least 4 clock cycles per bit, got {divisor}")
        self._divisor = divisor
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        div = self._divisor
        line = Signal(init=1)
        m.submodules.sync = FFSynchronizer(self.rx, line, init=1)
        count = Signal(range(div))
        bit = Signal(range(8))
        shreg = Signal(8)
        m.d.sync += [self.valid.eq(0), self.error.eq(0)]
        with m.If(count != 0):
            m.d.sync += count.eq(count - 1)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(~line):
                    m.d.sync += count.eq(div // 2 - 1)
                    m.next = "START"
            with m.State("START"):
                with m.If(count == 0):
                    with m.If(line):
                        m.next = "IDLE"             # a glitch, not a start bit
                    with m.Else():
                        m.d.sync += [count.eq(div - 1), bit.eq(0)]
                        m.next = "DATA"
            with m.State("DATA"):
                with m.If(count == 0):
                    m.d.sync += [shreg.eq(Cat(shreg[1:], line)), count.eq(div - 1),
                                 bit.eq(bit + 1)]
                    with m.If(bit == 7):
                        m.next = "STOP"
            with m.State("STOP"):
                with m.If(count == 0):
                    with m.If(line):
                        m.d.sync += [self.data.eq(shreg), self.valid.eq(1)]
                        m.next = "IDLE"
                    with m.Else():
                        m.d.sync += self.error.eq(1)
                        m.next = "BREAK"
            with m.State("BREAK"):
                with m.If(line):
                    m.next = "IDLE"
        return m

