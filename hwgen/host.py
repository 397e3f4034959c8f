"""The host driver: inferences on a board through the host link (``docs/protocol.md``).

:class:`Board` speaks the protocol over a *transport*, anything with ``write(bytes)``,
``read(timeout) -> bytes`` (waits up to ``timeout`` seconds for at least one byte),
``now() -> seconds`` and ``close()``: :class:`SerialTransport` for a real board (pyserial),
:class:`~hwgen.host_link.sim_transport.SimulatedTransport` for the simulated one (the same
RTL, its UART pins driven bit by bit)::

    with Board(SerialTransport("/dev/ttyUSB1"), model) as board:
        spikes = board.run(x)           # [N, T, input size] -> [N, T, output size]
"""

import os
import time

import numpy as np

from .errors import HwgenError
from .host_link.protocol import (
    ERROR_TEXT,
    VERSION,
    BoardType,
    ErrorCode,
    FrameParser,
    HostType,
    LinkFormat,
    frame,
    model_id,
)

__all__ = ["Board", "HostLinkError", "InputRangeError", "LinkError", "LinkTimeout",
           "NoBoardError", "SerialTransport", "WrongBitstreamError", "DEFAULT_TIMEOUT"]

DEFAULT_TIMEOUT = 2.0


class HostLinkError(HwgenError):
    """Something went wrong between the host and the board."""


class NoBoardError(HostLinkError):
    """The serial port cannot be opened."""


class LinkTimeout(HostLinkError):
    """The board did not answer in time."""


class LinkError(HostLinkError):
    """The board reported an error, or its frames were corrupted or out of step."""


class WrongBitstreamError(HostLinkError):
    """The board carries another model (or another protocol version)."""


class InputRangeError(HwgenError, ValueError):
    """Inputs the board cannot take (shape, or values beyond the input's ``max_value``)."""


class SerialTransport:
    """A serial port (pyserial), 8N1 at ``baud``."""

    def __init__(self, port, baud):
        import serial
        self.port = port
        try:
            self._ser = serial.Serial(port, baud, timeout=0, write_timeout=10)
        except (serial.SerialException, ValueError, OSError) as exc:
            # pyserial repeats the OS error in its message; a missing device says it plainly.
            missing = "/" in str(port) and not os.path.exists(port)
            why = "no such device" if missing else _reason(exc)
            raise NoBoardError(f"cannot open the serial port {port} ({why}): is the board "
                               "connected? (`python -m serial.tools.list_ports` lists the "
                               "ports)") from None

    def write(self, data):
        import serial
        try:
            self._ser.write(data)
        except (serial.SerialException, OSError) as exc:
            raise LinkError(f"writing to {self.port} failed ({_reason(exc)}): was the "
                            "board disconnected?") from None

    def read(self, timeout):
        import serial
        try:
            self._ser.timeout = timeout
            data = self._ser.read(1)
            if data:
                self._ser.timeout = 0
                data += self._ser.read(self._ser.in_waiting or 1)
            return data
        except (serial.SerialException, OSError) as exc:
            raise LinkError(f"reading from {self.port} failed ({_reason(exc)}): was the "
                            "board disconnected?") from None

    def now(self):
        return time.monotonic()

    def close(self):
        self._ser.close()


