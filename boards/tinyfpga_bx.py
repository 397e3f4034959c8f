"""TinyFPGA BX: iCE40 LP8K (CM81), 16 MHz clock, one LED (B3), no button.

The board's USB port is wired straight to the FPGA and is used by the TinyFPGA
bootloader (``tinyprog``); there is no USB-UART on the board. hwgen adds two resources on
header pins (amaranth-boards' connector ``gpio`` 0, numbered as the silkscreen):

- ``uart`` 0: ``tx`` on PIN_1 (A2, the FPGA sends), ``rx`` on PIN_2 (A1, the FPGA
  receives), for an external 3.3 V USB-UART adapter (its RX to PIN_1, its TX to PIN_2,
  GND to G);
- ``led`` 1 on PIN_3 (B1): the self-test's fail LED (an external LED with a resistor to
  GND), since the board has only one LED.
"""

from amaranth.build import Attrs, Pins, Resource
from amaranth_boards.resources import UARTResource
from amaranth_boards.tinyfpga_bx import TinyFPGABXPlatform

EXTRA_RESOURCES = [
    UARTResource(0, rx="2", tx="1", conn=("gpio", 0),
                 attrs=Attrs(IO_STANDARD="SB_LVCMOS", PULLUP=1)),
    Resource("led", 1, Pins("3", dir="o", conn=("gpio", 0)), Attrs(IO_STANDARD="SB_LVCMOS")),
]


def platform():
    p = TinyFPGABXPlatform()
    p.add_resources(EXTRA_RESOURCES)
    return p
