// The fast co-simulation engine: a Verilator C++ testbench of a generated network top.
//
// The same bench as hwgen/sim/cocotb_bench.py with no Python in the per-cycle loop: it
// drives the top input stream with the event words of a file, applies seeded random
// valid/ready stalls on both top streams, runs the stream protocol checker (DESIGN.md
// section 5, the rules of hwgen/sim/stream_checker.py) on every stream of the design
// and records every handshake of the recorded streams (the top input, each layer's
// spike stream and the top output) to a binary file that hwgen.sim.cosim turns into
// spikes. This file never changes with the design (fast_top.cpp holds the design's
// side), so ccache compiles it once; the streams are found at run time through
// Verilator's scope table (their valid/ready/payload signals are made public by
// hwgen/sim/fast.py's .vlt file).
//
// Usage: Vtop CONFIG   (the format is written by hwgen/sim/fast.py, one item per line:
//   top NAME | seed S | stall_in P | stall_out P | max_cycles C | idle_cycles C | ticks K |
//   timesteps T | words FILE | events FILE | summary FILE | waves FILE |
//   stream PATH ADDR_OFF ADDR_W VALUE_OFF VALUE_W TICK_OFF ADDR_COUNT IN_RANGE RECORD,
//   one line per stream; the summary's errors follow this order)
// Progress: "progress N" on stdout after each inference that left the top output.

#include "fast_top.h"
#include "verilated.h"
#include "verilated_syms.h"
#ifdef HWGEN_TRACE
#include "verilated_fst_c.h"
#endif

#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace {

[[noreturn]] void die(const std::string& msg) {
    std::fprintf(stderr, "hwgen harness: %s\n", msg.c_str());
    std::exit(2);
}

// splitmix64: a small seeded generator; the stall pattern is a function of the seed.
struct Rng {
    uint64_t state;
    uint64_t next() {
        uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    double uniform() { return (next() >> 11) * (1.0 / 9007199254740992.0); }
};

// One signal of the design, read through the pointer Verilator's scope table gives.
struct Probe {
    const void* data = nullptr;
    int bytes = 0;
    uint64_t read() const {
        switch (bytes) {
            case 1: return *static_cast<const uint8_t*>(data);
            case 2: return *static_cast<const uint16_t*>(data);
            case 4: return *static_cast<const uint32_t*>(data);
            default: return *static_cast<const uint64_t*>(data);
        }
    }
};

struct Field {
    int offset = 0, width = 0;
    uint64_t get(uint64_t bits) const {
        return width ? (bits >> offset) & ((uint64_t(1) << width) - 1) : 0;
    }
};

// One stream: its signals, its layout and the protocol checker's state.
struct Stream {
    std::string path;
    Field addr, value, tick;
    uint64_t addr_count = 0;
    int in_range = 1;           // addresses must be below addr_count
    int record = -1;            // index in the events file, or -1: checked only
    Probe valid, ready, payload;
    bool stalled = false;       // an event was offered and not taken last cycle
    uint64_t stalled_payload = 0;
    uint64_t ticks = 0;
    std::string error;          // the first broken rule

    void fail(uint64_t cycle, const std::string& rule) {
        if (error.empty())
            error = "stream '" + path + "', cycle " + std::to_string(cycle) + ": " + rule;
    }
};

Probe find_signal(const std::string& scope_name, const std::string& var_name) {
    const VerilatedScope* scope = Verilated::threadContextp()->scopeFind(scope_name.c_str());
    if (!scope) die("no scope '" + scope_name + "' in the design");
    const VerilatedVar* var = scope->varFind(var_name.c_str());
    if (!var) die("no signal '" + var_name + "' in '" + scope_name + "'");
    Probe p;
    p.data = var->datap();
    p.bytes = static_cast<int>(var->entSize());
    if (p.bytes != 1 && p.bytes != 2 && p.bytes != 4 && p.bytes != 8)
        die("signal '" + scope_name + "." + var_name + "' is wider than 64 bits");
    return p;
}

std::string hex(uint64_t v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);    // as Python's f"{v:#x}"
    return buf;
}

