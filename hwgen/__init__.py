"""hwgen: quantized spiking neural networks to bit-exact Verilog for open FPGAs."""

__version__ = "0.1.0"
