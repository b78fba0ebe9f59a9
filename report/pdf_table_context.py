"""What a table's layout in the tables' sheet depends on outside the table itself.

In the sheet (`report.pdf_tables`) each table figure is a child of the body, on a page of its own, with the
manuscript's stylesheets. Its computed style therefore depends on: the stylesheets (every `<style>` and `<link>`),
the `<html>` and `<body>` tags it inherits from, and the selectors whose match depends on elements around it:
sibling combinators (`+`, `~`) and positional or relational pseudo-classes (`:nth-child`, `:first-of-type`, `:has`,
...). Only those selectors make the rest of the page's markup matter, and for them the key records which elements
of the tables (and the html and body elements) they match; the page is parsed only when such a selector could match
there. CSS counters are the one thing a sheet cannot reproduce (hidden elements do not count), so a page that uses
them has no tables' sheet.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

STYLESHEET = re.compile(r"<style\b[^>]*>.*?</style\s*>|<link\b[^>]*>", re.S | re.I)
STYLE_TEXT = re.compile(r"<style\b[^>]*>(.*?)</style\s*>", re.S | re.I)
OPEN_TAG = re.compile(r"<(html|body)\b[^>]*>", re.I)
COUNTERS = re.compile(r"counter-(?:increment|reset|set)\s*:|\bcounters?\(", re.I)
CONTEXTUAL = re.compile(r"[+~]|:(?:nth-|first-|last-|only-|has\()", re.I)
BRACKETS_AND_STRINGS = re.compile(r"\[[^\]]*\]|\"[^\"]*\"|'[^']*'")
COMPOUND_PARTS = re.compile(r"^([A-Za-z][\w-]*)|\.([\w-]+)|#([\w-]+)")


def uses_counters(html: str) -> bool:
    """Whether the page sets or shows CSS counters outside `@page` (page numbers in margin boxes are clipped
    from the sheet and do not count)."""
    css = " ".join(_rule_texts(_stylesheet_rules(html)))
    body = html.partition("<body")[2]
    return bool(COUNTERS.search(css) or ("counter" in body and COUNTERS.search(STYLESHEET.sub("", body))))


def context_key(html: str, tables: dict[str, re.Match[str]]) -> bytes:
    """Everything outside the table figures that the tables' layout in the sheet depends on (see module)."""
    parts = [m.group(0) for m in STYLESHEET.finditer(html)] + [m.group(0) for m in OPEN_TAG.finditer(html)]
    selectors = [s for s in _selectors(_stylesheet_rules(html)) if CONTEXTUAL.search(_plain(s))]
    markup = "".join(found.group(0) for found in tables.values())
    if any(":has(" in s.lower() or _may_match(_subject(s), markup) for s in selectors):
        parts.append(repr(_matches(html, selectors, list(tables))))
    return "\0".join(parts).encode()


def _stylesheet_rules(html: str) -> list[Any]:
    import tinycss2

    return [rule for text in STYLE_TEXT.findall(html)
            for rule in tinycss2.parse_stylesheet(text, skip_whitespace=True, skip_comments=True)]


def _style_rules(rules: Iterable[Any]) -> Iterator[Any]:
    """Qualified rules, also inside `@media` and `@supports` (not `@page`, whose selectors are pages)."""
    import tinycss2

    for rule in rules:
        if rule.type == "qualified-rule":
            yield rule
        elif rule.type == "at-rule" and rule.lower_at_keyword in ("media", "supports") and rule.content:
            yield from _style_rules(tinycss2.parse_rule_list(rule.content, skip_whitespace=True, skip_comments=True))


def _rule_texts(rules: Iterable[Any]) -> Iterator[str]:
    import tinycss2

    for rule in _style_rules(rules):
        yield tinycss2.serialize(rule.content)


def _selectors(rules: Iterable[Any]) -> list[str]:
    import tinycss2

    out = []
    for rule in _style_rules(rules):
        out.extend(s.strip() for s in _split_top_level(tinycss2.serialize(rule.prelude), ",") if s.strip())
    return out


def _plain(selector: str) -> str:
    """The selector without attribute brackets and strings (whose `~` or `+` are not combinators)."""
    return BRACKETS_AND_STRINGS.sub("", selector)


def _split_top_level(text: str, separators: str) -> list[str]:
    """`text` split at `separators` outside parentheses and brackets."""
    parts, depth, current = [], 0, []
    for char in text:
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        if depth == 0 and char in separators:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _subject(selector: str) -> str:
    """The selector's last compound (the elements it styles), pseudo-elements included."""
    return _split_top_level(_plain(selector).strip(), " >+~\t\n")[-1]


def _may_match(compound: str, markup: str) -> bool:
    """Whether an element of `markup` could match `compound`, judged by its type, classes and id only."""
    for tag, cls, ident in COMPOUND_PARTS.findall(compound):
        if tag and tag != "*" and not re.search(rf"<{re.escape(tag)}\b", markup, re.I):
            return False
        if cls and not re.search(rf'\bclass="[^"]*(?<![\w-]){re.escape(cls)}(?![\w-])', markup):
            return False
        if ident and f'id="{ident}"' not in markup:
            return False
    return True


def _matches(html: str, selectors: list[str], figure_ids: list[str]) -> list[tuple[str, int, int]]:
    """(figure id or html/body, element's position in it, selector's number) for every contextual selector
    matching the html or body element or an element of a table figure."""
    import cssselect2
    import tinyhtml5

    compiled = [(n, s) for n, text in enumerate(selectors) for s in cssselect2.compile_selector_list(text)]
    root = cssselect2.ElementWrapper.from_html_root(tinyhtml5.parse(html))
    scopes: list[tuple[str, list[Any]]] = [("html", [root])]
    wanted = set(figure_ids)
    for element in root.iter_subtree():
        if element.local_name == "body":
            scopes.append(("body", [element]))
        elif element.id in wanted and element.local_name == "figure":
            scopes.append((element.id, list(element.iter_subtree())))
    return [(name, position, n) for name, elements in scopes for position, element in enumerate(elements)
            for n, selector in compiled if selector.test(element)]
