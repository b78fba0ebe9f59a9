"""Write the manuscript as a Quarto document (`.qmd`) for users who render with Quarto.

The prose goes through pandoc (HTML -> Markdown, one call for the whole document). Tables, figures and
cross-references are rewritten in Quarto's own syntax first, so Quarto numbers them:
- a table becomes a `::: {#tbl-<id>}` div holding the great_tables `<table>` as a raw HTML block (spanners
  survive; Quarto parses raw HTML tables for its PDF and Word outputs too), its caption the last paragraph;
- a figure becomes `![caption](figures/<name>.png){#fig-<id>}` (the 300-dpi PNG beside the qmd);
- `<a class="xref">Figure 2A</a>` becomes `@{fig-figure2}A`; without a panel, `@tbl-<id>` / `@fig-<id>`;
- the synthetic-data notice becomes a warning callout.
The "Table N." / "Figure N." labels of the captions are dropped: Quarto writes its own.
"""

from __future__ import annotations

import re
from copy import deepcopy
from pathlib import Path

import lxml.html
import pypandoc
import yaml
from lxml.html import HtmlElement

from paperlock.atomic import atomic_write_text
from paperlock.errors import PaperlockError
from report.manuscript_html import manuscript_body

OUTPUT_STEM = "manuscript-quarto"  # Quarto's outputs must not overwrite paperlock's own manuscript.html/.pdf
LABEL = re.compile(r"^\s*(Table|Figure)\s+\S+?\.?\s*$")
PLACEHOLDER = re.compile(r"PAPERLOCK(BLOCK|XREF|CAP)(\d+)Z")


def front_matter(title: str) -> str:
    meta = {
        "title": title,
        "format": {
            "html": {"output-file": f"{OUTPUT_STEM}.html", "embed-resources": True},
            "pdf": {"output-file": f"{OUTPUT_STEM}.pdf", "papersize": "a4", "geometry": "margin=20mm"},
            "docx": {"output-file": f"{OUTPUT_STEM}.docx"},
        },
        "tbl-cap-location": "top",
        "fig-cap-location": "bottom",
    }
    return "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1000) + "---\n"


def _text(el: HtmlElement) -> str:
    return " ".join(el.text_content().split())


def _replace(el: HtmlElement, text: str, tag: str = "p") -> None:
    """Put a placeholder element (or bare text, tag='') where `el` was, keeping the text after it."""
    parent = el.getparent()
    if tag:
        new = lxml.html.Element(tag)
        new.text = text
        new.tail = el.tail
        parent.replace(el, new)
        return
    prev = el.getprevious()
    joined = text + (el.tail or "")
    if prev is not None:
        prev.tail = (prev.tail or "") + joined
    else:
        parent.text = (parent.text or "") + joined
    parent.remove(el)


def _caption_html(figure: HtmlElement) -> str:
    """The figcaption's inner HTML without its leading <b>Table N.</b> / <b>Figure N.</b> label."""
    caption = figure.find("figcaption")
    if caption is None:
        return ""
    caption = deepcopy(caption)
    first = caption[0] if len(caption) else None
    if first is not None and first.tag in ("b", "strong") and not (caption.text or "").strip() \
            and LABEL.match(first.text_content()):
        caption.text = (first.tail or "").lstrip()
        caption.remove(first)
    inner = (caption.text or "") + "".join(lxml.html.tostring(c, encoding="unicode") for c in caption)
    return inner.strip()


