"""iCEBreaker: iCE40 UP5K, 12 MHz clock; LEDs led_g/led_r on the board (amaranth-boards)."""

from amaranth_boards.icebreaker import ICEBreakerPlatform


def platform():
    return ICEBreakerPlatform()
