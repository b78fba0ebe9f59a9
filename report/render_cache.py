"""Reuse of rendering work whose inputs did not change: the rendered tables and the PDF, Word and Quarto files.

A re-render after a template edit redraws nothing it does not have to: tables are rebuilt only when the results,
the spec or the table code change, and each output file is rewritten only when what it is made from changed.
Every entry in `<build>/.cache/render.json` carries a key, the SHA-256 of all its inputs (the manuscript HTML, the
figures' fingerprint, the writer's source code and the versions of the libraries it uses); an output file is
reused only when its key matches and the file in the build folder still has the recorded hash.
"""

from __future__ import annotations

import hashlib
import json
from importlib import metadata
from pathlib import Path
from typing import Any

from paperlock.atomic import atomic_write_text

CACHE_FILE = Path(".cache") / "render.json"
REPORT_CODE = Path(__file__).resolve().parent
VERSION = 1

# what each output is made from, besides the HTML: source files (relative to report/) and distributions
WRITERS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "pdf": (("pdf.py", "pdf_*.py"), ("weasyprint", "pydyf", "fonttools", "tinycss2", "cssselect2", "pillow")),
    "docx": (("docx.py", "manuscript_html.py"), ("python-docx", "lxml")),
    "qmd": (("quarto.py", "manuscript_html.py"), ("pypandoc-binary", "pypandoc", "lxml", "pyyaml")),
}
TABLE_CODE = ("formatting.py", "tables/*.py")
TABLE_LIBRARIES = ("great-tables", "pandas", "css-inline")


def _versions(names: tuple[str, ...]) -> str:
    out = []
    for name in names:
        try:
            out.append(f"{name}={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            out.append(f"{name}=-")
    return ";".join(out)


def _code(patterns: tuple[str, ...]) -> bytes:
    files = sorted({p for pattern in patterns for p in REPORT_CODE.glob(pattern)})
    return b"".join(p.name.encode() + b"\0" + p.read_bytes() for p in files)


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def output_key(fmt: str, html: str, figures_fingerprint: str) -> str:
    """Hash of everything the `fmt` file is made from."""
    code, libraries = WRITERS[fmt]
    h = hashlib.sha256(f"{VERSION}\0{fmt}\0{figures_fingerprint}\0{_versions(libraries)}\0".encode())
    h.update(_code(code))
    h.update(html.encode())
    return h.hexdigest()


def tables_key(results_json: str, spec_sha256: str) -> str:
    """Hash of everything the rendered tables are made from."""
    h = hashlib.sha256(f"{VERSION}\0tables\0{spec_sha256}\0{_versions(TABLE_LIBRARIES)}\0".encode())
    h.update(_code(TABLE_CODE))
    h.update(results_json.encode())
    return h.hexdigest()


class RenderCache:
    """The record of the last successful render in a build folder; `enabled=False` reuses nothing."""

    def __init__(self, build_dir: Path, enabled: bool = True) -> None:
        self.path = build_dir / CACHE_FILE
        self.old: dict[str, Any] = {}
        if enabled and self.path.is_file():
            try:
                old = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                old = {}
            self.old = old if isinstance(old, dict) and old.get("version") == VERSION else {}
        self.new: dict[str, Any] = {"version": VERSION}

    def reusable(self, fmt: str, key: str, current: Path) -> bool:
        """True when `current` was written from inputs with this key and has not been changed since."""
        entry = self.old.get(fmt)
        if not (isinstance(entry, dict) and entry.get("key") == key and current.is_file()):
            return False
        if file_sha256(current) != entry.get("sha256"):
            return False
        self.new[fmt] = entry
        return True

    def record(self, fmt: str, key: str, written: Path) -> None:
        self.new[fmt] = {"key": key, "sha256": file_sha256(written)}

    def tables(self, key: str) -> dict[str, dict] | None:
        entry = self.old.get("tables")
        if isinstance(entry, dict) and entry.get("key") == key and isinstance(entry.get("tables"), dict):
            self.new["tables"] = entry
            return entry["tables"]
        return None

    def record_tables(self, key: str, tables: dict[str, dict]) -> None:
        self.new["tables"] = {"key": key, "tables": tables}

    def save(self) -> None:
        """Write the record (atomically); keeps the entries of formats not rendered this time."""
        merged = {k: v for k, v in self.old.items() if k not in self.new}
        merged.update(self.new)
        atomic_write_text(self.path, json.dumps(merged, sort_keys=True))
