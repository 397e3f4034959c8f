"""ULX3S with an ECP5 LFE5U-85F, 25 MHz clock; LEDs led 0..7 (amaranth-boards).

amaranth-boards lists openFPGALoader among the ULX3S's required tools, so a plain build
fails on a machine without the programmer; building never needs it (flashing does).
"""

from amaranth_boards.ulx3s import ULX3S_85F_Platform


class ULX3S85FBuildPlatform(ULX3S_85F_Platform):
    @property
    def required_tools(self):
        return [tool for tool in super().required_tools if tool != "openFPGALoader"]


def platform():
    return ULX3S85FBuildPlatform()