// JSON string literal (messages hold names, numbers and punctuation only).
std::string quoted(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

struct Config {
    std::string top, words_file, events_file, summary_file, waves_file;
    uint64_t seed = 0, max_cycles = 0, idle_cycles = 0, ticks = 0, timesteps = 1;
    double stall_in = 0, stall_out = 0;
    std::vector<Stream> streams;
};

Config read_config(const char* path) {
    std::ifstream in(path);
    if (!in) die(std::string("cannot read the configuration ") + path);
    Config cfg;
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream words(line);
        std::string key;
        words >> key;
        if (key == "top") words >> cfg.top;
        else if (key == "seed") words >> cfg.seed;
        else if (key == "stall_in") words >> cfg.stall_in;
        else if (key == "stall_out") words >> cfg.stall_out;
        else if (key == "max_cycles") words >> cfg.max_cycles;
        else if (key == "idle_cycles") words >> cfg.idle_cycles;
        else if (key == "ticks") words >> cfg.ticks;
        else if (key == "timesteps") words >> cfg.timesteps;
        else if (key == "words") words >> cfg.words_file;
        else if (key == "events") words >> cfg.events_file;
        else if (key == "summary") words >> cfg.summary_file;
        else if (key == "waves") words >> cfg.waves_file;
        else if (key == "stream") {
            Stream s;
            words >> s.path >> s.addr.offset >> s.addr.width >> s.value.offset
                  >> s.value.width >> s.tick.offset >> s.addr_count >> s.in_range >> s.record;
            s.tick.width = 1;
            cfg.streams.push_back(s);
        } else if (!key.empty()) {
            die("unknown configuration item '" + key + "'");
        }
        if (words.fail()) die("bad configuration line '" + line + "'");
    }
    if (cfg.streams.empty()) die("the configuration lists no stream");
    return cfg;
}

std::vector<uint64_t> read_words(const std::string& path) {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) die("cannot read the input events " + path);
    std::vector<uint64_t> words(static_cast<size_t>(in.tellg()) / sizeof(uint64_t));
    in.seekg(0);
    in.read(reinterpret_cast<char*>(words.data()), words.size() * sizeof(uint64_t));
    return words;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) die("usage: Vtop CONFIG");
    Config cfg = read_config(argv[1]);
    std::vector<uint64_t> words = read_words(cfg.words_file);

    auto context = std::make_unique<VerilatedContext>();
    context->threads(1);
#ifdef HWGEN_TRACE
    context->traceEverOn(true);
#endif
    std::unique_ptr<HwgenTop> top(hwgen_make_top(context.get()));
#ifdef HWGEN_TRACE
    auto trace = std::make_unique<VerilatedFstC>();
    if (!cfg.waves_file.empty()) {
        top->trace(trace.get());
        trace->open(cfg.waves_file.c_str());
    }
