"""The rendered manuscript HTML as a tree, for the writers that convert it (DOCX, Quarto)."""

from __future__ import annotations

import lxml.html
from lxml.html import HtmlElement

from paperlock.errors import PaperlockError


def manuscript_body(html: str) -> tuple[HtmlElement, HtmlElement | None]:
    """(the <body> element, its <h1> title element or None)."""
    body = lxml.html.document_fromstring(html).find("body")
    if body is None:
        raise PaperlockError("the manuscript HTML has no <body>")
    return body, body.find("h1")
