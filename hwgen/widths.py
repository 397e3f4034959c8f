"""Bit widths of integer ranges: the one place every generator, the manifest and the
quantizer size their fields, memories and membranes."""

__all__ = ["bits_for", "signed_bits"]


def bits_for(max_value):
    """Bits of an unsigned field that holds ``0 .. max_value`` (at least 1)."""
    return max(1, int(max_value).bit_length())


def signed_bits(lo, hi):
    """Bits of a two's-complement value that holds ``lo .. hi`` (at least 1)."""
    return max(-int(lo) - 1, int(hi), 0).bit_length() + 1