def _reason(exc):
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class Board:
    """A board running the host-link top of ``model``.

    Parameters
    ----------
    transport
        :class:`SerialTransport`, a simulated transport, or anything alike.
    model : hwgen.model.Model
    options : GenerateOptions or None
        The generator options the bitstream was built with (``burst`` changes the output
        events; the identifier covers the model and its port layouts).
    timeout : float
        Seconds (of the transport's clock) to wait for any answer of the board.
    retries : int
        Times an inference is run again (after a reset) when the link reports an error.

    Attributes
    ----------
    credits : int or None
        Input frames the board buffers (from its ``IDENT`` answer).
    stats : dict
        ``retries`` done, ``link_errors`` seen (their messages), ``frames_sent``,
        ``events_sent``, ``frames_received``.
    """

    RESET_ATTEMPTS = 3

    def __init__(self, transport, model, options=None, *, timeout=DEFAULT_TIMEOUT,
                 retries=2):
        self.transport = transport
        self.model = model
        self.format = LinkFormat.from_model(model, options)
        self.ident = model_id(model, options)
        self.timeout = timeout
        self.retries = retries
        self.credits = None
        self._parser = FrameParser(self.format.board_lengths)
        self._sent = 0                  # input frames sent since the last reset
        self._taken = 0                 # of which the board has reported taking
        self._ticks = 0                 # output ticks since the last reset
        self.stats = {"retries": 0, "link_errors": [], "frames_sent": 0, "events_sent": 0,
                      "frames_received": 0}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.transport.close()

    # -- frames --------------------------------------------------------------------------
    def _write(self, frames):
        if frames:
            self.transport.write(b"".join(frames))
            self.stats["frames_sent"] += len(frames)

    def _receive(self, awaiting, deadline=None):
        """The frames that the next bytes complete; waits for bytes up to the timeout (or
        ``deadline`` on the transport's clock). Credit frames are counted here."""
        now = self.transport.now()
        wait = self.timeout if deadline is None else max(0.0, deadline - now)
        data = self.transport.read(wait)
        if not data:
            if deadline is not None and wait > 0 and self.transport.now() < deadline:
                return []
            raise LinkTimeout(f"no answer from the board within {self.timeout:g} s while "
                              f"waiting for {awaiting} (a build with its weights in SPRAM "
                              "takes no input until it has read its weight image from the "
                              "flash: its fail LED is lit when the image is missing, and "
                              "'hwgen flash' writes it)")
        frames = []
        for f in self._parser.feed(data):
            self.stats["frames_received"] += 1
            if f.error is None and f.type == BoardType.CREDIT:
                self._taken += (f.payload[0] - self._taken) & 0xFF
            else:
                frames.append(f)
        return frames

    # -- commands ------------------------------------------------------------------------
    def reset(self):
        """Reset the network and the link; what was in flight is void. Waits for the
        board's acknowledgement (sends the reset again up to 3 times): frames before it are
        dropped."""
        # Zero bytes first: they end any frame the board's decoder is in the middle of
        # (garbage may have left it reading a payload), so that it sees this RESET whole.
        flush = bytes(self.format.in_bytes + 2)
        for _ in range(self.RESET_ATTEMPTS):
            self._write([flush + frame(HostType.RESET)])
            deadline = self.transport.now() + self.timeout
            try:
                while self.transport.now() < deadline:
                    frames = self._receive("the reset acknowledgement", deadline)
                    if any(f.error is None and f.type == BoardType.RESET_ACK for f in frames):
                        # Frames after the acknowledgement in the same read belong to the
                        # new state: there are none, since nothing was sent since.
                        self._sent = self._taken = self._ticks = 0
                        return
            except LinkTimeout:
                continue
        raise LinkTimeout(f"the board did not acknowledge a reset within {self.timeout:g} s "
                          f"({self.RESET_ATTEMPTS} attempts): is it connected, programmed "
                          "with the host-link bitstream, and the baud rate right?")

    def identify(self, check=True):
        """The model identifier the board reports. With ``check``, a board that carries
        another model (or protocol version) raises :class:`WrongBitstreamError`."""
        self._write([frame(HostType.IDENTIFY)])
        while True:
            for f in self._receive("the board's identifier"):
                if f.error is None and f.type == BoardType.IDENT:
                    version, depth = f.payload[0], f.payload[1]
                    ident = int.from_bytes(f.payload[2:6], "little")
                    if check:
                        self._check_ident(version, ident)
                    self.credits = depth
                    return ident

    def _check_ident(self, version, ident):
        if version != VERSION:
            raise WrongBitstreamError(f"the board speaks host-link protocol version "
                                      f"{version}, this hwgen speaks {VERSION}: build and "
                                      "flash the bitstream again with this hwgen")
        if ident != self.ident:
            raise WrongBitstreamError(
                f"the board carries model identifier 0x{ident:08x}, but model "
                f"'{self.model.name}' is 0x{self.ident:08x}: the board was programmed with "
                "another model (or other generator options such as --burst); flash the "
                "bitstream of this model (hwgen build, hwgen flash)")

    def connect(self):
        """Reset the board and check its identifier (``run`` does it the first time)."""
        self.reset()
        self.identify()

    # -- inference -----------------------------------------------------------------------
    def check_inputs(self, inputs):
        """``inputs`` as int64 ``[N, T, input size]``; :class:`InputRangeError` for what
        the board cannot take: it gets one event per axon and timestep, and its
        accumulators are sized for values up to the input's ``max_value``."""
        fmt = self.format
        x = np.asarray(inputs)
        t, size = fmt.timesteps, fmt.in_size
        if x.ndim == 2:
            x = x[None]
        if x.ndim != 3 or x.shape[1:] != (t, size):
            raise InputRangeError(f"inputs must have shape [{t}, {size}] or [N, {t}, {size}] "
                                  f"for model '{self.model.name}', got {list(np.shape(inputs))}")
        if x.dtype.kind == "f":
            if not np.all(np.isfinite(x)) or not np.all(x == np.round(x)):
                raise InputRangeError("inputs must be integers")
        elif x.dtype.kind not in "iub":
            raise InputRangeError(f"inputs must be integers, not {x.dtype}")
        x = x.astype(np.int64)
        bad = np.argwhere((x < 0) | (x > fmt.in_max))
        if len(bad):
            n, step, j = (int(v) for v in bad[0])
            raise InputRangeError(
                f"input value {x[n, step, j]} (inference {n}, timestep {step}, axon {j}) is "
                f"outside [0, {fmt.in_max}]: the board takes one event per axon and "
                f"timestep, and its accumulators are sized for the input's max_value "
                f"{fmt.in_max}")
        return x

    def run(self, inputs, progress=None):
        """Output spikes ``[N, T, output size]`` of ``inputs`` (``[N, T, input size]``;
        ``[T, size]`` gives ``[T, output size]``). ``progress(n)`` after each finished
        inference. A link error (reported by the board, or a corrupted frame) resets the
        board and runs the unfinished inferences again, up to ``retries`` times in a row."""
        single = np.ndim(inputs) == 2
        x = self.check_inputs(inputs)
        if self.credits is None:
            self.connect()
        n = x.shape[0]
        out = np.zeros((n, self.format.timesteps, self.format.out_size), np.int64)
        done, failures = 0, 0
        while done < n:
            try:
                self._stream(x, done, out, progress)
                done = n
            except LinkError as exc:
                if exc.completed > done:
                    done, failures = exc.completed, 0
                failures += 1
                self.stats["link_errors"].append(str(exc))
                if failures > self.retries:
                    raise LinkError(f"{exc} (inference {done}; gave up after "
                                    f"{self.retries} retries)") from None
                self.stats["retries"] += 1
                self.reset()
        return out[0] if single else out

    def _stream(self, x, start, out, progress):
        """Send inferences ``start ..`` while the credits allow; read output frames into
        ``out`` until the last tick. A :class:`LinkError` carries ``completed``: the
        inferences finished before it."""
        fmt, steps = self.format, self.format.timesteps
        n = x.shape[0]
        out[start:] = 0
        frames = (f for i in range(start, n) for f in fmt.inference_frames(x[i]))
        events = int(np.count_nonzero(x[start:]))
        pending = next(frames, None)
        ticks, total = 0, (n - start) * steps
        try:
            while ticks < total:
                batch = []
                while pending is not None and self._sent - self._taken < self.credits:
                    batch.append(pending)
                    self._sent += 1
                    pending = next(frames, None)
                self._write(batch)
                inference, t = start + ticks // steps, ticks % steps
                awaiting = (f"credits to send more input (the board took {self._taken} of "
                            f"{self._sent} input frames)" if pending is not None else
                            f"the output of inference {inference}, timestep {t}")
                for f in self._receive(awaiting):
                    if f.error is not None:
                        raise LinkError(f"corrupted frame from the board: {f.error}")
                    if f.type == BoardType.ERROR:
                        code = f.payload[0]
                        text = (ERROR_TEXT[ErrorCode(code)] if code in ErrorCode._value2member_map_
                                else f"unknown error code {code}")
                        raise LinkError(f"the board reported an error: {text}")
                    if f.type == BoardType.RESET_ACK:
                        raise LinkError("the board was reset during the inference")
                    if f.type != BoardType.EVENT or ticks >= total:
                        continue
                    ev = fmt.unpack_output(f.payload)
                    inference, t = start + ticks // steps, ticks % steps
                    if ev.tick:
                        if ev.addr != int(t == steps - 1):
                            raise LinkError(
                                f"host and board are out of step: the board "
                                f"{'marked' if ev.addr else 'did not mark'} the end of an "
                                f"inference at timestep {t} of inference {inference}")
                        ticks += 1
                        self._ticks += 1
                        if ticks % steps == 0 and progress is not None:
                            progress(start + ticks // steps)
                    elif ev.addr >= fmt.out_size:
                        raise LinkError(f"the board sent an event for neuron {ev.addr} of an "
                                        f"output layer of {fmt.out_size}")
                    else:
                        out[inference, t, ev.addr] += ev.value
        except LinkError as exc:
            exc.completed = start + ticks // steps
            raise
        self.stats["events_sent"] += events
