"""The PDF: WeasyPrint typesets the self-contained manuscript HTML, in a worker process of its own.

Typesetting is the longest single step of a report, so `PdfWorker` starts before the HTML exists: the child
imports WeasyPrint while the figures are drawn, then typesets as soon as it is handed the HTML, while the
parent writes the Word and Quarto files. Figures and tables are typeset once and drawn from kept sheets while
they do not change (`report.pdf_standins`), so an edit of the prose lays out little more than the prose.
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from report import workers
from report.render_cache import CACHE_FILE

FLOAT_ROUNDS = 4  # layouts at most per PDF: floats deferred one run a round (`report.pdf_floats`), then the last


def write_pdf(html: str, base_url: Path, target: Path) -> None:
    """Typeset `html` to `target` (relative URLs resolve against `base_url`, the build folder).

    Figures and tables are drawn from sheets kept in `<base_url>/.cache/` (`report.pdf_standins`); should
    WeasyPrint not take them as laid out there, the manuscript is typeset again without them. A float that would
    leave the page before it mostly blank lets the text after it go first (`report.pdf_floats`)."""
    from weasyprint import HTML

    with shared_style_attributes(), fixed_font_stamps():
        html, document, stand_ins = settled(html, base_url)
        if not stand_ins.images:
            document.write_pdf(target)
            return
        document.write_pdf(target, finisher=stand_ins.finish)
        if stand_ins.complete():
            return
        HTML(string=html, base_url=str(base_url)).write_pdf(target)


def settled(html: str, base_url: Path) -> tuple[str, Any, Any]:
    """(the manuscript with its floats placed, its WeasyPrint layout, the stand-ins that layout draws from)."""
    from weasyprint import HTML

    from report.pdf_figures import stand_in_figures
    from report.pdf_floats import deferred
    from report.pdf_standins import StandIns
    from report.pdf_tables import stand_in_tables

    folder = Path(base_url) / CACHE_FILE.parent
    for round_ in range(FLOAT_ROUNDS):
        stand_ins = StandIns()
        quick = stand_in_figures(stand_in_tables(html, stand_ins, folder, str(base_url)), stand_ins, folder)
        options = {"cache": stand_ins.images} if stand_ins.images else {}
        document = HTML(string=quick if stand_ins.images else html, base_url=str(base_url)).render(**options)
        moved = deferred(html, document) if round_ < FLOAT_ROUNDS - 1 else None
        if moved is None:
            break
        html = moved
    return html, document, stand_ins


class _Declarations(list):
    """The parsed declarations of one `style` attribute, with the text they were parsed from."""

    source = ""


class _Tinycss2:
    """tinycss2 as `weasyprint.css` sees it, with `parse_blocks_contents` of a string answered from a cache."""

    def __init__(self, module: Any) -> None:
        self._module = module
        self._parse = functools.lru_cache(maxsize=4096)(lambda text: tuple(module.parse_blocks_contents(text)))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)

    def parse_blocks_contents(self, source: Any, *args: Any, **kwargs: Any) -> list:
        if isinstance(source, str) and not args and not kwargs:
            parsed = _Declarations(self._parse(source))
            parsed.source = source
            return parsed
        return self._module.parse_blocks_contents(source, *args, **kwargs)


def _validated_once(preprocess: Callable[..., Iterable]) -> Callable[..., Iterable]:
    """`preprocess_declarations` that validates the declarations of each distinct style attribute once."""
    validated: dict[tuple[str, str], tuple] = {}

    def shared(base_url: str, declarations: Any, *args: Any, **kwargs: Any) -> Iterable:
        if args or kwargs or not isinstance(declarations, _Declarations):
            return preprocess(base_url, declarations, *args, **kwargs)
        key = (base_url, declarations.source)
        if key not in validated:
            validated[key] = tuple(preprocess(base_url, declarations))
        return validated[key]

    return shared


FONT_EPOCH = "315532800"  # 1980-01-01 00:00 UTC (as zip archives use): the stamp of the embedded font subsets


@contextlib.contextmanager
def fixed_font_stamps() -> Iterator[None]:
    """While typesetting, stamp the embedded font subsets with a fixed time instead of the current one.

    WeasyPrint subsets each font with fontTools, which writes the current time into the subset's `head` table
    unless SOURCE_DATE_EPOCH is set (https://reproducible-builds.org/specs/source-date-epoch/): the same
    manuscript typeset a second later differed in its font bytes (found as a flaky byte comparison of two PDFs in
    the tests). A SOURCE_DATE_EPOCH set by the user is kept; otherwise `FONT_EPOCH` holds while typesetting."""
    if "SOURCE_DATE_EPOCH" in os.environ:
        yield
        return
    os.environ["SOURCE_DATE_EPOCH"] = FONT_EPOCH
    try:
        yield
    finally:
        os.environ.pop("SOURCE_DATE_EPOCH", None)


@contextlib.contextmanager
def shared_style_attributes() -> Iterator[None]:
    """While typesetting, parse and validate each distinct `style=""` attribute once.

    WeasyPrint tokenises and validates the style attribute of every element; the tables' inlined CSS repeats a
    score of distinct strings on over a thousand cells, so sharing the work saves over a tenth of the typesetting
    time when every table is laid out (the validation alone 0.15 of 3.6 s CPU on the reference study).
    WeasyPrint only reads the validated declarations (as it does those of a stylesheet rule, which many elements
    share), and the PDF is byte-identical either way (tested). Should a WeasyPrint release stop reaching tinycss2
    and `preprocess_declarations` this way, nothing is changed."""
    import tinycss2
    import weasyprint.css as css

    preprocess = getattr(css, "preprocess_declarations", None)
    if getattr(css, "tinycss2", None) is not tinycss2 or not callable(preprocess):
        yield
        return
    css.tinycss2 = _Tinycss2(tinycss2)
    css.preprocess_declarations = _validated_once(preprocess)
    try:
        yield
    finally:
        css.tinycss2 = tinycss2
        css.preprocess_declarations = preprocess


def _serve(conn: Any) -> None:
    """Body of the PDF process: import WeasyPrint, wait for one job (or None: nothing to do), report back."""
    failed: BaseException | None = None
    try:
        import weasyprint  # noqa: F401 - imported ahead of the job, while the parent is still busy
    except BaseException as exc:  # noqa: BLE001 - e.g. Pango missing: reported with the job, as in-process
        failed = exc
    try:
        job = conn.recv()
    except EOFError:
        return
    if job is None:
        return
    try:
        if failed is not None:
            raise failed
        start = time.perf_counter()
        write_pdf(*job)
        conn.send(("ok", time.perf_counter() - start))
    except BaseException as exc:  # noqa: BLE001 - every failure must reach the parent
        conn.send(("error", *workers.portable(exc)))


class PdfWorker:
    """Typesets one PDF in a child process (or in this process when only one job may run at a time)."""

    def __init__(self) -> None:
        self._process: Any = None
        self._conn: Any = None
        self._job: tuple[str, Path, Path] | None = None
        self._answered = False
        if workers.jobs() > 1:
            ctx = workers.context()
            self._conn, child = ctx.Pipe()
            self._process = ctx.Process(target=_serve, args=(child,), name="paperlock-pdf", daemon=True)
            self._process.start()
            child.close()

    def submit(self, html: str, base_url: Path, target: Path) -> None:
        """Start typesetting `html` into `target`; `result()` waits for it."""
        if self._process is None:
            self._job = (html, base_url, target)
        else:
            self._conn.send((html, base_url, target))

    def result(self) -> float:
        """Wait for the PDF; returns the typesetting time in seconds. Raises the worker's error."""
        if self._process is None:
            assert self._job is not None
            start = time.perf_counter()
            write_pdf(*self._job)
            return time.perf_counter() - start
        try:
            reply = self._conn.recv()
            self._answered = True
        except EOFError:
            self._process.join()
            raise RuntimeError(f"the PDF worker stopped before finishing (exit code {self._process.exitcode})") \
                from None
        if reply[0] == "error":
            workers.reraise(reply[1], reply[2], "typesetting the PDF")
        return float(reply[1])

    def close(self) -> None:
        """Stop the worker if it is still running (no job, or after an error elsewhere) and reap it."""
        if self._process is None:
            return
        if not self._answered and self._process.exitcode is None:
            self._process.terminate()
        self._process.join()
        self._conn.close()
        self._process = None