def _fence(content: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", content)), default=0)
    return "`" * max(3, longest + 1)


def _table_block(figure: HtmlElement, caption_ref: str) -> str:
    tables = figure.xpath(".//table")
    if not tables:
        raise PaperlockError(f"table {figure.get('id')!r} in the manuscript HTML has no <table>")
    raw = lxml.html.tostring(tables[0], encoding="unicode", with_tail=False).strip()
    fence = _fence(raw)
    return f"::: {{#{figure.get('id')}}}\n\n{fence}{{=html}}\n{raw}\n{fence}\n\n{caption_ref}\n:::"


def _figure_block(figure: HtmlElement, caption_ref: str, build_dir: Path | None) -> str:
    img = figure.find(".//img")
    if img is None or not img.get("data-png"):
        raise PaperlockError(f"figure {figure.get('id')!r} has no data-png image for the Quarto document")
    if build_dir is not None and not (Path(build_dir) / img.get("data-png")).is_file():
        raise PaperlockError(f"figure {figure.get('id')!r}: {img.get('data-png')} is not in {build_dir}")
    attrs = f"#{figure.get('id')}"
    alt = " ".join((img.get("alt") or "").split())
    if alt:
        attrs += ' fig-alt="' + alt.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"![{caption_ref}]({img.get('data-png')}){{{attrs}}}"


def _xref(link: HtmlElement) -> str:
    target = link.get("href", "").lstrip("#")
    if not re.fullmatch(r"(tbl|fig)-[\w.-]+", target):
        raise PaperlockError(f"cross-reference to {target!r}: Quarto needs a tbl- or fig- identifier")
    match = re.match(r"^\D*\d+(.*)$", _text(link))
    panel = match.group(1) if match else ""
    following = link.tail or ""
    if panel or re.match(r"\w", following):
        return f"@{{{target}}}{panel}"
    return f"@{target}"


def qmd_text(html: str, build_dir: Path | None = None) -> str:
    """The Quarto document for the manuscript HTML; with `build_dir`, every figure's PNG must exist there."""
    body, title_el = manuscript_body(html)
    title = _text(title_el) if title_el is not None else ""
    if title_el is not None:
        title_el.drop_tree()

    replacements: dict[str, str] = {}
    xrefs = body.xpath(".//a[contains(concat(' ', normalize-space(@class), ' '), ' xref ')]")
    for i, link in enumerate(xrefs):
        replacements[f"XREF{i}"] = _xref(link)
        _replace(link, f"PAPERLOCKXREF{i}Z", tag="")

    captions: list[str] = []
    figures = body.xpath(".//figure[contains(concat(' ', normalize-space(@class), ' '), ' table ') "
                         "or contains(concat(' ', normalize-space(@class), ' '), ' figure ')]")
    for i, figure in enumerate(figures):
        captions.append(_caption_html(figure))
        caption_ref = f"PAPERLOCKCAP{i}Z"
        is_table = "table" in figure.get("class", "").split()
        replacements[f"BLOCK{i}"] = (_table_block(figure, caption_ref) if is_table
                                     else _figure_block(figure, caption_ref, build_dir))
        _replace(figure, f"PAPERLOCKBLOCK{i}Z")

    for notice in body.xpath(".//p[contains(concat(' ', normalize-space(@class), ' '), ' synthetic ')]"):
        callout = lxml.html.Element("div", {"class": "callout-warning"})
        notice.addprevious(callout)
        notice.attrib.pop("class")
        callout.append(notice)

    for section in body.iter("section"):  # pandoc would keep "section" as a class of the div
        section.tag = "div"

    # captions go through the same pandoc call, each as a marked paragraph after the body
    caption_html = "".join(f"<p>PAPERLOCKCAP{i}Z {c}</p>" for i, c in enumerate(captions))
    body_html = "".join(lxml.html.tostring(child, encoding="unicode") for child in body)
    markdown = pypandoc.convert_text(f"{body_html}<p>PAPERLOCKCAPTIONS</p>{caption_html}", "markdown-smart",
                                     format="html", extra_args=["--wrap=auto", "--columns=110"])
    markdown, _, caption_md = markdown.partition("PAPERLOCKCAPTIONS")
    for paragraph in caption_md.strip().split("\n\n"):
        match = re.match(r"PAPERLOCKCAP(\d+)Z\s?(.*)", paragraph, re.S)
        if match:
            replacements[f"CAP{match.group(1)}"] = " ".join(match.group(2).split())

    def substitute(text: str) -> str:
        return PLACEHOLDER.sub(lambda m: substitute(replacements[m.group(1) + m.group(2)]), text)

    markdown = re.sub(r"\n{3,}", "\n\n", substitute(markdown))
    leftover = re.search(r"PAPERLOCK\w+", markdown)
    if leftover:
        raise PaperlockError(f"internal: placeholder {leftover.group(0)} left in the Quarto document")
    notice = "<!-- Generated by paperlock from results.json: edit the study templates, not this file. -->\n"
    return front_matter(title) + "\n" + notice + "\n" + markdown.strip() + "\n"


def write_quarto(html: str, build_dir: Path, target_qmd: Path) -> None:
    """Write `target_qmd` (in `build_dir`, as the figure paths are relative to it) atomically."""
    atomic_write_text(Path(target_qmd), qmd_text(html, build_dir))
