"""Frame decoder: the host's bytes become input events, resets and identifier requests."""

from amaranth.hdl import Cat, Module, Mux, ResetInserter, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

from .crc8 import crc8_next
from .protocol import SYNC, ErrorCode, HostType, payload_bytes

__all__ = ["FrameDecoder"]


class FrameDecoder(wiring.Component):
    """Reads the frames of ``docs/protocol.md`` from the UART receiver's bytes.

    It hunts for ``SYNC``; takes the type (another ``SYNC`` there starts the frame again),
    the payload of that type's fixed length and the CRC. A good ``EVENT`` frame's event
    goes into a FIFO of ``depth`` entries in front of the network; a good ``RESET`` pulses
    ``net_reset`` (one cycle: the network, this FIFO and the link's counters are reset);
    a good ``IDENTIFY`` pulses ``id_request``. Anything wrong pulses ``error`` with
    ``error_code`` and hunts for the next ``SYNC``: a bad CRC, an unknown type, a framing
    error of the UART, an event while the FIFO is full (the host sent beyond its credits:
    the event is dropped), an event addressing no axon or beyond the input's maximum
    (dropped), or a tick whose end-of-inference mark disagrees with the board's count of
    ticks modulo ``T`` (reported, the tick is still passed on).

    Parameters
    ----------
    layout : StructLayout
        The network input's event layout.
    size, max_value : int
        Input axons and the largest input value.
    timesteps : int
        ``T``: a tick whose ``addr`` is 1 must be the ``T``-th since the last one.
    depth : int
        Entries of the event FIFO (the host's credits), 4 .. 255.

    Members
    -------
    data, valid, framing_error : In
        The UART receiver's byte, its strobe, its framing-error strobe.
    o_events : Out(stream.Signature(layout))
        Input events and ticks for the network.
    net_reset, id_request : Out(1)
        One-cycle strobes.
    error : Out(1), error_code : Out(8)
        One-cycle strobe and its :class:`~hwgen.host_link.protocol.ErrorCode`.
    taken : Out(8)
        Events given on ``o_events`` since the last reset, modulo 256 (the credits the
        host gets back).
    """

    def __init__(self, layout, size, max_value, timesteps, depth=32):
        if not 4 <= depth <= 255:
            raise ValueError(f"the event FIFO depth must be 4 .. 255, got {depth}")
        self._layout, self._size, self._max = layout, size, max_value
        self._timesteps, self._depth = timesteps, depth
        super().__init__({
            "data": In(8), "valid": In(1), "framing_error": In(1),
            "o_events": Out(stream.Signature(layout)),
            "net_reset": Out(1), "id_request": Out(1),
            "error": Out(1), "error_code": Out(8),
            "taken": Out(8),
        })

    def elaborate(self, platform):
        m = Module()
        layout, nbytes = self._layout, payload_bytes(self._layout)
        fifo = SyncFIFOBuffered(width=layout.size, depth=self._depth)
        m.submodules.fifo = ResetInserter(self.net_reset)(fifo)

        byte = self.data
        crc = Signal(8)
        ftype = Signal(8)
        left = Signal(range(nbytes + 1))          # payload bytes still to come
        shreg = Signal(8 * nbytes)                # little-endian: bytes shift in from the top
        event = layout(shreg[:layout.size])
        step = Signal(range(self._timesteps))     # input ticks since reset, modulo T
        taken = Signal(8)

        m.d.sync += [self.net_reset.eq(0), self.id_request.eq(0), self.error.eq(0)]

        def fail(code):
            m.d.sync += [self.error.eq(1), self.error_code.eq(code)]

        def abort():
            # A framing error ends any frame (the receiver gives no byte in that cycle).
            with m.If(self.framing_error):
                m.next = "HUNT"

        push = Signal()
        m.d.comb += [fifo.w_data.eq(shreg[:layout.size]), fifo.w_en.eq(push),
                     self.o_events.payload.eq(fifo.r_data),
                     self.o_events.valid.eq(fifo.r_rdy), fifo.r_en.eq(self.o_events.ready),
                     self.taken.eq(taken)]
        with m.If(self.net_reset):
            m.d.sync += [taken.eq(0), step.eq(0)]
        with m.Elif(self.o_events.valid & self.o_events.ready):
            m.d.sync += taken.eq(taken + 1)

        with m.FSM():
            with m.State("HUNT"):
                with m.If(self.valid & (byte == SYNC)):
                    m.next = "TYPE"
            with m.State("TYPE"):
                with m.If(self.valid):
                    m.d.sync += [ftype.eq(byte), crc.eq(crc8_next(0, byte))]
                    with m.If(byte == HostType.EVENT):
                        m.d.sync += left.eq(nbytes)
                        m.next = "PAYLOAD"
                    with m.Elif((byte == HostType.RESET) | (byte == HostType.IDENTIFY)):
                        m.next = "CRC"
                    with m.Elif(byte != SYNC):     # a repeated sync starts the frame again
                        fail(ErrorCode.BAD_TYPE)
                        m.next = "HUNT"
                abort()
            with m.State("PAYLOAD"):
                with m.If(self.valid):
                    m.d.sync += [shreg.eq(Cat(shreg[8:], byte)), crc.eq(crc8_next(crc, byte)),
                                 left.eq(left - 1)]
                    with m.If(left == 1):
                        m.next = "CRC"
                abort()
            with m.State("CRC"):
                with m.If(self.valid):
                    m.next = "HUNT"
                    with m.If(byte != crc):
                        fail(ErrorCode.BAD_CRC)
                    with m.Elif(ftype == HostType.RESET):
                        m.d.sync += self.net_reset.eq(1)
                    with m.Elif(ftype == HostType.IDENTIFY):
                        m.d.sync += self.id_request.eq(1)
                    with m.Elif(event.tick):
                        last = step == self._timesteps - 1
                        with m.If(event.addr > 1):
                            fail(ErrorCode.BAD_EVENT)
                        with m.Elif(~fifo.w_rdy):
                            fail(ErrorCode.OVERFLOW)
                        with m.Else():
                            m.d.comb += push.eq(1)
                            m.d.sync += step.eq(Mux(last, 0, step + 1))
                            with m.If(event.addr[0] != last):
                                fail(ErrorCode.TICK_MARK)
                    with m.Elif((event.addr >= self._size) | (event.value > self._max)):
                        fail(ErrorCode.BAD_EVENT)
                    with m.Elif(~fifo.w_rdy):
                        fail(ErrorCode.OVERFLOW)
                    with m.Else():
                        m.d.comb += push.eq(1)
                abort()
        with m.If(self.framing_error):
            fail(ErrorCode.FRAMING)
        return m

