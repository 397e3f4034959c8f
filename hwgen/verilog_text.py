"""Verilog text of an Amaranth design that every simulator runs the same way.

yosys's Verilog back-end gives each combinational process a trigger register, declared as
``reg \\$auto$verilog_backend...  = 0;`` and read by the process, so that the process runs
once at time 0 even when none of its real inputs ever changes. Icarus Verilog 11 in its
SystemVerilog mode (``-g2012``, what cocotb uses) runs a declaration's initializer without
an event, so such a process never runs and its outputs stay X -- e.g. a constant default
that a later branch never overrides. An ``initial`` assignment does make the event; it is
the same circuit for Verilator and for synthesis.

A comb assignment of a constant to *part* of a signal outside any ``If`` (e.g. an event's
``value`` bit set to 1 while its other fields are driven elsewhere) comes out as a bare
``always @*`` that reads nothing and has no trigger: neither Icarus nor Verilator ever
runs it. :func:`to_verilog` refuses such text instead of letting it simulate wrong;
drive the field inside the condition under which it matters.
"""

import re

from amaranth.back import verilog

__all__ = ["to_verilog"]

_TRIGGER = re.compile(r"^(\s*)reg (\\\$auto\$verilog_backend\S*)\s+= 0;$", re.MULTILINE)
_DEAD_PROCESS = re.compile(r"^\s*always @\*\n\s*(\S+(?: \[[^\]]*\])?) = \d+'[bhd][0-9a-fA-F_]+;$",
                           re.MULTILINE)


def to_verilog(component, name):
    """``amaranth.back.verilog.convert`` (no source locations: byte-identical text for the
    same design), with the time-0 triggers as ``initial`` assignments."""
    text = verilog.convert(component, name=name, emit_src=False)
    dead = _DEAD_PROCESS.search(text)
    if dead:
        raise AssertionError(f"generated Verilog drives {dead.group(1)} from a constant in "
                             "a process no simulator runs (see hwgen/verilog_text.py)")
    return _TRIGGER.sub(r"\1reg \2 ;\n\1initial \2  = 0;", text)
