"""Errors a user can cause. The CLI catches :class:`HwgenError` once and prints its
message; anything else is an internal error and stays loud."""

__all__ = ["HwgenError"]


class HwgenError(Exception):
    """Base of every user-facing error: its message names what and where."""
