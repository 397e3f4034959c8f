"""UART transmitter, 8N1."""

from amaranth.hdl import Cat, Const, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["UARTTransmitter"]


class UARTTransmitter(wiring.Component):
    """Sends the bytes of ``i_data`` on ``tx``, 8N1, LSB first.

    Parameters
    ----------
    divisor : int
        Clock cycles per bit (``clk_freq / baud``, rounded).

    Members
    -------
    i_data : In(stream.Signature(8))
        Taken when the previous byte's stop bit is over: a byte every ``10 * divisor + 1``
        cycles at most.
    tx : Out(1)
        The line (idle high), from a register.
    """

    def __init__(self, divisor):
        if divisor < 1:
            raise ValueError(f"the UART needs at least 1 clock cycle per bit, got {divisor}")
        self._divisor = divisor
        super().__init__({"i_data": In(stream.Signature(8)), "tx": Out(1, init=1)})

    def elaborate(self, platform):
        m = Module()
        div = self._divisor
        shreg = Signal(10, init=0x3FF)          # start, 8 data bits, stop; LSB goes first
        bits = Signal(range(11))                # bits left to send
        count = Signal(range(div))
        m.d.comb += [self.tx.eq(shreg[0]), self.i_data.ready.eq(bits == 0)]
        with m.If(bits == 0):
            with m.If(self.i_data.valid):
                m.d.sync += [shreg.eq(Cat(Const(0, 1), self.i_data.payload, Const(1, 1))),
                             bits.eq(10), count.eq(div - 1)]
        with m.Elif(count == 0):
            m.d.sync += [shreg.eq(Cat(shreg[1:], Const(1, 1))), bits.eq(bits - 1),
                         count.eq(div - 1)]
        with m.Else():
            m.d.sync += count.eq(count - 1)
        return m
