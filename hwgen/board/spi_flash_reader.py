"""Reads a byte range of the board's SPI configuration flash once after reset, as a
stream: how the weights that SPRAM cannot get from the bitstream reach it at boot
(:mod:`hwgen.core.weight_loader`; ``hwgen flash`` writes the image next to the bitstream).

Flash assumptions (the iCEBreaker's Winbond W25Q128JV; any 25-series flash works alike):

- after configuration the iCE40 may leave the flash in deep power-down, where it ignores
  every command but 0xAB (release from power-down). So the reader first sends 0xAB alone
  and waits tRES1 = 3 us (W25Q128JV datasheet) before the read; on a flash that was awake
  0xAB is harmless.
- command 0x03 (read data) with a 24-bit address, then data bytes for as long as the
  flash stays selected; 0x03 has no dummy cycles and is specified up to 50 MHz (the fast
  read commands are not needed at this rate).
- SPI mode 0: SCK idles low, COPI changes while SCK is low and the flash samples it on
  the rising edge; the flash changes CIPO after the falling edge (within tCLQV, a few ns)
  and holds it until the next falling edge.

Timing: SCK is the system clock divided by 2 (one cycle low, one high): at most 50 MHz,
the limit of 0x03, for a system clock up to 100 MHz. All pins are registered outputs.
CIPO is sampled at the end of the SCK-high cycle (just before SCK falls), two system
cycles after the falling edge that launched the bit; that budget must cover the SCK
output pad, tCLQV and the CIPO input pad: ample at the iCEBreaker's 12 MHz and at tens
of MHz, tight near 100 MHz (check nextpnr's timing there). Connect ``cipo`` straight to
the pin (an input register would add a cycle and move the sample point).

The reader is the SPI master, so back-pressure costs nothing: while ``o_bytes`` has a
byte not taken and the next one is complete, SCK stays high (the flash holds its output
between falling edges) until the byte is taken.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import enum, stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["SpiFlashReader", "CMD_RELEASE_POWER_DOWN", "CMD_READ", "STARTUP_S", "TRES1_S"]

CMD_RELEASE_POWER_DOWN = 0xAB
CMD_READ = 0x03
STARTUP_S = 5e-6        # wait after reset before the first command
TRES1_S = 3e-6          # W25Q128JV: release from power-down to the next command
FLASH_BYTES = 1 << 24   # what a 24-bit address reaches (the W25Q128JV's 16 MiB)


def _cycles(seconds, clk_freq_hz):
    """Whole cycles covering ``seconds`` at ``clk_freq_hz``, at least 1."""
    return max(1, -(-round(seconds * clk_freq_hz * 1e6) // 1_000_000))


class Step(enum.Enum, shape=3):
    STARTUP = 0     # deselected, waiting after reset
    WAKE = 1        # selected, shifting out 0xAB
    WAKE_WAIT = 2   # deselected, waiting tRES1
    COMMAND = 3     # selected, shifting out 0x03 and the address
    DATA = 4        # selected, shifting in bytes
    RELEASE = 5     # SCK low after the last bit; deselect
    DONE = 6        # deselected for good


class SpiFlashReader(wiring.Component):
    """Reads ``length`` bytes from byte ``offset`` of the SPI flash after reset and sends
    them on ``o_bytes`` (module docstring for the sequence and the timing).

    Parameters
    ----------
    offset : int
        First byte address in the flash (24 bits).
    length : int
        Bytes to read (at least 1; ``offset + length`` within 16 MiB).
    clk_freq_hz : float
        The ``sync`` clock, to turn the flash's waits into cycles.

    Members
    -------
    o_bytes : Out(stream.Signature(8))
    sck : Out(1)
    cs : Out(1)
        Active high (1 = flash selected): connect to the ``cs`` of amaranth-boards'
        ``spi_flash_1x`` resource, which is already inverted to the active-low pin.
    copi : Out(1)
    cipo : In(1)
    done : Out(1)
        Every byte taken and the flash deselected (stays 1).
    """

    def __init__(self, *, offset, length, clk_freq_hz):
        offset, length = int(offset), int(length)
        if length < 1:
            raise ValueError(f"length must be at least 1 byte, not {length}")
        if not 0 <= offset <= FLASH_BYTES - length:
            raise ValueError(f"bytes {offset}..{offset + length - 1} are outside the "
                             f"flash's 24-bit address range")
        if clk_freq_hz <= 0:
            raise ValueError(f"clk_freq_hz must be positive, not {clk_freq_hz}")
        self._offset = offset
        self._length = length
        self.startup_cycles = _cycles(STARTUP_S, clk_freq_hz)
        self.tres1_cycles = _cycles(TRES1_S, clk_freq_hz)
        super().__init__({
            "o_bytes": Out(stream.Signature(8)),
            "sck": Out(1), "cs": Out(1), "copi": Out(1), "cipo": In(1),
            "done": Out(1),
        })

    @property
    def offset(self):
        return self._offset

    @property
    def length(self):
        return self._length

    def elaborate(self, platform):
        m = Module()
        step = Signal(Step)
        wait = Signal(range(max(self.startup_cycles, self.tres1_cycles) + 1),
                      init=self.startup_cycles)
        # Bits still to clock in the current command (32: 0x03 and the address), or in
        # the current byte; MSB first.
        bits_left = Signal(range(33))
        shift_out = Signal(32)
        shift_in = Signal(8)
        bytes_left = Signal(range(self._length + 1), init=self._length)
        valid = Signal()
        payload = Signal(8)

        m.d.comb += [self.o_bytes.valid.eq(valid), self.o_bytes.payload.eq(payload),
                     self.done.eq((step == Step.DONE) & ~valid)]
        with m.If(self.o_bytes.ready):
            m.d.sync += valid.eq(0)
        # The output register is free at the end of this cycle.
        can_push = ~valid | self.o_bytes.ready

        def start(bits, value):
            """Select the flash and show the first bit of ``value`` (``bits`` long)."""
            m.d.sync += [self.cs.eq(1), self.sck.eq(0),
                         shift_out.eq(value << (32 - bits)),
                         self.copi.eq((value >> (bits - 1)) & 1), bits_left.eq(bits)]

        def shift_bit(next_step):
            """One SCK period of a command: rise, then fall with the next COPI bit; after
            the last bit go to ``next_step`` with SCK low."""
            with m.If(~self.sck):
                m.d.sync += self.sck.eq(1)
            with m.Else():
                m.d.sync += [self.sck.eq(0), shift_out.eq(shift_out << 1),
                             self.copi.eq(shift_out[30]), bits_left.eq(bits_left - 1)]
                with m.If(bits_left == 1):
                    m.d.sync += [step.eq(next_step), self.copi.eq(0)]

        with m.Switch(step):
            with m.Case(Step.STARTUP):
                m.d.sync += wait.eq(wait - 1)
                with m.If(wait == 1):
                    start(8, CMD_RELEASE_POWER_DOWN)
                    m.d.sync += step.eq(Step.WAKE)
            with m.Case(Step.WAKE):
                shift_bit(Step.RELEASE)
            with m.Case(Step.WAKE_WAIT):
                m.d.sync += wait.eq(wait - 1)
                with m.If(wait == 1):
                    start(32, (CMD_READ << 24) | self._offset)
                    m.d.sync += step.eq(Step.COMMAND)
            with m.Case(Step.COMMAND):
                shift_bit(Step.DATA)
                with m.If(self.sck & (bits_left == 1)):
                    m.d.sync += bits_left.eq(8)
            with m.Case(Step.DATA):
                with m.If(~self.sck):
                    m.d.sync += self.sck.eq(1)
                # SCK high: the flash's bit is stable until SCK falls. The last bit of a
                # byte waits here (SCK held high) until the output register is free.
                with m.Elif((bits_left != 1) | can_push):
                    m.d.sync += [self.sck.eq(0), shift_in.eq((shift_in << 1) | self.cipo),
                                 bits_left.eq(bits_left - 1)]
                    with m.If(bits_left == 1):
                        m.d.sync += [valid.eq(1), payload.eq((shift_in << 1) | self.cipo),
                                     bits_left.eq(8), bytes_left.eq(bytes_left - 1)]
                        with m.If(bytes_left == 1):
                            m.d.sync += step.eq(Step.RELEASE)
            with m.Case(Step.RELEASE):
                # SCK went low the cycle before: deselect now (mode 0 ends with SCK low).
                m.d.sync += self.cs.eq(0)
                with m.If(bytes_left == 0):
                    m.d.sync += step.eq(Step.DONE)
                with m.Else():
                    # After 0xAB: the flash needs tRES1 before the read command.
                    m.d.sync += [step.eq(Step.WAKE_WAIT), wait.eq(self.tres1_cycles)]
        return m
