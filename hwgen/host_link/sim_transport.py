"""A simulated board behind the host driver's transport interface.

:class:`SimulatedTransport` runs :class:`~hwgen.host_link.top.HostLinkTop` in Amaranth's
simulator: the driver's bytes drive the top's ``rx`` pin at the UART bit rate, 8N1, and a
monitor decodes its ``tx`` pin back into bytes. Time is simulated time: the clock is
``baud * clocks_per_bit`` (3 Mbaud at 4 cycles per bit is the iCEBreaker's 12 MHz), and a
read's timeout is in simulated seconds.
"""

import math
from collections import deque

from amaranth.sim import Simulator

from .top import DEFAULT_BAUD, DEFAULT_DEPTH, HostLinkTop

__all__ = ["SimulatedTransport"]


class SimulatedTransport:
    """The transport of :class:`hwgen.host.Board` over a simulated board.

    Parameters
    ----------
    model, options
        What the simulated board carries (a :class:`HostLinkTop` of them).
    baud : int
    clocks_per_bit : int
        The simulated clock is ``baud * clocks_per_bit`` (at least 4).
    depth : int
        The link's input FIFO.
    chunk_bits : int
        Bit times simulated at a time while a read waits (a read returns at the end of the
        chunk in which bytes arrived).

    Attributes
    ----------
    cycles : int
        Clock cycles simulated so far; ``seconds`` is the simulated time.
    framing_errors : int
        Bytes from the board without a stop bit (never, unless the design is wrong).
    """

    def __init__(self, model, options=None, *, baud=DEFAULT_BAUD, clocks_per_bit=4,
                 depth=DEFAULT_DEPTH, chunk_bits=40, top=None):
        self.baud = baud
        self.clk_freq_hz = baud * clocks_per_bit
        self.top = top or HostLinkTop(model, options, clk_freq_hz=self.clk_freq_hz,
                                      baud=baud, depth=depth)
        self.div = self.top.divisor
        self.cycles = 0
        self.chunk = chunk_bits * self.div
        self.framing_errors = 0
        self.bytes_to_board = 0
        self.bytes_from_board = 0
        self._to_board = deque()
        self._from_board = bytearray()
        self.sim = Simulator(self.top)
        self.sim.add_clock(1 / self.clk_freq_hz)
        self.sim.add_testbench(self._drive_rx, background=True)
        self.sim.add_testbench(self._watch_tx, background=True)

    @property
    def seconds(self):
        return self.cycles / self.clk_freq_hz

    # -- the transport interface ---------------------------------------------------------
    def write(self, data):
        """Queue bytes for the board's ``rx`` pin (sent at the line rate as time passes)."""
        self._to_board.extend(bytes(data))

    def write_line_bits(self, bits):
        """Queue raw line levels (one per bit time) for ``rx``, e.g. a byte without its
        stop bit: how a test makes a framing error."""
        self._to_board.append(tuple(int(b) for b in bits))

    def read(self, timeout):
        """The bytes the board sent; waits (in simulated time) up to ``timeout`` seconds
        for at least one."""
        deadline = self.cycles + max(0, math.ceil(timeout * self.clk_freq_hz))
        while not self._from_board and self.cycles < deadline:
            self.advance(min(self.chunk, deadline - self.cycles))
        data = bytes(self._from_board)
        self._from_board.clear()
        return data

    def now(self):
        """Simulated seconds."""
        return self.seconds

    def close(self):
        pass

    # -- simulation ----------------------------------------------------------------------
    def advance(self, cycles):
        """Simulate ``cycles`` more clock cycles."""
        self.cycles += cycles
        self.sim.run_until(self.cycles / self.clk_freq_hz)

    def idle(self):
        """Nothing left to send on ``rx``."""
        return not self._to_board

    @staticmethod
    async def _ticks(ctx, count):
        for _ in range(count):
            await ctx.tick()

    async def _drive_rx(self, ctx):
        rx, div = self.top.rx, self.div
        ctx.set(rx, 1)
        while True:
            if not self._to_board:
                await self._ticks(ctx, div)
                continue
            item = self._to_board.popleft()
            if isinstance(item, tuple):
                bits = item
            else:
                self.bytes_to_board += 1
                bits = (0, *(item >> i & 1 for i in range(8)), 1)
            for bit in bits:
                ctx.set(rx, bit)
                await self._ticks(ctx, div)

    async def _watch_tx(self, ctx):
        tx, div = self.top.tx, self.div
        while True:
            await ctx.negedge(tx)
            await self._ticks(ctx, div // 2)          # the middle of the start bit
            byte = 0
            for i in range(8):
                await self._ticks(ctx, div)
                byte |= ctx.get(tx) << i
            await self._ticks(ctx, div)
            if ctx.get(tx):
                self._from_board.append(byte)
                self.bytes_from_board += 1
            else:
                self.framing_errors += 1
