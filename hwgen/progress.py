"""A progress bar on stderr for long runs (co-simulation of a whole test split)."""

import sys
import time

__all__ = ["ProgressBar"]


class ProgressBar:
    """``hwgen: verilator [#######.............]  120/360 inferences, 3.1 s``

    On a terminal the bar redraws in place; elsewhere (a log, CI) it prints a line at
    every tenth of the way, so that logs stay short. The clock starts at the first
    update (``update(0)`` when the work begins, after any build).
    """

    WIDTH = 30

    def __init__(self, label, total, unit, stream=None):
        self.label, self.total, self.unit = label, max(int(total), 1), unit
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.start = None
        self.done = 0
        self._shown_tenth = -1

    def update(self, done):
        if self.start is None:
            self.start = time.monotonic()
        self.done = min(int(done), self.total)
        tenth = 10 * self.done // self.total
        if self.tty:
            self._draw("\r")
        elif tenth != self._shown_tenth:
            self._shown_tenth = tenth
            self._draw("")
            self.stream.write("\n")

    def close(self):
        if self.tty and self.start is not None:      # end the bar's line
            self.stream.write("\n")
        self.stream.flush()

    def _draw(self, prefix):
        filled = self.WIDTH * self.done // self.total
        bar = "#" * filled + "." * (self.WIDTH - filled)
        self.stream.write(f"{prefix}hwgen: {self.label} [{bar}] {self.done}/{self.total} "
                          f"{self.unit}, {time.monotonic() - self.start:.1f} s")
        self.stream.flush()
