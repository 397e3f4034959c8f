"""Helpers shared by the stream blocks."""

__all__ = ["forward_event"]


def forward_event(m, src, dst, addr_offset=0):
    """Combinationally pass AER events from stream ``src`` to stream ``dst``.

    Fields are assigned by name, so layouts of different widths meet (a narrower value
    field is zero-extended); ``addr_offset`` places the source inside a concatenation.
    """
    m.d.comb += [
        dst.valid.eq(src.valid),
        src.ready.eq(dst.ready),
        dst.p.addr.eq(src.p.addr + addr_offset),
        dst.p.value.eq(src.p.value),
        dst.p.tick.eq(src.p.tick),
    ]
