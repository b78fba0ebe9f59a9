"""Copy objects out of a PDF that pydyf wrote uncompressed into a pydyf document being written.

`report.pdf_figures` typesets the figures once, one per page, and later manuscripts draw those pages as Form
XObjects. This module reads only what pydyf writes with compression off (`N 0 obj` ... `endobj`, direct
`/Length` on streams), which is all it is ever given; anything else raises `SheetError`.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

import pydyf

OBJECT = re.compile(rb"(\d+) 0 obj\n")
REFERENCE = re.compile(rb"(?<![\d.])(\d+) 0 R\b")
LENGTH = re.compile(rb"/Length (\d+)")
STREAM_START, STREAM_END = b"\nstream\n", b"\nendstream\nendobj"


class SheetError(ValueError):
    """The file is not a PDF as pydyf writes it uncompressed (or references an object it lacks)."""


@dataclass(frozen=True)
class Page:
    contents: bytes                          # the page's (uncompressed) content stream
    resources: int                           # number of its resource dictionary
    box: tuple[float, float, float, float]   # its MediaBox, in points


def _match(pattern: bytes, head: bytes, what: str) -> bytes:
    found = re.search(pattern, head)
    if found is None:
        raise SheetError(f"no {what} in {head[:80]!r}")
    return found.group(1)


class ObjectTable:
    """Every object of the file: {number: (dictionary or value bytes, stream bytes or None)}."""

    def __init__(self, data: bytes) -> None:
        self.objects: dict[int, tuple[bytes, bytes | None]] = {}
        position = 0
        while found := OBJECT.search(data, position):
            number, start = int(found.group(1)), found.end()
            end, stream = data.find(b"\nendobj", start), data.find(STREAM_START, start)
            if end < 0:
                raise SheetError(f"object {number} has no end")
            if 0 <= stream < end:
                head = data[start:stream]
                if not (head.startswith(b"<<") and head.endswith(b">>")):
                    raise SheetError(f"object {number}: stream without a dictionary")
                length = int(_match(rb"/Length (\d+)", head, "stream length"))
                body = stream + len(STREAM_START)
                if data[body + length:body + length + len(STREAM_END)] != STREAM_END:
                    raise SheetError(f"object {number}: stream length does not match")
                self.objects[number] = (head, data[body:body + length])
                position = body + length + len(STREAM_END)
            else:
                self.objects[number] = (data[start:end], None)
                position = end + len(b"\nendobj")
        if not self.objects:
            raise SheetError("no objects")

    def _head(self, number: int) -> bytes:
        if number not in self.objects:
            raise SheetError(f"object {number} is referred to but missing")
        return self.objects[number][0]

    def pages(self) -> list[Page]:
        """The pages in order, from the page tree (pydyf writes a flat one)."""
        trees = [head for head, stream in self.objects.values() if stream is None and b"/Type /Pages" in head]
        if len(trees) != 1:
            raise SheetError("expected one page tree")
        pages = []
        for kid in REFERENCE.findall(_match(rb"/Kids \[([^\]]*)\]", trees[0], "page list")):
            head = self._head(int(kid))
            contents = self.objects.get(int(_match(rb"/Contents (\d+) 0 R", head, "page contents")))
            if contents is None or contents[1] is None or b"/Filter" in contents[0]:
                raise SheetError("page contents are not one uncompressed stream")
            box = tuple(float(v) for v in _match(rb"/MediaBox \[([^\]]*)\]", head, "MediaBox").split())
            if len(box) != 4:
                raise SheetError("MediaBox is not four numbers")
            resources = int(_match(rb"/Resources (\d+) 0 R", head, "page resources"))
            self._check_reachable(resources)
            pages.append(Page(contents[1], resources, box))  # type: ignore[arg-type]
        return pages

    def _check_reachable(self, root: int) -> None:
        seen, todo = set(), [root]
        while todo:
            number = todo.pop()
            if number not in seen:
                seen.add(number)
                todo.extend(int(n) for n in REFERENCE.findall(self._head(number)))


class _Copied(pydyf.Object):
    """An object of the source file, written into the target with its references renumbered."""

    def __init__(self, head: bytes, stream: bytes | None, copies: dict[int, _Copied]) -> None:
        super().__init__()
        self._head, self._stream, self._copies = head, stream, copies

    @property
    def data(self) -> bytes:
        head = REFERENCE.sub(lambda m: self._copies[int(m.group(1))].reference, self._head)
        if self._stream is None:
            return head
        stream, head = self._stream, LENGTH.sub(b"", head)
        if b"/Filter" not in head:  # written uncompressed: compress it here, as the rest of the document is
            stream, head = zlib.compress(stream), b"<</Filter /FlateDecode" + head[2:]
        return head[:-2] + b"/Length %d>>\nstream\n" % len(stream) + stream + b"\nendstream"

    @property
    def compressible(self) -> bool:
        return self._stream is None


class Copier:
    """Adds source objects to a target pydyf document, each at most once, with everything they refer to."""

    def __init__(self, table: ObjectTable, target: pydyf.PDF) -> None:
        self._table, self._target = table, target
        self._copies: dict[int, _Copied] = {}

    def reference(self, number: int) -> bytes:
        """`N 0 R` of the copy of source object `number` in the target."""
        todo = [number]
        while todo:
            current = todo.pop()
            if current in self._copies:
                continue
            head, stream = self._table.objects[current]
            self._copies[current] = copy = _Copied(head, stream, self._copies)
            self._target.add_object(copy)
            todo.extend(int(n) for n in REFERENCE.findall(head))
        return self._copies[number].reference
