"""The sliding window of the feature-map layers (``conv2d``, ``sumpool2d``): the fields
``kernel``, ``stride``, ``padding`` and ``input_shape``, the output shape they give, and
which outputs one input position reaches (what an event-driven core walks).

Feature maps are ``[C, H, W]`` and flattened row-major: neuron ``(c, y, x)`` is address
``c * H * W + y * W + x``. Output rows are ``H_out = (H + 2 * pad - kh) // stride + 1``
(floor, as PyTorch and NIR do); output ``(oy, ox)`` covers the input rows
``oy * stride - pad .. oy * stride - pad + kh - 1`` (columns likewise), padding being zeros.
"""

from dataclasses import dataclass

from ..model_fields import kind
from .base import Layer

__all__ = ["Window2d", "parse_window", "source_feature_map"]


@dataclass(frozen=True)
class Window2d:
    in_shape: tuple         # (C, H, W) of the input feature map
    kernel: tuple           # (kh, kw)
    stride: tuple           # (sy, sx)
    padding: tuple          # (py, px)

    @property
    def out_hw(self):
        (_, h, w), (kh, kw), (sy, sx), (py, px) = (self.in_shape, self.kernel, self.stride,
                                                    self.padding)
        return ((h + 2 * py - kh) // sy + 1, (w + 2 * px - kw) // sx + 1)

    @property
    def area(self):
        return self.kernel[0] * self.kernel[1]

    def reach(self, axis, pos):
        """The outputs along ``axis`` (0: rows, 1: columns) whose window holds input
        position ``pos``, as ``(first output, kernel offset there, count)``: output
        ``first + k`` sees ``pos`` at kernel offset ``offset - k * stride``."""
        k, s, p = self.kernel[axis], self.stride[axis], self.padding[axis]
        n_out = self.out_hw[axis]
        hi = min((pos + p) // s, n_out - 1)                  # last output reaching pos
        lo = max(0, -(-(pos + p - k + 1) // s))              # first output reaching pos
        if hi < lo:
            return 0, 0, 0
        return lo, pos + p - lo * s, hi - lo + 1

    def positions_reached(self, addr):
        """How many output positions the window of an input event at flat address
        ``addr`` reaches (``n_y * n_x``: what the walker steps through for it)."""
        _, h, w = self.in_shape
        y, x = divmod(int(addr) % (h * w), w)
        return self.reach(0, y)[2] * self.reach(1, x)[2]

    def to_dict(self):
        return {"input_shape": list(self.in_shape), "kernel": list(self.kernel),
                "stride": list(self.stride), "padding": list(self.padding),
                "output_hw": list(self.out_hw)}


def _pair(c, value, what, lo):
    """``k`` or ``[kh, kw]`` as a pair of integers ``>= lo``."""
    if isinstance(value, list):
        if len(value) != 2:
            c.fail(f"{what} must be an integer or a list [height, width], got {value!r}")
        return tuple(c.integer(v, f"{what}[{i}]", lo, 4096) for i, v in enumerate(value))
    if isinstance(value, bool) or not isinstance(value, int):
        c.fail(f"{what} must be an integer or a list [height, width], not {kind(value)}")
    v = c.integer(value, what, lo, 4096)
    return (v, v)


def source_feature_map(c, fields, sources):
    """The one source a feature-map layer reads and its ``[C, H, W]``: the source's own
    shape, or the layer's ``input_shape`` (which a flat source needs)."""
    src = Layer.parse_source(c, fields, sources)
    own = sources.shape(src)
    if "input_shape" in fields:
        shape = c.feature_map_shape(fields["input_shape"], "input_shape")
        if len(own) == 3 and tuple(own) != shape:
            c.fail(f"input_shape {list(shape)} differs from the shape {list(own)} of "
                   f"input '{src}'")
        if shape[0] * shape[1] * shape[2] != sources.sizes[src]:
            c.fail(f"input_shape {list(shape)} holds {shape[0] * shape[1] * shape[2]} "
                   f"values, but input '{src}' has {sources.sizes[src]}")
        return src, shape
    if len(own) != 3:
        c.fail(f"input '{src}' is flat ({sources.sizes[src]} values): give "
               "input_shape: [C, H, W]")
    return src, tuple(own)


def parse_window(c, fields, in_shape, default_stride=None):
    """The window of a layer: ``kernel``, ``stride`` (default ``default_stride``, or the
    kernel when that is None) and ``padding`` (default 0), checked against ``in_shape``."""
    kernel = _pair(c, fields["kernel"], "kernel", 1)
    stride = (_pair(c, fields["stride"], "stride", 1) if "stride" in fields else
              kernel if default_stride is None else (default_stride, default_stride))
    padding = _pair(c, fields.get("padding", 0), "padding", 0)
    _, h, w = in_shape
    for axis, (name, size) in enumerate((("height", h), ("width", w))):
        if padding[axis] >= kernel[axis]:
            c.fail(f"padding {padding[axis]} must be smaller than the kernel {name} "
                   f"{kernel[axis]} (an output would see padding only)")
        if kernel[axis] > size + 2 * padding[axis]:
            c.fail(f"kernel {name} {kernel[axis]} is larger than the padded input {name} "
                   f"{size + 2 * padding[axis]} ({size} + 2 * padding {padding[axis]})")
    return Window2d(tuple(in_shape), kernel, stride, padding)
