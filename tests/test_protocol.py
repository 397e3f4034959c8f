"""The host-link protocol (docs/protocol.md) in Python: CRC, frame bytes (the examples of
the document, byte for byte), the frame parser's resynchronization, the model identifier,
the driver's checks against a scripted board, and `hwgen run`'s errors. The RTL runs in
rtl_tests/test_host_link.py."""

from pathlib import Path

import numpy as np
import pytest
from amaranth.hdl import Module, Signal
from amaranth.sim import Simulator

from hwgen.cli import main
from hwgen.host import (
    Board,
    InputRangeError,
    LinkError,
    LinkTimeout,
    NoBoardError,
    SerialTransport,
)
from hwgen.host_link.crc8 import crc8_next
from hwgen.host_link.protocol import (
    SYNC,
    BoardType,
    ErrorCode,
    FrameParser,
    HostType,
    LinkFormat,
    crc8,
    frame,
    model_id,
)
from hwgen.model import load_model, model_from_dict

ROOT = Path(__file__).resolve().parent.parent
SYNTHETIC = ROOT / "examples" / "synthetic" / "synthetic.yaml"


def hexbytes(text):
    return bytes.fromhex(text.replace(" ", ""))


@pytest.fixture(scope="module")
def synthetic():
    return load_model(SYNTHETIC)


def test_crc8_check_value():
    # CRC-8/SMBUS: the catalogue's check value of "123456789".
    assert crc8(b"123456789") == 0xF4
    assert crc8(b"") == 0


def test_crc8_hardware_equals_python():
    crc, byte, out = Signal(8), Signal(8), Signal(8)
    m = Module()
    m.d.comb += out.eq(crc8_next(crc, byte))
    sim = Simulator(m)
    rng = np.random.default_rng(0)
    cases = [(0, b) for b in range(256)] + [tuple(rng.integers(0, 256, 2)) for _ in range(200)]

    async def bench(ctx):
        for c, b in cases:
            ctx.set(crc, int(c))
            ctx.set(byte, int(b))
            assert ctx.get(out) == crc8([int(b)], int(c)), (c, b)

    sim.add_testbench(bench)
    sim.run()


def test_document_examples(synthetic):
    """The byte-exact examples of docs/protocol.md (the bundled synthetic model)."""
    fmt = LinkFormat.from_model(synthetic)
    assert (fmt.in_bytes, fmt.out_bytes) == (2, 1)
    assert fmt.input_event(5, 9) == hexbytes("A5 01 45 02 7F")
    assert fmt.input_tick(last=False) == hexbytes("A5 01 00 04 77")
    assert fmt.input_tick(last=True) == hexbytes("A5 01 01 04 62")
    assert frame(HostType.RESET) == hexbytes("A5 02 0E")
    assert frame(HostType.IDENTIFY) == hexbytes("A5 03 09")
    assert fmt.output_event(3, 2) == hexbytes("A5 81 23 4A")
    assert fmt.output_event(0, 0, tick=1) == hexbytes("A5 81 80 2A")
    assert fmt.output_event(1, 0, tick=1) == hexbytes("A5 81 81 2D")
    assert frame(BoardType.CREDIT, b"\x10") == hexbytes("A5 83 10 F9")
    assert frame(BoardType.RESET_ACK) == hexbytes("A5 84 95")
    assert frame(BoardType.ERROR, b"\x01") == hexbytes("A5 85 01 F0")
    ident = model_id(synthetic)
    body = bytes([BoardType.IDENT, 1, 32]) + ident.to_bytes(4, "little")
    assert frame(BoardType.IDENT, body[1:]) == bytes([SYNC]) + body + bytes([crc8(body)])


def test_event_payload_is_the_aer_packing(synthetic):
    from hwgen.aer import pack
    fmt = LinkFormat.from_model(synthetic)
    for addr, value in [(0, 1), (63, 15), (17, 3)]:
        bits = pack(fmt.in_layout, addr, value)
        assert fmt.input_event(addr, value)[2:4] == bits.to_bytes(2, "little")
        assert fmt.unpack_input(bits.to_bytes(2, "little")) == (addr, value, 0)


