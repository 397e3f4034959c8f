"""The CRC-8 of the protocol as hardware: one byte per cycle, combinational."""

from amaranth.hdl import Cat

from .protocol import crc8

__all__ = ["crc8_next"]

# The CRC of one byte is linear in (crc XOR byte): output bit i is the XOR of the input
# bits j whose unit vector sets bit i. Computed once from the protocol's own crc8.
_TAPS = [[j for j in range(8) if crc8([1 << j]) >> i & 1] for i in range(8)]


def crc8_next(crc, byte):
    """The CRC after ``byte`` (8-bit values), as :func:`~hwgen.host_link.protocol.crc8`
    computes it: the eight shift-and-XOR steps folded into one XOR tree per bit."""
    x = crc ^ byte
    bits = []
    for taps in _TAPS:
        bit = x[taps[0]]
        for j in taps[1:]:
            bit = bit ^ x[j]
        bits.append(bit)
    return Cat(*bits)
