"""A plain progress display: one line per stage, its counters updated in place on a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """`stage()` opens a line, `update()` rewrites it (at most ~10 times a second), `done()` closes it."""

    def __init__(self, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._name = ""
        self._t0 = 0.0
        self._last = 0.0
        self._text = ""

    def stage(self, name: str) -> None:
        self._name, self._t0, self._last, self._text = name, time.monotonic(), 0.0, ""
        self._write(f"{name} ...", final=False)

    def update(self, **counters: object) -> None:
        now = time.monotonic()
        self._text = "  ".join(f"{k}={_fmt(v)}" for k, v in counters.items())
        if self.tty and now - self._last > 0.1:
            self._last = now
            self._write(f"{self._name}: {self._text}", final=False)

    def done(self, **counters: object) -> None:
        if counters:
            self._text = "  ".join(f"{k}={_fmt(v)}" for k, v in counters.items())
        elapsed = time.monotonic() - self._t0
        self._write(f"{self._name}: {self._text}  ({elapsed:.1f} s)".replace(":   (", ": ("), final=True)

    def _write(self, line: str, final: bool) -> None:
        if not self.enabled:
            return
        if self.tty:
            self.stream.write("\r\033[K" + line + ("\n" if final else ""))
        elif final:
            self.stream.write(line + "\n")
        self.stream.flush()


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)
