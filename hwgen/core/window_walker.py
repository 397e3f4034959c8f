"""The address generator of the feature-map cores: it turns each input event of a
``[C, H, W]`` map into one step per output position whose window holds the event, the
event-driven form of a sliding window (docs/conv.md).

An event at flat address ``a`` is channel ``c = a // (H*W)``, row ``y``, column ``x``
(two constant dividers, no multiplier). Along each axis the outputs that see position
``y`` are consecutive, ``oy_lo .. oy_lo + n_y - 1``, seeing it at kernel offsets
``ky0, ky0 - sy, ...`` (:meth:`~hwgen.layers.window.Window2d.reach`); these come from
small tables indexed by ``y`` and ``x``, precomputed in Python and pre-scaled, so the walk
itself only adds constants. Each step carries

- ``out_index = c * out_channel_scale + (oy * W_out + ox) * pos_scale``: the output, and
- ``tap_index = ((c * kh + ky) * kw + kx) * tap_scale``: the kernel tap (weight row),
- ``centre``: the tap is the window's centre, ``((kh-1)//2, (kw-1)//2)`` (for SSC).

Ticks pass through as one step with ``tick`` set, after every step of the events before
them. Timing, without back-pressure: ``max(1, n_y * n_x)`` cycles per event, one per tick,
and three cycles of latency (two divider stages and the table lookup).
"""

from amaranth.hdl import Array, Const, Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..aer import bits_for, event_signature
from .const_divide import divmod_const

__all__ = ["WindowWalker", "step_layout"]


def step_layout(out_count, tap_count, value_max):
    return data.StructLayout({
        "out_index": range(max(2, out_count)),
        "tap_index": range(max(2, tap_count)),
        "value": range(value_max + 1),
        "centre": 1,
        "tick": 1,
    })


