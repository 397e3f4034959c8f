"""Division by a constant without a multiplier or DSP: shared by the cores that turn a flat
event address into its coordinates (attention tokens and channels, feature-map positions)."""

from amaranth.hdl import Cat, Const, Mux

from ..aer import bits_for

__all__ = ["divmod_const"]


def divmod_const(value, divisor, quotient_max):
    """``(value // divisor, value % divisor)`` for a constant divisor, as a restoring
    divider of compare-subtract steps (one per quotient bit): no multiplier or DSP."""
    if divisor & (divisor - 1) == 0:
        k = divisor.bit_length() - 1
        return value >> k, value[:k] if k else Const(0, 1)
    width = len(value)
    rem, bits = value, []
    for j in reversed(range(bits_for(quotient_max))):
        step = divisor << j
        take = rem >= step
        rem = Mux(take, (rem - step)[:width], rem)
        bits.append(take)
    return Cat(*reversed(bits)), rem
