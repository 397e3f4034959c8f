"""Radiona ULX3S with an ECP5 LFE5U-12F/25F/45F/85F (BG381), 25 MHz clock; LEDs led 0..7,
buttons (button_fire 0/1, up, down, left, right); the FT231X on the US1 port is both the
UART (``uart`` 0: M1 rx, L4 tx) and the JTAG programmer (amaranth-boards).

amaranth-boards lists openFPGALoader among the ULX3S's required tools, so a plain build
fails on a machine without the programmer; building never needs it (flashing does).
"""

from amaranth_boards import ulx3s


def _build_platform(base):
    class BuildPlatform(base):
        @property
        def required_tools(self):
            return [tool for tool in super().required_tools if tool != "openFPGALoader"]

    BuildPlatform.__name__ = BuildPlatform.__qualname__ = f"{base.__name__}Build"
    return BuildPlatform


_PLATFORMS = {size: _build_platform(getattr(ulx3s, f"ULX3S_{size}_Platform"))
              for size in ("12F", "25F", "45F", "85F")}
ULX3S85FBuildPlatform = _PLATFORMS["85F"]


def platform(size="85F"):
    return _PLATFORMS[size]()