def test_parser_resynchronizes_after_garbage(synthetic):
    fmt = LinkFormat.from_model(synthetic)
    good = [fmt.output_event(3, 2), fmt.output_event(1, 0, tick=1),
            frame(BoardType.CREDIT, b"\x07")]
    corrupt = bytearray(fmt.output_event(4, 1))
    corrupt[2] ^= 0x10
    stream = (b"\x00\x13" + good[0] + bytes([SYNC, SYNC]) + good[1] + bytes(corrupt)
              + bytes([SYNC, 0x42]) + good[2])
    parser = FrameParser(fmt.board_lengths)
    # Byte by byte: the parser keeps partial frames across reads.
    frames = [f for b in stream for f in parser.feed(bytes([b]))]
    ok = [frame(f.type, f.payload) for f in frames if f.error is None]
    assert ok == good
    errors = [f.error for f in frames if f.error is not None]
    assert errors == ["bad CRC in a frame of type 0x81", "unknown frame type 0x42"]


def test_parser_survives_random_noise(synthetic):
    fmt = LinkFormat.from_model(synthetic)
    rng = np.random.default_rng(1)
    parser = FrameParser(fmt.board_lengths)
    parser.feed(bytes(rng.integers(0, 256, 5000, dtype=np.uint8)))
    # After noise (and at most one frame's length of bytes), good frames come through.
    tail = parser.feed(b"\x00" * 8 + fmt.output_event(2, 1) * 3)
    assert [frame(f.type, f.payload) for f in tail if f.error is None][-2:] == \
        [fmt.output_event(2, 1)] * 2


def test_model_id(synthetic):
    assert model_id(synthetic) == model_id(load_model(SYNTHETIC))    # stable
    data = {"format": "hwgen-model/1", "name": "m", "timesteps": 2,
            "input": {"size": 3, "max_value": 1},
            "layers": [{"name": "l", "type": "dense", "size": 2, "weight_bits": 4,
                        "weights": [[1, 2, 3], [4, 5, 6]],
                        "neuron": {"model": "if", "threshold": 3, "reset": "soft",
                                   "v_bits": 8, "max_spikes": 2}}],
            "output": "l"}
    a = model_id(model_from_dict(data))
    data["layers"][0]["weights"][1][2] = 7
    assert model_id(model_from_dict(data)) != a                     # weights count
    from hwgen.network import GenerateOptions
    # Graded spikes as bursts change the output events, hence the identifier.
    assert model_id(model_from_dict(data), GenerateOptions(burst=True)) != \
        model_id(model_from_dict(data))
    assert model_id(model_from_dict(data), GenerateOptions(lanes=2)) == \
        model_id(model_from_dict(data))


class ScriptedBoard:
    """A transport that answers like a board from a script: ``replies[k]`` are the bytes
    of the board's answer to the host's ``k``-th write."""

    def __init__(self, replies):
        self.replies = list(replies)
        self.written = []
        self.t = 0.0
        self.pending = b""

    def write(self, data):
        self.written.append(bytes(data))
        if self.replies:
            self.pending += self.replies.pop(0)

    def read(self, timeout):
        data, self.pending = self.pending, b""
        if not data:
            self.t += timeout
        return data

    def now(self):
        return self.t

    def close(self):
        pass


def _hello(model, depth=32):
    return frame(BoardType.RESET_ACK), frame(
        BoardType.IDENT, bytes([1, depth]) + model_id(model).to_bytes(4, "little"))


def test_driver_detects_out_of_step_marks(synthetic):
    fmt = LinkFormat.from_model(synthetic)
    x = np.zeros((1, synthetic.timesteps, synthetic.input_size), np.int64)
    # The board marks its first output tick as the end of an inference.
    bad = fmt.output_event(1, 0, tick=1)
    board = Board(ScriptedBoard([*_hello(synthetic), bad, frame(BoardType.RESET_ACK)] * 3),
                  synthetic, timeout=0.1, retries=0)
    with pytest.raises(LinkError, match="out of step: the board marked the end of an "
                                        "inference at timestep 0 of inference 0"):
        board.run(x)


