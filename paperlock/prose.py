"""Labels inside running text: a table's row label starts with a capital, a sentence's middle does not.

`in_sentence("Prior ablation (yes vs. no)")` gives "prior ablation (yes vs. no)"; a first word that is an acronym
or a name with a capital after its first letter ("PVTT", "ECOG PS", "Child–Pugh class") is kept as written. A
label the rule cannot turn into prose (a row that reads only under its group, such as "Number") takes a
`text_label` in the study spec instead.
"""

from __future__ import annotations


def in_sentence(label: str) -> str:
    """`label` as it reads in the middle of a sentence."""
    first = label.split(" ", 1)[0]
    letters = [c for c in first if c.isalpha()]
    if len(letters) < 2 or not letters[0].isupper() or any(c.isupper() for c in letters[1:]):
        return label
    return label[0].lower() + label[1:]


def with_detail(label: str, detail: str) -> str:
    """`label` followed by `detail` in parentheses, sharing the label's own closing parenthesis if it has one:
    "prior ablation (yes vs. no; HR 0.39, ...)" rather than "prior ablation (yes vs. no) (HR 0.39, ...)"."""
    if label.endswith(")") and "(" in label:
        return f"{label[:-1]}; {detail})"
    return f"{label} ({detail})"
