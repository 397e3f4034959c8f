"""The host-link protocol (``docs/protocol.md``): the constants, the CRC and the byte layouts
that the RTL (:mod:`hwgen.host_link`) and the host driver (:mod:`hwgen.host`) both use.

A frame is ``SYNC, TYPE, PAYLOAD, CRC``: the payload length is fixed by the type (and, for
events, by the event layout of the model), the CRC-8 covers ``TYPE`` and ``PAYLOAD``. An
event payload is the AER event packed with :func:`hwgen.aer.pack` through the port's
:func:`~hwgen.aer.event_layout`, in ``ceil(bits / 8)`` bytes, little-endian.
"""

import dataclasses
import json
import zlib
from enum import IntEnum
from pathlib import Path

import numpy as np

from ..aer import layout_fields, pack, unpack

__all__ = ["SYNC", "VERSION", "CRC8_POLY", "HostType", "BoardType", "ErrorCode", "ERROR_TEXT",
           "Frame", "LinkFormat", "FrameParser", "crc8", "frame", "model_id",
           "model_id_payload", "payload_bytes"]

SYNC = 0xA5
VERSION = 1
CRC8_POLY = 0x07            # x^8 + x^2 + x + 1, init 0, MSB first, no final XOR (CRC-8/SMBUS)


class HostType(IntEnum):
    """Frames the host sends."""
    EVENT = 0x01            # one input event or tick (payload: the packed event)
    RESET = 0x02            # reset the network (no payload)
    IDENTIFY = 0x03         # ask for the model identifier (no payload)


class BoardType(IntEnum):
    """Frames the board sends."""
    EVENT = 0x81            # one output event or tick (payload: the packed event)
    IDENT = 0x82            # version, credits, model identifier (6 bytes)
    CREDIT = 0x83           # input frames taken by the network so far, mod 256 (1 byte)
    RESET_ACK = 0x84        # the reset is done (no payload)
    ERROR = 0x85            # an error code (1 byte)


class ErrorCode(IntEnum):
    BAD_CRC = 0x01
    BAD_TYPE = 0x02
    FRAMING = 0x03
    OVERFLOW = 0x04
    TICK_MARK = 0x05
    BAD_EVENT = 0x06


ERROR_TEXT = {
    ErrorCode.BAD_CRC: "a frame from the host failed its CRC",
    ErrorCode.BAD_TYPE: "a frame from the host had an unknown type",
    ErrorCode.FRAMING: "a byte from the host had no stop bit (wrong baud rate or line noise)",
    ErrorCode.OVERFLOW: "the host sent more input events than the board had room for",
    ErrorCode.TICK_MARK: "the host's end-of-inference mark fell on another timestep than "
                         "the board's",
    ErrorCode.BAD_EVENT: "an input event addressed no axon or exceeded the input's maximum",
}


def crc8(data, crc=0):
    """CRC-8 (polynomial 0x07, init 0, MSB first, no final XOR) of ``data``."""
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ CRC8_POLY) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def payload_bytes(layout):
    """Bytes of an event payload of ``layout``: ``ceil(bits / 8)``."""
    return (layout.size + 7) // 8


def frame(ftype, payload=b""):
    """The bytes of one frame."""
    body = bytes([int(ftype)]) + bytes(payload)
    return bytes([SYNC]) + body + bytes([crc8(body)])


@dataclasses.dataclass(frozen=True)
class Frame:
    """A frame read off the line (``ok``), or what was wrong with the bytes there."""
    type: int | None
    payload: bytes = b""
    error: str | None = None         # None: a good frame