def test_driver_reports_board_errors_and_gives_up(synthetic):
    x = np.zeros((1, synthetic.timesteps, synthetic.input_size), np.int64)
    error = frame(BoardType.ERROR, bytes([ErrorCode.OVERFLOW]))
    ack = frame(BoardType.RESET_ACK)
    board = Board(ScriptedBoard([*_hello(synthetic), error, ack, error, ack, error]),
                  synthetic, timeout=0.1, retries=2)
    with pytest.raises(LinkError, match="more input events than the board had room for "
                                        r"\(inference 0; gave up after 2 retries\)"):
        board.run(x)
    assert board.stats["retries"] == 2


def test_driver_timeout_names_what_it_awaited(synthetic):
    x = np.zeros((1, synthetic.timesteps, synthetic.input_size), np.int64)
    board = Board(ScriptedBoard(_hello(synthetic)), synthetic, timeout=0.5)
    with pytest.raises(LinkTimeout, match=r"within 0.5 s while waiting for the output of "
                                          r"inference 0, timestep 0"):
        board.run(x)


def test_driver_refuses_over_range_before_sending(synthetic):
    transport = ScriptedBoard([])
    board = Board(transport, synthetic)
    x = np.zeros((2, synthetic.timesteps, synthetic.input_size), np.int64)
    x[1, 3, 5] = 16
    with pytest.raises(InputRangeError, match=r"input value 16 \(inference 1, timestep 3, "
                                              r"axon 5\) is outside \[0, 15\]"):
        board.run(x)
    x[1, 3, 5] = -1
    with pytest.raises(InputRangeError, match="outside"):
        board.run(x)
    with pytest.raises(InputRangeError, match="must be integers"):
        board.run(x + 0.5)
    assert transport.written == []


def test_missing_serial_port():
    with pytest.raises(NoBoardError, match="cannot open the serial port /dev/hwgen-none"):
        SerialTransport("/dev/hwgen-none", 3_000_000)


def test_cli_run_without_board(tmp_path, capsys, synthetic):
    x = np.zeros((synthetic.timesteps, synthetic.input_size), np.int64)
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "y.npz"
    code = main(["run", str(SYNTHETIC), "--port", "/dev/hwgen-none", "--inputs",
                 str(tmp_path / "x.npy"), "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("error:") == 1 and "cannot open the serial port" in err
    assert "Traceback" not in err
    assert not out.exists() and list(tmp_path.iterdir()) == [tmp_path / "x.npy"]


def test_cli_run_on_the_simulated_board(tmp_path, capsys):
    import golden
    data = {"format": "hwgen-model/1", "name": "tiny", "timesteps": 3,
            "input": {"size": 4, "max_value": 2},
            "layers": [{"name": "out", "type": "dense", "size": 3, "weight_bits": 4,
                        "weights": [[3, 1, 0, 2], [1, 2, 3, 0], [-1, 3, 2, 1]],
                        "neuron": {"model": "if", "threshold": 3, "reset": "soft",
                                   "v_bits": 8, "max_spikes": 2}}],
            "output": "out"}
    import yaml
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(data))
    x = np.random.default_rng(0).integers(0, 3, (2, 3, 4))
    np.save(tmp_path / "x.npy", x)
    code = main(["run", str(tmp_path / "tiny.yaml"), "--port", "sim", "--inputs",
                 str(tmp_path / "x.npy"), "-o", str(tmp_path / "y.npz")])
    assert code == 0, capsys.readouterr().err
    model = model_from_dict(data)
    expected = golden.run(model, x)["out"]
    with np.load(tmp_path / "y.npz") as y:
        assert np.array_equal(y["out"], expected)
        assert np.array_equal(y["predictions"], golden.predict(model, {"out": expected}))
