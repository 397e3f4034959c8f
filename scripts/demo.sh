#!/usr/bin/env bash
# The main job on the bundled trained model (examples/digits/digits_d4.yaml: digits,
# 64 -> 64 IF -> 10 IF with graded spikes, made by scripts/train_digits.py): generate
# Verilog, check it bit-exact against the golden model in Verilator on the whole test split
# (360 real digits, accuracy of golden and RTL side by side),
# build an iCEBreaker (iCE40 UP5K) bitstream with a built-in self-test, and print the
# report. Installs what it needs first.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
./scripts/setup.sh
model=examples/digits/digits_d4.yaml
out=out/demo
hwgen=.venv/bin/hwgen

echo "== 1/3 generate: $model -> $out/"
$hwgen generate "$model" -o "$out"
echo "== 2/3 check: Verilator against the golden model on the 360 test digits, every layer, random stalls"
$hwgen check "$model" --samples all --sim verilator --lanes 4 --build-dir sim_build/demo
echo "== 3/3 build: iCEBreaker bitstream with a self-test (LED green = pass)"
$hwgen build "$model" --board icebreaker --top self-test -o "$out"
echo "== report ($out/report.json)"
cat "$out/report.json"
