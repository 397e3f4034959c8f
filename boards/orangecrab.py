"""OrangeCrab r0.2 with an ECP5 LFE5U-25F or -85F (MG285), 48 MHz clock; an RGB LED, one
button (amaranth-boards).

The board's USB port is the FPGA's own (USB pins wired to the FPGA; the DFU bootloader
in the first part of the flash uses it); there is no USB-UART on the board and the
amaranth-boards platform has no ``uart`` resource. hwgen adds:

- ``uart`` 0 on the Feather header pins of the standard Feather serial port, as LiteX's
  OrangeCrab platform has it: ``tx`` on the pin labelled 1 (M18, the FPGA sends), ``rx``
  on the pin labelled 0 (N17, the FPGA receives), for an external 3.3 V USB-UART adapter
  (its RX to 1, its TX to 0, GND to GND);
- ``led_r`` / ``led_g`` / ``led_b`` 0: the RGB LED's three colours as single LEDs (the
  self-test lights green or red).

amaranth-boards appends a ``dfu-suffix`` step to the build and lists the tool as
required; hwgen builds without it and adds the DFU suffix itself when it flashes with
dfu-util (:mod:`hwgen.flash`).
"""

from amaranth.build import Attrs, PinsN, Resource
from amaranth_boards import orangecrab_r0_2
from amaranth_boards.resources import UARTResource

EXTRA_RESOURCES = [
    UARTResource(0, rx="0", tx="1", conn=("io", 0), attrs=Attrs(IO_TYPE="LVCMOS33",
                                                               PULLMODE="UP")),
    Resource("led_r", 0, PinsN("K4", dir="o"), Attrs(IO_TYPE="LVCMOS33")),
    Resource("led_g", 0, PinsN("M3", dir="o"), Attrs(IO_TYPE="LVCMOS33")),
    Resource("led_b", 0, PinsN("J3", dir="o"), Attrs(IO_TYPE="LVCMOS33")),
]


def _build_platform(base):
    class BuildPlatform(base):
        @property
        def required_tools(self):
            return [tool for tool in super().required_tools if tool != "dfu-suffix"]

        @property
        def command_templates(self):
            return [t for t in super().command_templates if "dfu-suffix" not in t]

    BuildPlatform.__name__ = BuildPlatform.__qualname__ = f"{base.__name__}Build"
    return BuildPlatform


_PLATFORMS = {"25F": _build_platform(orangecrab_r0_2.OrangeCrabR0_2_25FPlatform),
              "85F": _build_platform(orangecrab_r0_2.OrangeCrabR0_2_85FPlatform)}


def platform(size="25F"):
    p = _PLATFORMS[size]()
    p.add_resources(EXTRA_RESOURCES)
    return p
