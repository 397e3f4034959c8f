"""`hwgen generate`: a model becomes one self-contained Verilog file and a manifest."""

import json
from pathlib import Path

from . import __version__
from .aer import layout_fields
from .core.neuron_core import CYCLE_MODEL as core_cycle_model
from .network import GenerateOptions, NetworkTop
from .output_dir import atomic_output_dir
from .verilog_text import to_verilog

__all__ = ["generate_verilog", "build_manifest", "write_outputs"]

CYCLE_MODEL = (f"{core_cycle_model} per dense core; E = input events, N = neurons, "
               "P = lanes, B = extra burst cycles (sum(s) - count(s > 0)); an attention "
               "layer gives its own (layers.<name>.cycle_model)")


def generate_verilog(model, options=None):
    """``(verilog_text, top)``. The same model and options give byte-identical text."""
    top = NetworkTop(model, options or GenerateOptions())
    text = to_verilog(top, model.name)
    return text, top


def build_manifest(model, top, options, memory_plan=None):
    graph = top.graph
    layers = {}
    for node in graph.layers:
        layer = node.layer
        entry = {
            "type": layer.type_name,
            "inputs": list(layer.inputs),
            # Where each source lands in this layer's concatenated input.
            "input_bases": {edge.source: edge.base for edge in node.inputs},
            "shape": list(node.shape),
            "size": node.size,
        }
        parts = graph.spike_probes(node.name)
        if graph.fabric is None:
            (probe, part), = parts
            core = top.cores[part.name]
            entry |= {**layer.manifest_entry(core), "cost": layer.cost(core),
                      "event_layout": layout_fields(node.layout),
                      # Where the layer's spikes cross in the Verilog hierarchy.
                      "probe": probe}
        else:
            # Split over cores: each core's part of the layer, its cost and its probe
            # (addresses there are the core's own: neuron start + addr of the layer).
            entry["cores"] = {}
            for probe, part in parts:
                core = top.cores[part.name]
                sliced = (layer if part.size == node.size
                          else layer.split(part.start, part.start + part.size))
                entry["cores"][part.name] = {
                    "neurons": [part.start, part.start + part.size],
                    **sliced.manifest_entry(core), "cost": sliced.cost(core),
                    "event_layout": layout_fields(core.o_events.p.shape()),
                    "probe": probe}
        layers[node.name] = entry
    return {
        "format": "hwgen-manifest/1",
        "hwgen_version": __version__,
        "name": model.name,
        "top_module": model.name,
        "timesteps": model.timesteps,
        "options": options.to_dict(),
        "ports": {
            "clk": "clock, rising edge",
            "rst": "synchronous reset, active high",
            "i_events": {"size": model.input_size, "max_value": model.input_max,
                         "layout": layout_fields(top.input_layout)},
            "o_events": {"layer": model.output,
                         "layout": layout_fields(top.output_layout)},
        },
        "stream_protocol": "valid/ready; payload held while valid and not ready; events "
                           "of timestep t, then one tick; a core takes its first event "
                           "once its state is cleared after reset",
        "cycle_model": CYCLE_MODEL,
        "layers": layers,
        # Every stream of the design, as a testbench finds it below the top module.
        "streams": {s.path: {"addr_count": s.addr_count, "max_value": s.max_value,
                             "layout": layout_fields(s.layout)} for s in graph.streams()},
        "output": model.output,
        # The router fabric: cores, sources, routes and routing tables (absent: p2p).
        **({"fabric": graph.fabric.to_dict()} if graph.fabric is not None else {}),
        # Where a board build puts each memory (hwgen.memory_plan); this Verilog keeps
        # every memory an ordinary one.
        **({"memory_plan": memory_plan.to_dict()} if memory_plan is not None else {}),
    }


def write_outputs(model, out_dir, options=None, memory_plan=None):
    """Write ``<name>.v`` and ``manifest.json`` into ``out_dir``; return their paths.
    ``memory_plan``: the board's (:mod:`hwgen.memory_plan`), recorded in the manifest."""
    options = options or GenerateOptions()
    text, top = generate_verilog(model, options)
    manifest = build_manifest(model, top, options, memory_plan)
    with atomic_output_dir(out_dir) as tmp:
        (tmp / f"{model.name}.v").write_text(text)
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    out_dir = Path(out_dir)
    return out_dir / f"{model.name}.v", out_dir / "manifest.json"
