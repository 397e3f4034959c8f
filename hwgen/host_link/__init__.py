"""The host link: a UART protocol (``docs/protocol.md``) between a host and the network on
a board. One block per module: :mod:`.uart_rx`, :mod:`.uart_tx`, :mod:`.frame_decoder`,
:mod:`.frame_encoder`, :mod:`.top`; :mod:`.protocol` holds the definitions the RTL and the
host driver (:mod:`hwgen.host`) share; :mod:`.sim_transport` runs the top in a simulator
behind the driver's transport interface."""

from .protocol import LinkFormat, model_id
from .top import DEFAULT_BAUD, HostLinkTop

__all__ = ["DEFAULT_BAUD", "HostLinkTop", "LinkFormat", "model_id"]
