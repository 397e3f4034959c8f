"""Co-simulation of generated designs (cocotb testbench and its runner)."""
