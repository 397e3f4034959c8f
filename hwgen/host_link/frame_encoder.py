"""Frame encoder: the network's output events and the link's answers become frames."""

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .crc8 import crc8_next
from .protocol import SYNC, VERSION, BoardType, payload_bytes

__all__ = ["FrameEncoder"]


class FrameEncoder(wiring.Component):
    """Sends frames (``docs/protocol.md``) to the UART transmitter, one at a time, in this
    order of priority when several wait: ``RESET_ACK`` (after ``net_reset``), ``ERROR``
    (the first error since the last one was sent; later ones are dropped until then),
    ``IDENT`` (after ``id_request``), ``CREDIT`` (once ``taken`` is a quarter of the FIFO
    ahead of the last count sent), then the
    network's output events. An event is taken from ``i_events`` only when its frame can
    start: the network stalls while the UART is busy. A tick's ``addr`` carries the mark of
    the end of an inference: 1 on every ``T``-th tick since reset, else 0.

    Parameters
    ----------
    layout : StructLayout
        The network output's event layout.
    timesteps : int
        ``T``.
    ident : int
        The 32-bit model identifier.
    depth : int
        The decoder's FIFO depth (the host's credits), reported in ``IDENT``.

    Members
    -------
    i_events : In(stream.Signature(layout))
    net_reset, id_request, error : In(1)
        Strobes of the decoder (``net_reset`` also clears this block's counters and any
        error waiting to be sent: what came before the reset is void).
    error_code : In(8)
    taken : In(8)
        The decoder's count of events given to the network.
    o_bytes : Out(stream.Signature(8))
    """

    def __init__(self, layout, timesteps, ident, depth):
        self._layout, self._timesteps = layout, timesteps
        self._ident, self._depth = ident, depth
        super().__init__({
            "i_events": In(stream.Signature(layout)),
            "net_reset": In(1), "id_request": In(1), "error": In(1), "error_code": In(8),
            "taken": In(8),
            "o_bytes": Out(stream.Signature(8)),
        })

    def elaborate(self, platform):
        m = Module()
        layout = self._layout
        ev_bytes = payload_bytes(layout)
        width = 8 * max(6, ev_bytes)
        ack_pending, id_pending, err_pending = Signal(), Signal(), Signal()
        err_code = Signal(8)
        reported = Signal(8)                  # the last count of ``taken`` sent
        ostep = Signal(range(self._timesteps))
        ftype = Signal(8)
        shreg = Signal(width)
        left = Signal(range(width // 8 + 1))
        crc = Signal(8)

        with m.If(self.id_request):
            m.d.sync += id_pending.eq(1)
        with m.If(self.error & ~err_pending):
            m.d.sync += [err_pending.eq(1), err_code.eq(self.error_code)]

        ahead = Signal(8)
        m.d.comb += ahead.eq(self.taken - reported)
        credit_due = ahead >= max(1, self._depth // 4)

        def start(kind, payload, length):
            m.d.sync += [ftype.eq(kind), shreg.eq(payload), left.eq(length)]
            m.next = "SYNC"

        ev = self.i_events.payload
        with m.FSM():
            with m.State("IDLE"):
                with m.If(ack_pending):
                    m.d.sync += ack_pending.eq(0)
                    start(BoardType.RESET_ACK, 0, 0)
                with m.Elif(err_pending):
                    m.d.sync += err_pending.eq(0)
                    start(BoardType.ERROR, err_code, 1)
                with m.Elif(id_pending):
                    m.d.sync += id_pending.eq(0)
                    start(BoardType.IDENT,
                          Cat(Const(VERSION, 8), Const(self._depth, 8),
                              Const(self._ident, 32)), 6)
                with m.Elif(credit_due):
                    m.d.sync += reported.eq(self.taken)
                    start(BoardType.CREDIT, self.taken, 1)
                with m.Elif(self.i_events.valid):
                    m.d.comb += self.i_events.ready.eq(1)
                    last = ostep == self._timesteps - 1
                    with m.If(ev.tick):
                        m.d.sync += ostep.eq(Mux(last, 0, ostep + 1))
                        marked = Mux(last, layout.const({"tick": 1, "addr": 1}).as_bits(),
                                     layout.const({"tick": 1}).as_bits())
                        start(BoardType.EVENT, marked, ev_bytes)
                    with m.Else():
                        start(BoardType.EVENT, ev.as_value(), ev_bytes)
            with m.State("SYNC"):
                m.d.comb += [self.o_bytes.valid.eq(1), self.o_bytes.payload.eq(SYNC)]
                with m.If(self.o_bytes.ready):
                    m.next = "TYPE"
            with m.State("TYPE"):
                m.d.comb += [self.o_bytes.valid.eq(1), self.o_bytes.payload.eq(ftype)]
                with m.If(self.o_bytes.ready):
                    m.d.sync += crc.eq(crc8_next(Const(0, 8), ftype))
                    with m.If(left == 0):
                        m.next = "CRC"
                    with m.Else():
                        m.next = "PAYLOAD"
            with m.State("PAYLOAD"):
                m.d.comb += [self.o_bytes.valid.eq(1), self.o_bytes.payload.eq(shreg[:8])]
                with m.If(self.o_bytes.ready):
                    m.d.sync += [shreg.eq(shreg >> 8), crc.eq(crc8_next(crc, shreg[:8])),
                                 left.eq(left - 1)]
                    with m.If(left == 1):
                        m.next = "CRC"
            with m.State("CRC"):
                m.d.comb += [self.o_bytes.valid.eq(1), self.o_bytes.payload.eq(crc)]
                with m.If(self.o_bytes.ready):
                    m.next = "IDLE"

        # A reset voids what came before it: it wins over everything above.
        with m.If(self.net_reset):
            m.d.sync += [ack_pending.eq(1), id_pending.eq(0), err_pending.eq(0),
                         reported.eq(0), ostep.eq(0)]
        return m
