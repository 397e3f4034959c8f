"""The model file, ``format: hwgen-model/1`` (DESIGN.md section 3): loading and validation.

:func:`load_model` reads a YAML file, checks every rule and returns a :class:`Model` whose
tensors are ``numpy.int64`` arrays. Any broken rule raises :class:`ModelError` with one
message naming the file, the layer and the rule; nothing else is raised for bad input.
The fields common to every model are checked here; each layer's own fields are checked
by its layer type (:mod:`hwgen.layers`), looked up by ``type:``.
"""

from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path

import yaml

from .layers import LAYER_TYPES, Layer, SourceTable
from .model_fields import MAX_SIZE, FieldChecker, ModelError
from .neuron import FRAC_BITS_RANGE, MAX_SPIKES_RANGE, V_BITS_RANGE, Neuron

# The neuron ranges live with the neuron and are re-exported here; a layer type's own
# ranges live in its module (e.g. hwgen.layers.dense.WEIGHT_BITS_RANGE).
__all__ = ["ModelError", "Neuron", "Layer", "Model", "load_model", "model_from_dict",
           "FORMAT", "MAX_SIZE", "MAX_TIMESTEPS", "INPUT_MAX_RANGE", "V_BITS_RANGE",
           "MAX_SPIKES_RANGE", "FRAC_BITS_RANGE"]

FORMAT = "hwgen-model/1"
# Ranges hwgen supports; the golden model computes in int64, so these keep every
# intermediate value (fan-in * weight * input value, v * decay) far inside 63 bits.
INPUT_MAX_RANGE = (1, 255)
MAX_TIMESTEPS = 65536

# (System)Verilog keywords cannot name the top module (IEEE 1800-2017 Annex B).
_RESERVED = set("""
    accept_on alias always always_comb always_ff always_latch and assert assign assume
    automatic before begin bind bins binsof bit break buf bufif0 bufif1 byte case casex casez
    cell chandle checker class clocking cmos config const constraint context continue cover
    covergroup coverpoint cross deassign default defparam design disable dist do edge else
    end endcase endchecker endclass endclocking endconfig endfunction endgenerate endgroup
    endinterface endmodule endpackage endprimitive endprogram endproperty endspecify
    endsequence endtable endtask enum event eventually expect export extends extern final
    first_match for force foreach forever fork forkjoin function generate genvar global
    highz0 highz1 if iff ifnone ignore_bins illegal_bins implements implies import incdir
    include initial inout input inside instance int integer interconnect interface
    intersect join join_any join_none large let liblist library local localparam logic
    longint macromodule matches medium modport module nand negedge nettype new nexttime
    nmos nor noshowcancelled not notif0 notif1 null or output package packed parameter pmos
    posedge primitive priority program property protected pull0 pull1 pulldown pullup
    pulsestyle_ondetect pulsestyle_onevent pure rand randc randcase randsequence rcmos real
    realtime ref reg reject_on release repeat restrict return rnmos rpmos rtran rtranif0
    rtranif1 s_always s_eventually s_nexttime s_until s_until_with scalared sequence
    shortint shortreal showcancelled signed small soft solve specify specparam static
    string strong strong0 strong1 struct super supply0 supply1 sync_accept_on
    sync_reject_on table tagged task this throughout time timeprecision timeunit tran
    tranif0 tranif1 tri tri0 tri1 triand trior trireg type typedef union unique unique0
    unsigned until until_with untyped use uwire var vectored virtual void wait wait_order
    wand weak weak0 weak1 while wildcard wire with within wor xnor xor
""".split())



@dataclass
class Model:
    name: str
    timesteps: int
    input_size: int
    input_max: int
    layers: list[Layer]        # in file order, which is evaluation order
    output: str
    path: Path | None = None
    input_shape: tuple | None = None    # (C, H, W) when the input is a feature map

    def __post_init__(self):
        if self.input_shape is None:
            self.input_shape = (self.input_size,)

    def layer(self, name):
        return next(layer for layer in self.layers if layer.name == name)


# --- loading -----------------------------------------------------------------------------

