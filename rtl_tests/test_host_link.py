"""The host link (docs/protocol.md) end to end: the host driver (hwgen.host) against the
simulated board, i.e. HostLinkTop (the network, the frame decoder and encoder, the UARTs)
in Amaranth's simulator with its rx pin driven bit by bit at 3 Mbaud and its tx pin
decoded (4 clock cycles per bit: a 12 MHz clock). The output spikes must be golden's,
bit-exact, also after garbage on the line and a reset in the middle of an inference."""

import numpy as np
import pytest

import golden
from hwgen.host import Board, InputRangeError, LinkTimeout, WrongBitstreamError
from hwgen.host_link.protocol import (
    SYNC,
    BoardType,
    ErrorCode,
    FrameParser,
    HostType,
    frame,
)
from hwgen.host_link.sim_transport import SimulatedTransport
from hwgen.model import model_from_dict

# Simulated seconds to wait for an answer: generous for this model (a timestep takes a
# few hundred cycles), short enough that a hang fails fast.
TIMEOUT = 0.004
# Simulated seconds of silence after which the board has said all it had to say (an
# answer comes within a frame time or two: 40 bit times at most).
QUIET = 0.0002


def small_model(seed=0, name="link"):
    """20 graded inputs (0..3) -> 12 LIF -> 5 IF with graded spikes (D = 3): input events
    of 2-bit values, output events of graded values, one payload byte each way."""
    rng = np.random.default_rng(seed)
    return model_from_dict({
        "format": "hwgen-model/1", "name": name, "timesteps": 4,
        "input": {"size": 20, "max_value": 3},
        "layers": [
            {"name": "hidden", "type": "dense", "size": 12, "weight_bits": 6,
             "weights": rng.integers(-16, 32, (12, 20)).tolist(),
             "neuron": {"model": "lif", "leak": {"shift": 3}, "threshold": 60,
                        "reset": "soft", "v_bits": 12, "max_spikes": 1}},
            {"name": "out", "type": "dense", "size": 5, "weight_bits": 6,
             "weights": rng.integers(-20, 24, (5, 12)).tolist(),
             "neuron": {"model": "if", "threshold": 40, "reset": "soft", "v_bits": 10,
                        "max_spikes": 3}}],
        "output": "out"})


def inputs(model, n, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, model.input_max + 1, (n, model.timesteps, model.input_size))
    return x * (rng.random(x.shape) < 0.5)


@pytest.fixture(scope="module")
def model():
    return small_model()


@pytest.fixture(scope="module")
def transport(model):
    """One simulated board for the module: each test starts with a reset."""
    return SimulatedTransport(model)


@pytest.fixture
def board(model, transport):
    b = Board(transport, model, timeout=TIMEOUT)
    b.connect()
    return b


def drain(transport, parser):
    """The board's frames until every queued byte is on the line and the board is quiet."""
    frames = []
    while True:
        data = transport.read(QUIET)
        frames += parser.feed(data)
        if not data and transport.idle():
            return frames


def golden_out(model, x):
    return golden.run(model, x)[model.output]


def test_bit_exact(model, board):
    x = inputs(model, 3, seed=1)
    expected = golden_out(model, x)
    assert expected.sum() > 0 and expected.max() > 1      # graded spikes do come out
    assert np.array_equal(board.run(x), expected)
    assert board.stats["retries"] == 0
    # One inference as [T, size] gives [T, out size].
    assert np.array_equal(board.run(x[1]), expected[1])


class NoisyLine:
    """A transport that corrupts what the host sends: garbage bytes (with SYNC bytes among
    them) before the ``at``-th write, or one byte of that write flipped."""

    def __init__(self, inner, at, garbage=None, flip=None):
        self.inner, self.at, self.garbage, self.flip = inner, at, garbage, flip
        self.writes = 0

    def write(self, data):
        if self.writes == self.at:
            if self.garbage is not None:
                self.inner.write(self.garbage)
            if self.flip is not None:
                data = bytearray(data)
                data[self.flip % len(data)] ^= 0x5A
        self.writes += 1
        self.inner.write(data)

    def read(self, timeout):
        return self.inner.read(timeout)

    def now(self):
        return self.inner.now()

    def close(self):
        pass


@pytest.mark.parametrize("noise", ["garbage-between", "garbage-first", "flipped-byte"])
def test_bit_exact_after_garbage(model, transport, noise):
    x = inputs(model, 2, seed=2)
    rng = np.random.default_rng(3)
    garbage = bytes(rng.integers(0, 256, 24, dtype=np.uint8)) + bytes([SYNC, SYNC, 0x01])
    noisy = {"garbage-between": NoisyLine(transport, 3, garbage=garbage),
             "garbage-first": NoisyLine(transport, 0, garbage=garbage),
             "flipped-byte": NoisyLine(transport, 2, flip=5)}[noise]
    board = Board(noisy, model, timeout=TIMEOUT)
    board.connect()                   # its two writes come before the ones counted above
    noisy.at += noisy.writes
    assert np.array_equal(board.run(x), golden_out(model, x))
    if noise == "flipped-byte":
        # A corrupted frame is reported by the board; the driver reset and ran it again.
        assert board.stats["retries"] >= 1
        assert any("CRC" in e or "type" in e for e in board.stats["link_errors"])


