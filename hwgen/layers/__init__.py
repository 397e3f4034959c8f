"""The layer-type registry: each layer type is one module of this package, listed here once.

The loader looks a layer's ``type:`` up in :data:`LAYER_TYPES`; everything after that (the
golden step, the hardware block, shapes, costs, the manifest) is asked of the layer object
(:class:`~hwgen.layers.base.Layer`). Adding a type is adding its module and one line below.
"""

from .attention import AttentionLayer
from .base import Layer, SourceTable
from .conv2d import Conv2dLayer
from .dense import DenseLayer
from .flatten import FlattenLayer
from .sumpool2d import SumPool2dLayer

__all__ = ["LAYER_TYPES", "Layer", "SourceTable"]

LAYER_TYPES = {cls.type_name: cls for cls in (
    DenseLayer,
    AttentionLayer,
    Conv2dLayer,
    SumPool2dLayer,
    FlattenLayer,
)}
