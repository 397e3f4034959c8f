"""Lattice iCEstick: iCE40 HX1K (TQ144), 12 MHz clock; five LEDs (led 0..3 red around
led 4, green, in the middle), no button; the FT2232H's channel B is the UART (pins 9 rx,
8 tx) and channel A programs the SPI flash (amaranth-boards)."""

from amaranth_boards.icestick import ICEStickPlatform


def platform():
    return ICEStickPlatform()