class WindowWalker(wiring.Component):
    """Walk each input event's outputs (see the module docstring).

    Parameters
    ----------
    window : hwgen.layers.window.Window2d
    event_max : int
        Largest value an input event carries.
    out_channel_scale, pos_scale, tap_scale : int
        Scales of ``out_index`` and ``tap_index``.

    Members
    -------
    i_events : In(stream.Signature(event_layout(C*H*W, event_max)))
        Out-of-range addresses are dropped.
    o_steps : Out(stream.Signature(step_layout(...)))
    """

    def __init__(self, window, *, event_max, out_channel_scale, pos_scale, tap_scale):
        self._window = window
        c, h, w = window.in_shape
        ho, wo = window.out_hw
        kh, kw = window.kernel
        self._scales = (out_channel_scale, pos_scale, tap_scale)
        out_count = (c - 1) * out_channel_scale + (ho * wo - 1) * pos_scale + 1
        tap_count = (c * kh * kw - 1) * tap_scale + 1
        super().__init__({
            "i_events": In(event_signature(c * h * w, event_max)),
            "o_steps": Out(stream.Signature(step_layout(out_count, tap_count, event_max))),
        })

    def _tables(self):
        """Per input row ``y`` and column ``x``: the count of outputs, the scaled first
        output and first tap, and the step at which the tap is the centre (the count when
        it never is)."""
        win = self._window
        _, kw = win.kernel
        _, wo = win.out_hw
        _, pos_scale, tap_scale = self._scales
        rows, cols = [], []
        for axis, n, table in ((0, win.in_shape[1], rows), (1, win.in_shape[2], cols)):
            centre = (win.kernel[axis] - 1) // 2
            for pos in range(n):
                first, offset, count = win.reach(axis, pos)
                hit = (offset - centre) // win.stride[axis]
                at_centre = ((offset - centre) % win.stride[axis] == 0 and 0 <= hit < count)
                scale_out = wo * pos_scale if axis == 0 else pos_scale
                scale_tap = kw * tap_scale if axis == 0 else tap_scale
                table.append((count, first * scale_out, offset * scale_tap,
                              hit if at_centre else count))
        return rows, cols

    def elaborate(self, platform):
        m = Module()
        win = self._window
        c, h, w = win.in_shape
        kh, kw = win.kernel
        sy, sx = win.stride
        _, wo = win.out_hw
        out_channel_scale, pos_scale, tap_scale = self._scales
        o = self.o_steps
        out_w, tap_w = len(o.p.out_index), len(o.p.tap_index)

        # S1: channel and position in the map (a // HW, a % HW).
        s1_valid, s1_tick = Signal(), Signal()
        s1_value = Signal.like(self.i_events.p.value)
        s1_c = Signal(range(max(2, c)))
        s1_r = Signal(range(max(2, h * w)))
        # S2: row and column.
        s2_valid, s2_tick = Signal(), Signal()
        s2_value = Signal.like(s1_value)
        s2_c = Signal.like(s1_c)
        s2_y = Signal(range(max(2, h)))
        s2_x = Signal(range(max(2, w)))
        # W: the walk of one event.
        w_valid, w_tick = Signal(), Signal()
        w_value = Signal.like(s1_value)
        rows, cols = self._tables()
        ny_max = max(r[0] for r in rows)
        nx_max = max(col[0] for col in cols)
        a, a_last, a_centre = (Signal(range(ny_max + 1), name=n)
                               for n in ("a", "a_last", "a_centre"))
        b, b_last, b_centre = (Signal(range(nx_max + 1), name=n)
                               for n in ("b", "b_last", "b_centre"))
        out_row, out_cur = Signal(out_w), Signal(out_w)
        tap_row, tap_cur = Signal(tap_w), Signal(tap_w)
        out_col0, tap_col0 = Signal(out_w), Signal(tap_w)   # column part, added per row

        step_last = (a == a_last) & (b == b_last)
        w_free = ~w_valid | (o.ready & (w_tick | step_last))
        s2_take = ~s2_valid | w_free
        s1_take = ~s1_valid | s2_take
        m.d.comb += self.i_events.ready.eq(s1_take)

        ev = self.i_events.p
        with m.If(s1_take):
            keep = self.i_events.valid & (ev.tick | (ev.addr < c * h * w))
            q, r = divmod_const(ev.addr, h * w, c - 1)
            m.d.sync += [s1_valid.eq(keep), s1_tick.eq(ev.tick), s1_value.eq(ev.value),
                         s1_c.eq(q), s1_r.eq(r)]
        with m.If(s2_take):
            y, x = divmod_const(s1_r, w, h - 1)
            m.d.sync += [s2_valid.eq(s1_valid), s2_tick.eq(s1_tick), s2_value.eq(s1_value),
                         s2_c.eq(s1_c), s2_y.eq(y), s2_x.eq(x)]

        def column(table, index, field):
            return Array(Const(entry[field], bits_for(max(e[field] for e in table)))
                         for entry in table)[index]

        chan_out = Array(Const(k * out_channel_scale, out_w) for k in range(c))[s2_c]
        chan_tap = Array(Const(k * kh * kw * tap_scale, tap_w) for k in range(c))[s2_c]
        ny, nx = column(rows, s2_y, 0), column(cols, s2_x, 0)
        with m.If(w_free):
            # An event that reaches no output (beyond the last window) is dropped here.
            m.d.sync += [w_valid.eq(s2_valid & (s2_tick | ((ny != 0) & (nx != 0)))),
                         w_tick.eq(s2_tick), w_value.eq(s2_value),
                         a.eq(0), b.eq(0), a_last.eq(ny - 1), b_last.eq(nx - 1),
                         a_centre.eq(column(rows, s2_y, 3)),
                         b_centre.eq(column(cols, s2_x, 3))]
            out0 = chan_out + column(rows, s2_y, 1)
            tap0 = chan_tap + column(rows, s2_y, 2)
            col_out, col_tap = column(cols, s2_x, 1), column(cols, s2_x, 2)
            m.d.sync += [out_row.eq(out0), tap_row.eq(tap0),
                         out_cur.eq(out0 + col_out), tap_cur.eq(tap0 + col_tap),
                         out_col0.eq(col_out), tap_col0.eq(col_tap)]
        with m.Elif(o.ready):
            # The next output: right along the row (kernel offset down by the stride), or
            # the next row's first output.
            with m.If(b == b_last):
                m.d.sync += [a.eq(a + 1), b.eq(0),
                             out_row.eq(out_row + wo * pos_scale),
                             tap_row.eq(tap_row - sy * kw * tap_scale),
                             out_cur.eq(out_row + wo * pos_scale + out_col0),
                             tap_cur.eq(tap_row - sy * kw * tap_scale + tap_col0)]
            with m.Else():
                m.d.sync += [b.eq(b + 1), out_cur.eq(out_cur + pos_scale),
                             tap_cur.eq(tap_cur - sx * tap_scale)]

        m.d.comb += [o.valid.eq(w_valid), o.p.tick.eq(w_tick), o.p.value.eq(w_value),
                     o.p.out_index.eq(out_cur), o.p.tap_index.eq(tap_cur),
                     o.p.centre.eq((a == a_centre) & (b == b_centre))]
        return m
