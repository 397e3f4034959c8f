"""iCEBreaker: iCE40 UP5K, 12 MHz clock; LEDs led_g/led_r, one button; the FT2232H's
channel B is the UART (pins 6 rx, 9 tx) and channel A programs the SPI flash
(amaranth-boards)."""

from amaranth_boards.icebreaker import ICEBreakerPlatform


def platform():
    return ICEBreakerPlatform()
