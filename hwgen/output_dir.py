"""Output folders that appear whole or not at all (no half-written output on failure).

Kept apart from the generators so that commands which only write files (``import-nir``,
``quantize``) do not import Amaranth.
"""

import shutil
import tempfile
from pathlib import Path

__all__ = ["atomic_output_dir"]


class atomic_output_dir:
    """Write into a temporary folder beside ``out_dir``; move it in place only on success,
    so a failure leaves no half-written output folder. Files of an existing ``out_dir``
    that the new output does not replace are kept."""

    def __init__(self, out_dir):
        self.out_dir = Path(out_dir)

    def __enter__(self):
        parent = self.out_dir.resolve().parent
        parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.out_dir.name}.", dir=parent))
        return self.tmp

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return False
        self.out_dir.mkdir(parents=True, exist_ok=True)
        for item in self.tmp.iterdir():
            dest = self.out_dir / item.name
            if dest.is_dir():
                shutil.rmtree(dest)
            item.replace(dest)
        self.tmp.rmdir()
        return False
