"""Blocks only the board flow (`hwgen build`) uses: the built-in self-test, its ROMs and
its comparison, and the board top that drives the LEDs. Nothing in :mod:`hwgen.core`
imports them."""
