"""The host-link top: the network and its UART link to the host (``docs/protocol.md``)."""

from amaranth.hdl import Module, ResetInserter
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..network import GenerateOptions, NetworkTop
from .frame_decoder import FrameDecoder
from .frame_encoder import FrameEncoder
from .protocol import LinkFormat, model_id
from .uart_rx import UARTReceiver
from .uart_tx import UARTTransmitter

__all__ = ["HostLinkTop", "DEFAULT_BAUD", "DEFAULT_DEPTH", "uart_divisor"]

DEFAULT_BAUD = 3_000_000
DEFAULT_DEPTH = 32


def uart_divisor(clk_freq_hz, baud):
    """Clock cycles per bit, rounded; refused when the rate would be off by more than 2%
    (8N1 tolerates about 4% between both ends) or fewer than 4 cycles per bit."""
    divisor = round(clk_freq_hz / baud)
    if divisor < 4:
        raise ValueError(f"a {clk_freq_hz / 1e6:g} MHz clock is too slow for {baud} baud "
                         "(the UART needs at least 4 clock cycles per bit)")
    error = abs(clk_freq_hz / divisor - baud) / baud
    if error > 0.02:
        raise ValueError(f"{baud} baud is {error:.1%} off with a {clk_freq_hz / 1e6:g} MHz "
                         f"clock (divisor {divisor}); choose a baud rate within 2%")
    return divisor


class HostLinkTop(wiring.Component):
    """The :class:`~hwgen.network.NetworkTop` of ``model`` behind a UART: the host resets
    the network, sends input events and ticks, asks for the model identifier, and gets the
    output events and ticks back (``docs/protocol.md``). Platform-independent: a board top
    connects ``rx`` and ``tx`` to its pins.

    Parameters
    ----------
    model : hwgen.model.Model
    options : GenerateOptions or None
    clk_freq_hz : float
        The clock of the ``sync`` domain.
    baud : int
        Line rate (default 3 Mbaud).
    depth : int
        Input events buffered in front of the network (the host's credits).

    Members
    -------
    rx : In(1)
        From the host (idle high).
    tx : Out(1)
        To the host (idle high).
    """

    rx: In(1, init=1)
    tx: Out(1, init=1)

    def __init__(self, model, options=None, *, clk_freq_hz, baud=DEFAULT_BAUD,
                 depth=DEFAULT_DEPTH):
        self._options = options or GenerateOptions()
        self.network = NetworkTop(model, self._options)
        self.format = LinkFormat.from_model(model, self._options)
        self.ident = model_id(model, self._options)
        self.divisor = uart_divisor(clk_freq_hz, baud)
        self.depth = depth
        self._model = model
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        fmt = self.format
        m.submodules.uart_rx = rx = UARTReceiver(self.divisor)
        m.submodules.uart_tx = tx = UARTTransmitter(self.divisor)
        m.submodules.decoder = dec = FrameDecoder(fmt.in_layout, fmt.in_size, fmt.in_max,
                                                  fmt.timesteps, self.depth)
        m.submodules.encoder = enc = FrameEncoder(fmt.out_layout, fmt.timesteps,
                                                  self.ident, self.depth)
        m.submodules.network = ResetInserter(dec.net_reset)(self.network)
        m.d.comb += [rx.rx.eq(self.rx), self.tx.eq(tx.tx),
                     dec.data.eq(rx.data), dec.valid.eq(rx.valid),
                     dec.framing_error.eq(rx.error),
                     enc.net_reset.eq(dec.net_reset), enc.id_request.eq(dec.id_request),
                     enc.error.eq(dec.error), enc.error_code.eq(dec.error_code),
                     enc.taken.eq(dec.taken)]
        wiring.connect(m, dec.o_events, self.network.i_events)
        wiring.connect(m, self.network.o_events, enc.i_events)
        wiring.connect(m, enc.o_bytes, tx.i_data)
        return m
