"""The PLL settings of `hwgen build --clock` (hwgen/board/pll.py): within each PLL's
documented limits, the closest frequency at or below the one asked; impossible clocks
refused before any build."""

import pytest

from hwgen.board.pll import PllError, ecp5_pll, ice40_pll
from hwgen.cli import main


def test_ice40_matches_icepll():
    # `icepll -i 12 -o 30` and `-o 48`: DIVR 0, DIVF 79 / 63, DIVQ 5 / 4, FILTER_RANGE 1.
    assert ice40_pll(12, 30) == {"DIVR": 0, "DIVF": 79, "DIVQ": 5, "FILTER_RANGE": 1,
                                 "mhz": 30.0}
    assert ice40_pll(12, 48) == {"DIVR": 0, "DIVF": 63, "DIVQ": 4, "FILTER_RANGE": 1,
                                 "mhz": 48.0}


@pytest.mark.parametrize("f_out", [17, 20.5, 33.3, 50, 75, 100, 133, 200])
def test_ice40_within_limits_and_below_the_target(f_out):
    s = ice40_pll(12, f_out)
    f_pfd = 12 / (s["DIVR"] + 1)
    f_vco = f_pfd * (s["DIVF"] + 1)
    assert 10 <= f_pfd <= 133 and 533 <= f_vco <= 1066 and 1 <= s["DIVQ"] <= 6
    assert s["mhz"] == pytest.approx(f_vco / 2 ** s["DIVQ"])
    assert f_out * 0.95 <= s["mhz"] <= f_out


@pytest.mark.parametrize("f_out", [10, 25, 47.7, 50, 62.5, 100, 250])
def test_ecp5_within_limits_and_below_the_target(f_out):
    s = ecp5_pll(25, f_out)
    f_pfd = 25 / s["CLKI_DIV"]
    assert 3.125 <= f_pfd <= 400
    assert s["mhz"] == pytest.approx(f_pfd * s["CLKFB_DIV"])
    assert 400 <= s["mhz"] * s["CLKOP_DIV"] <= 800
    assert f_out * 0.95 <= s["mhz"] <= f_out


def test_impossible_clocks_are_refused():
    with pytest.raises(PllError, match="cannot make 10 MHz from 12 MHz"):
        ice40_pll(12, 10)
    with pytest.raises(PllError, match="cannot make 2 MHz"):
        ecp5_pll(25, 2)


def test_cli_refuses_a_clock_before_building(tmp_path, capsys):
    model = "examples/synthetic/synthetic.yaml"
    out = tmp_path / "out"
    assert main(["build", model, "--board", "icebreaker", "--clock", "5", "-o", str(out)]) == 1
    assert "the iCE40 PLL cannot make 5 MHz from 12 MHz" in capsys.readouterr().err
    assert not out.exists()
    with pytest.raises(SystemExit):
        main(["build", model, "--board", "icebreaker", "--clock", "fast", "-o", str(out)])
    assert "must be a frequency in MHz or 'max'" in capsys.readouterr().err
