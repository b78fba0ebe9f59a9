"""Labels in running text (`paperlock.prose.in_sentence`) and the spec's `text_label`."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paperlock.prose import in_sentence, with_detail
from paperlock.spec import CoxCovariate, CoxTerm, Variable


@pytest.mark.parametrize(("label", "expected"), [
    ("Prior ablation (yes vs. no)", "prior ablation (yes vs. no)"),
    ("Cirrhosis (yes vs. no)", "cirrhosis (yes vs. no)"),
    ("Age (> 60 vs. ≤ 60)", "age (> 60 vs. ≤ 60)"),
    ("PVTT (yes vs. no)", "PVTT (yes vs. no)"),          # an acronym stays
    ("ECOG PS (1 vs. 0)", "ECOG PS (1 vs. 0)"),
    ("Child–Pugh class (B vs. A)", "Child–Pugh class (B vs. A)"),  # a name: a capital after the first letter
    ("AFP, ng/mL", "AFP, ng/mL"),
    ("T", "T"),                                          # one letter: nothing to tell
    ("already lower", "already lower"),
])
def test_in_sentence(label: str, expected: str) -> None:
    assert in_sentence(label) == expected


@given(st.text(min_size=1, max_size=40))
def test_in_sentence_changes_at_most_the_first_letter_and_is_idempotent(label: str) -> None:
    out = in_sentence(label)
    assert out[1:] == label[1:]
    assert out[0] in (label[0], label[0].lower())
    assert in_sentence(out) == out


def test_text_label_overrides_the_rule() -> None:
    plain = Variable(column="x", label="Tumour size, cm", type="continuous")
    named = Variable(column="x", label="Tumour size, cm", type="continuous", text_label="tumour size")
    assert plain.prose == "tumour size, cm"
    assert named.prose == "tumour size"
    cov = CoxCovariate(key="n", variable="v", level="gt3", label="Number (> 3 vs. ≤ 3)",
                       text_label="tumour number (> 3 vs. ≤ 3)")
    assert cov.prose == "tumour number (> 3 vs. ≤ 3)"
    assert CoxTerm(key="t", label="Prior TACE (yes vs. no)", covariate="t").prose == "prior TACE (yes vs. no)"


@pytest.mark.parametrize(("label", "detail", "expected"), [
    ("prior ablation (yes vs. no)", "HR 0.39", "prior ablation (yes vs. no; HR 0.39)"),
    ("age", "HR 1.10", "age (HR 1.10)"),
    ("AFP, ng/mL", "HR 2", "AFP, ng/mL (HR 2)"),
])
def test_with_detail_shares_the_labels_parenthesis(label: str, detail: str, expected: str) -> None:
    assert with_detail(label, detail) == expected
