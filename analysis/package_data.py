"""Cohorts shipped inside an installed Python package, named in the spec as `package:<module>:<function>`.

The loader function is imported from the installed package and called without arguments; it must return a
pandas DataFrame. Nothing is downloaded. Because there is no file to hash, the cohort's fingerprint is the SHA-256
of the frame written as CSV, together with the providing package's name and version (see `package_input`).
"""

from __future__ import annotations

import hashlib
import importlib
from dataclasses import dataclass
from importlib import metadata

import pandas as pd

from paperlock.errors import PaperlockError

PREFIX = "package:"


@dataclass(frozen=True)
class PackageSource:
    module: str
    function: str

    @property
    def distribution(self) -> str:
        """The top-level import name, used to look up the installed version."""
        return self.module.split(".")[0]


def is_package_source(source: str) -> bool:
    return source.startswith(PREFIX)


def parse_package_source(source: str) -> PackageSource:
    """`package:pkg.module:loader` -> PackageSource('pkg.module', 'loader'); anything else is a user error."""
    parts = source[len(PREFIX):].split(":") if is_package_source(source) else []
    if len(parts) != 2 or not all(p and p.replace(".", "").replace("_", "").isalnum() for p in parts):
        raise PaperlockError(f"data.cohort {source!r}: expected 'package:<module>:<function>', "
                             "e.g. 'package:mypkg.datasets:load_cohort'")
    return PackageSource(parts[0], parts[1])


def read_package_cohort(source: str) -> pd.DataFrame:
    """Call the named loader of an installed package and return its frame (row index reset)."""
    src = parse_package_source(source)
    try:
        module = importlib.import_module(src.module)
    except ImportError as exc:
        raise PaperlockError(f"data.cohort {source!r}: cannot import {src.module!r} ({exc}); "
                             f"install the package that provides it") from None
    loader = getattr(module, src.function, None)
    if not callable(loader):
        raise PaperlockError(f"data.cohort {source!r}: {src.module!r} has no function {src.function!r}")
    try:
        frame = loader()
    except Exception as exc:  # a third-party loader may raise anything; report it as the user's data problem
        raise PaperlockError(f"data.cohort {source!r}: the loader failed: {type(exc).__name__}: {exc}") from None
    if not isinstance(frame, pd.DataFrame):
        raise PaperlockError(f"data.cohort {source!r}: the loader returned {type(frame).__name__}, not a DataFrame")
    if frame.empty:
        raise PaperlockError(f"data.cohort {source!r}: no data rows")
    frame = frame.reset_index(drop=True)
    frame.columns = [str(c) for c in frame.columns]
    return frame


def package_input(source: str, frame: pd.DataFrame) -> tuple[str, str]:
    """(`<source> (<package> <version>)`, SHA-256 of the frame as CSV): the input as results.json records it."""
    src = parse_package_source(source)
    try:
        version = metadata.version(src.distribution)
    except metadata.PackageNotFoundError:
        version = "version unknown"
    digest = hashlib.sha256(frame.to_csv(index=False, lineterminator="\n").encode("utf-8")).hexdigest()
    return f"{source} ({src.distribution} {version})", digest
