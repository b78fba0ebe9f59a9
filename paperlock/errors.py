"""Errors that reach the user as a message (file, row, column), never as a traceback."""

from __future__ import annotations


class PaperlockError(Exception):
    """An error in the user's input or set-up: printed as a message, exit status 2."""