class LinkFormat:
    """The frame sizes and event layouts of one model's link.

    Parameters
    ----------
    in_layout, out_layout : StructLayout
        Event layouts of the network's ``i_events`` and ``o_events``.
    timesteps : int
        ``T``: the ticks of one inference.
    in_size, in_max, out_size : int
        Input axons, the largest input value, output neurons.
    """

    def __init__(self, in_layout, out_layout, timesteps, in_size, in_max, out_size):
        self.in_layout, self.out_layout = in_layout, out_layout
        self.timesteps = timesteps
        self.in_size, self.in_max, self.out_size = in_size, in_max, out_size
        self.in_bytes = payload_bytes(in_layout)
        self.out_bytes = payload_bytes(out_layout)
        self.host_lengths = {HostType.EVENT: self.in_bytes, HostType.RESET: 0,
                             HostType.IDENTIFY: 0}
        self.board_lengths = {BoardType.EVENT: self.out_bytes, BoardType.IDENT: 6,
                              BoardType.CREDIT: 1, BoardType.RESET_ACK: 0,
                              BoardType.ERROR: 1}

    @classmethod
    def from_model(cls, model, options=None):
        graph = _graph(model, options)
        out = graph.nodes[graph.output]
        return cls(graph.nodes["input"].layout, out.layout, model.timesteps,
                   model.input_size, model.input_max, out.size)

    # -- host -> board -------------------------------------------------------------------
    def input_event(self, addr, value):
        bits = pack(self.in_layout, addr, value, 0)
        return frame(HostType.EVENT, bits.to_bytes(self.in_bytes, "little"))

    def input_tick(self, last):
        """A tick; ``last`` marks the last timestep of an inference (addr = 1)."""
        bits = pack(self.in_layout, int(bool(last)), 0, 1)
        return frame(HostType.EVENT, bits.to_bytes(self.in_bytes, "little"))

    def inference_frames(self, x):
        """The frames of one inference ``x`` ([T, in_size]): per timestep, one event per
        nonzero value in address order, then a tick (the last one marked)."""
        out = []
        steps = len(x)
        for t, step in enumerate(x):
            out += [self.input_event(int(j), int(step[j])) for j in np.flatnonzero(step)]
            out.append(self.input_tick(t == steps - 1))
        return out

    def output_event(self, addr, value, tick=0):
        bits = pack(self.out_layout, addr, value, tick)
        return frame(BoardType.EVENT, bits.to_bytes(self.out_bytes, "little"))

    def unpack_output(self, payload):
        return unpack(self.out_layout, int.from_bytes(payload, "little"))

    def unpack_input(self, payload):
        return unpack(self.in_layout, int.from_bytes(payload, "little"))

    def frame_bits(self, host=True):
        """Line bits of one event frame (8N1: 10 per byte)."""
        return 10 * (3 + (self.in_bytes if host else self.out_bytes))


class FrameParser:
    """Frames from a byte stream, hunting for ``SYNC`` after any error.

    ``lengths`` maps the known types to their payload lengths. :meth:`feed` returns the
    frames completed by the new bytes: good ones, and ``Frame(error=...)`` for a bad CRC
    or an unknown type (bytes between frames that are not ``SYNC`` are skipped and
    counted in :attr:`skipped`).
    """

    def __init__(self, lengths):
        self.lengths = {int(k): v for k, v in lengths.items()}
        self.buf = bytearray()
        self.skipped = 0

    def feed(self, data):
        self.buf += data
        frames = []
        buf = self.buf
        while buf:
            if buf[0] != SYNC:
                start = buf.find(SYNC)
                drop = len(buf) if start < 0 else start
                self.skipped += drop
                del buf[:drop]
                continue
            if len(buf) < 2:
                break
            ftype = buf[1]
            if ftype == SYNC:               # a repeated sync: the second one starts a frame
                self.skipped += 1
                del buf[:1]
                continue
            if ftype not in self.lengths:
                frames.append(Frame(ftype, b"", f"unknown frame type 0x{ftype:02x}"))
                del buf[:2]
                continue
            n = self.lengths[ftype]
            if len(buf) < 3 + n:
                break
            body = bytes(buf[1:2 + n])
            if crc8(body) != buf[2 + n]:
                frames.append(Frame(ftype, body[1:], f"bad CRC in a frame of type "
                                                      f"0x{ftype:02x}"))
                del buf[:1]                 # hunt again from the byte after this sync
                continue
            frames.append(Frame(ftype, body[1:]))
            del buf[:3 + n]
        return frames


def _graph(model, options):
    from ..graph import NetworkGraph
    from ..network import GenerateOptions
    return NetworkGraph(model, options or GenerateOptions())


def _canonical(obj):
    """A JSON-friendly, deterministic form of a model's content."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {"__type__": type(obj).__name__,
                **{f.name: _canonical(getattr(obj, f.name)) for f in dataclasses.fields(obj)}}
    if isinstance(obj, np.ndarray):
        return {"shape": list(obj.shape), "data": obj.astype(np.int64).ravel().tolist()
                if obj.dtype.kind in "iub" else obj.ravel().tolist()}
    if isinstance(obj, dict):
        return {str(k): _canonical(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_canonical(v) for v in obj]
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, Path):
        return None                 # where the file lies is not what it computes
    return obj


def model_id_payload(model, options=None):
    """The canonical JSON text the model identifier is the CRC-32 of: what the network
    computes (the model's name, timesteps, input and every layer with its weights) and the
    byte layouts of its two ports; nothing that depends on the hwgen version or on
    generator options that do not change the ports."""
    graph = _graph(model, options)
    content = {
        "format": "hwgen-model-id/1",
        "model": _canonical({f.name: getattr(model, f.name)
                             for f in dataclasses.fields(model) if f.name != "path"}),
        "ports": {"i_events": layout_fields(graph.nodes["input"].layout),
                  "o_events": layout_fields(graph.nodes[graph.output].layout)},
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":"))


def model_id(model, options=None):
    """The 32-bit identifier of ``model`` (as built with ``options``) that the board
    reports: CRC-32 (zlib) of :func:`model_id_payload`."""
    return zlib.crc32(model_id_payload(model, options).encode()) & 0xFFFFFFFF