class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses a key given twice in one mapping (the default keeps the
    last one silently, hiding a typo)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, Hashable):
                continue                    # left to the default (which refuses it)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key '{key}' is given twice in one mapping",
                    key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_model(path):
    """Read and validate a model file; raise :class:`ModelError` on any broken rule."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ModelError(f"{path}: model file does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path}: model file cannot be read ({exc})") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ModelError(f"{path}: not valid YAML{at}: {problem}") from None
    return model_from_dict(data, path=path)


def model_from_dict(data, path=Path("<model>"), base_dir=None):
    """Validate a parsed model (a dict as read from YAML) and build a :class:`Model`."""
    path = Path(path)
    base_dir = Path(base_dir) if base_dir is not None else path.parent
    c = FieldChecker(path, base_dir)
    c.mapping(data, "the model")
    c.keys(data, "the model", ("format", "name", "timesteps", "input", "layers", "output"))
    if data["format"] != FORMAT:
        c.fail(f"format must be '{FORMAT}', got {data['format']!r}")
    name = c.name(data["name"], "name")
    if name in _RESERVED:
        c.fail(f"name '{name}' is a Verilog keyword and cannot name the top module")
    timesteps = c.integer(data["timesteps"], "timesteps", 1, MAX_TIMESTEPS)
    inp = c.mapping(data["input"], "input")
    c.keys(inp, "input", ("size", "max_value"), ("shape",))
    input_size = c.integer(inp["size"], "input.size", 1, MAX_SIZE)
    input_max = c.integer(inp["max_value"], "input.max_value", *INPUT_MAX_RANGE)
    input_shape = (input_size,)
    if "shape" in inp:
        input_shape = c.feature_map_shape(inp["shape"], "input.shape")
        if input_shape[0] * input_shape[1] * input_shape[2] != input_size:
            c.fail(f"input.shape {list(input_shape)} holds "
                   f"{input_shape[0] * input_shape[1] * input_shape[2]} values, "
                   f"but input.size is {input_size}")

    layers_data = data["layers"]
    if not isinstance(layers_data, list) or not layers_data:
        c.fail("layers must be a non-empty list")
    layers = []
    sizes = {"input": input_size}
    shapes = {"input": input_shape}
    spike_max = {"input": input_max}
    for index, ld in enumerate(layers_data):
        c.layer = None
        c.mapping(ld, f"layers[{index}]")
        if "name" not in ld:
            c.fail(f"layers[{index}] is missing the field 'name'")
        lname = c.name(ld["name"], f"layers[{index}].name")
        c.layer = lname
        if lname == "input":
            c.fail("'input' is reserved for the network input and cannot name a layer")
        if lname in sizes:
            c.fail("layer names must be unique; this name is used twice")
        if "type" not in ld:
            c.fail("the layer is missing the field 'type'")
        kind = _layer_type(c, ld["type"])
        c.keys(ld, "the layer", ("name", "type", *kind.required_fields), kind.optional_fields)
        # Layers are evaluated in file order, so a layer reads the network input or an
        # earlier layer; by default the one just before it.
        sources = SourceTable(sizes=dict(sizes), spike_max=dict(spike_max),
                              previous=layers[-1].name if layers else "input",
                              shapes=dict(shapes))
        layers.append(kind.from_fields(c, ld, sources))
        sizes[lname] = layers[-1].size
        shapes[lname] = tuple(layers[-1].shape)
        spike_max[lname] = layers[-1].spike_max

    c.layer = None
    output = data["output"]
    if not isinstance(output, str) or output not in sizes or output == "input":
        c.fail(f"output must name a layer, got {output!r}")
    return Model(name=name, timesteps=timesteps, input_size=input_size, input_max=input_max,
                 layers=layers, output=output, path=path, input_shape=input_shape)


def _layer_type(c, name):
    """The registered class of layer type ``name`` (:data:`hwgen.layers.LAYER_TYPES`)."""
    c.choice(name, "type", tuple(LAYER_TYPES))
    return LAYER_TYPES[name]