#endif
    // Stream "a.b.o_events" is port o_events of instance a.b, in scope TOP.<top>.a.b.
    for (Stream& s : cfg.streams) {
        std::string scope = "TOP." + cfg.top, port = s.path;
        size_t dot = s.path.rfind('.');
        if (dot != std::string::npos) {
            scope += "." + s.path.substr(0, dot);
            port = s.path.substr(dot + 1);
        }
        s.valid = find_signal(scope, port + "__valid");
        s.ready = find_signal(scope, port + "__ready");
        s.payload = find_signal(scope, port + "__payload");
    }

    std::FILE* events = std::fopen(cfg.events_file.c_str(), "wb");
    if (!events) die("cannot write " + cfg.events_file);
    Rng rng{cfg.seed};
    uint64_t time_ps = 0;
    bool rst = true, in_valid = false, out_ready = false;
    uint64_t in_payload = 0;
    auto half_cycle = [&](bool clk) {
        top->drive(rst, in_valid, in_payload, out_ready);
        top->set_clock(clk);
#ifdef HWGEN_TRACE
        if (!cfg.waves_file.empty()) trace->dump(time_ps);
#endif
        time_ps += 5000;        // a 10 ns clock, as the cocotb bench's
    };

    // Samples every stream at the end of a cycle (inputs driven, logic settled).
    uint64_t last_move = 0;
    auto sample = [&](uint64_t cycle) {
        for (Stream& s : cfg.streams) {
            bool valid = s.valid.read() & 1;
            if (!valid && !s.stalled) continue;     // the common case: nothing to check
            bool ready = s.ready.read() & 1;
            uint64_t payload = valid ? s.payload.read() : 0;
            if (s.stalled) {
                if (!valid) s.fail(cycle, "valid fell before the event was taken");
                else if (payload != s.stalled_payload)
                    s.fail(cycle, "payload changed from " + hex(s.stalled_payload) + " to " +
                                  hex(payload) + " while the event waited for ready");
            }
            s.stalled = valid && !ready;
            s.stalled_payload = payload;
            if (!(valid && ready)) continue;
            last_move = cycle;
            uint64_t addr = s.addr.get(payload), value = s.value.get(payload);
            uint64_t tick = s.tick.get(payload);
            if (s.ticks >= cfg.ticks) {
                s.fail(cycle, "an event after the last tick (Event(addr=" + std::to_string(addr) +
                              ", value=" + std::to_string(value) + ", tick=" +
                              std::to_string(tick) + "))");
            } else if (tick) {
                s.ticks++;
                if (s.path == "o_events" && s.ticks % cfg.timesteps == 0) {
                    std::printf("progress %" PRIu64 "\n", s.ticks / cfg.timesteps);
                    std::fflush(stdout);
                }
            } else if (s.in_range && addr >= s.addr_count) {
                s.fail(cycle, "address " + std::to_string(addr) + " out of range (the stream "
                              "carries " + std::to_string(s.addr_count) + " addresses)");
            }
            if (s.record >= 0) {
                uint64_t rec[3] = {static_cast<uint64_t>(s.record), cycle, payload};
                std::fwrite(rec, sizeof rec, 1, events);
            }
        }
    };
    auto all_done = [&]() {
        for (const Stream& s : cfg.streams)
            if (s.ticks < cfg.ticks) return false;
        return true;
    };

    for (int i = 0; i < 3; i++) {
        half_cycle(false);
        half_cycle(true);
    }
    rst = false;

    auto start = std::chrono::steady_clock::now();
    size_t index = 0;
    bool presenting = false;
    uint64_t cycle = 0;
    bool idle = false;          // stopped because no event moved for idle_cycles
    while (!all_done()) {
        // After the rising edge: a held event stays valid until it is taken.
        if (!presenting && index < words.size() && rng.uniform() >= cfg.stall_in) {
            in_payload = words[index];
            in_valid = true;
            presenting = true;
        }
        out_ready = rng.uniform() >= cfg.stall_out;
        half_cycle(false);
        sample(cycle);
        if (presenting && top->in_ready()) {
            index++;
            presenting = false;
        }
        half_cycle(true);
        if (!presenting) in_valid = false;
        cycle++;
        if (cycle > cfg.max_cycles) break;
        if (cycle - last_move > cfg.idle_cycles) {
            idle = true;
            break;
        }
    }
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    bool finished = all_done();
    // One more cycle: an event after the last tick shows up here.
    half_cycle(false);
    sample(cycle);
    for (Stream& s : cfg.streams)
        if (s.ticks != cfg.ticks)
            s.fail(cycle, std::to_string(s.ticks) + " ticks crossed, " +
                          std::to_string(cfg.ticks) +
                          " expected (one per timestep of every inference)");
    std::fclose(events);
#ifdef HWGEN_TRACE
    if (!cfg.waves_file.empty()) trace->close();
#endif
    top->final();

    std::ofstream summary(cfg.summary_file);
    summary << "{\"cycles\": " << cycle << ", \"seconds\": " << seconds
            << ", \"finished\": " << (finished ? "true" : "false")
            << ", \"idle\": " << (idle ? "true" : "false") << ", \"errors\": {";
    const char* sep = "";
    for (const Stream& s : cfg.streams) {
        if (s.error.empty()) continue;
        summary << sep << quoted(s.path) << ": " << quoted(s.error);
        sep = ", ";
    }
    summary << "}}\n";
    if (!summary) die("cannot write " + cfg.summary_file);
    return 0;
}