def test_reset_mid_inference(model, board, transport):
    x = inputs(model, 2, seed=4)
    fmt = board.format
    # Half an inference, by hand: the events of two timesteps and their ticks.
    frames = fmt.inference_frames(x[0])
    half = [i for i, f in enumerate(frames) if fmt.unpack_input(f[2:-1]).tick][1] + 1
    transport.write(b"".join(frames[:half]))
    parser = FrameParser(fmt.board_lengths)
    seen = []
    while len([f for f in seen if f.type == BoardType.EVENT
               and fmt.unpack_output(f.payload).tick]) < 2:
        data = transport.read(TIMEOUT)
        assert data, "the board gave no output for the first two timesteps"
        seen += parser.feed(data)
    board.reset()
    assert np.array_equal(board.run(x), golden_out(model, x))


def test_input_beyond_max_value_refused(model, board, transport):
    x = inputs(model, 1, seed=5)
    x[0, 2, 7] = model.input_max + 1
    before = transport.bytes_to_board
    with pytest.raises(InputRangeError, match=r"input value 4 \(inference 0, timestep 2, "
                                              r"axon 7\) is outside \[0, 3\]"):
        board.run(x)
    with pytest.raises(InputRangeError, match="shape"):
        board.run(x[..., :-1])
    assert transport.idle() and transport.bytes_to_board == before     # nothing was sent


def test_wrong_model_identifier(model, transport):
    other = small_model(seed=1)                # same ports, other weights
    board = Board(transport, other, timeout=TIMEOUT)
    board.reset()
    with pytest.raises(WrongBitstreamError, match=r"carries model identifier 0x[0-9a-f]{8}, "
                                                  r"but model 'link' is 0x[0-9a-f]{8}"):
        board.identify()
    assert board.identify(check=False) == Board(transport, model).ident


def test_decoder_survives_noise_and_reports_errors(model, board, transport):
    fmt = board.format
    rng = np.random.default_rng(6)
    parser = FrameParser(fmt.board_lengths)
    transport.write(bytes(rng.integers(0, 256, 300, dtype=np.uint8)))
    # A byte without its stop bit: a framing error.
    transport.write_line_bits([0, 1, 0, 1, 0, 1, 0, 1, 0, 0, 0, 1])
    # A frame of an unknown type, one with a bad CRC, an event beyond the input's range.
    transport.write(bytes([SYNC, 0x7E, 0x00]) + frame(HostType.IDENTIFY)[:-1] + b"\x00")
    bad_event = (fmt.in_size << fmt.in_layout["addr"].offset).to_bytes(fmt.in_bytes, "little")
    transport.write(frame(HostType.EVENT, bad_event))
    frames = drain(transport, parser)
    assert all(f.error is None for f in frames), frames     # the board's frames are whole
    codes = {ErrorCode(f.payload[0]) for f in frames if f.type == BoardType.ERROR}
    # Errors come one at a time (later ones are dropped until the pending one is sent):
    # the noise's own errors, then the ones made on purpose (spaced by frames).
    assert ErrorCode.FRAMING in codes or ErrorCode.BAD_TYPE in codes or \
        ErrorCode.BAD_CRC in codes, codes
    assert codes <= set(ErrorCode)
    # The link still works: reset, identify, a bit-exact inference.
    board.connect()
    x = inputs(model, 1, seed=7)
    assert np.array_equal(board.run(x), golden_out(model, x))


@pytest.mark.parametrize("code, make", [
    pytest.param(ErrorCode.FRAMING, lambda t, fmt: t.write_line_bits([0] * 10 + [1]),
                 id="framing"),
    pytest.param(ErrorCode.BAD_TYPE, lambda t, fmt: t.write(bytes([SYNC, 0x7E])),
                 id="bad-type"),
    pytest.param(ErrorCode.BAD_CRC,
                 lambda t, fmt: t.write(frame(HostType.IDENTIFY)[:-1] + b"\x00"),
                 id="bad-crc"),
    pytest.param(ErrorCode.BAD_EVENT, lambda t, fmt: t.write(frame(
        HostType.EVENT, (fmt.in_size << fmt.in_layout["addr"].offset).to_bytes(
            fmt.in_bytes, "little"))), id="bad-event"),
    pytest.param(ErrorCode.TICK_MARK, lambda t, fmt: t.write(fmt.input_tick(last=True)),
                 id="tick-mark"),
])
def test_each_error_is_reported(board, transport, code, make):
    make(transport, board.format)
    frames = drain(transport, FrameParser(board.format.board_lengths))
    assert [ErrorCode(f.payload[0]) for f in frames if f.type == BoardType.ERROR] == [code]


def test_no_answer_times_out(model):
    class Silent:
        t = 0.0

        def write(self, data):
            pass

        def read(self, timeout):
            self.t += timeout
            return b""

        def now(self):
            return self.t

        def close(self):
            pass

    with pytest.raises(LinkTimeout, match="did not acknowledge a reset"):
        Board(Silent(), model, timeout=0.01).connect()
