"""The fast paths give the results of the straightforward computations they replace (1e-9 relative), on random data.

Straightforward references are written out here: a Cox Newton–Raphson that loops over event times with boolean
risk-set masks, a log-rank test that loops over times, pandas groupby counts, a per-row level lookup.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from textbook_cox import textbook_derivs

from analysis.codes import cross_counts, level_index
from analysis.cox_univariable import univariable_fits
from analysis.stats import cox, km
from analysis.variables import _norm, derive_variable
from paperlock.spec import Level, Variable

ROOT = Path(__file__).resolve().parent.parent
RTOL = 1e-9


def naive_cox(time, event, X, ties):
    """Textbook partial likelihood (risk set = time >= t, masks per event time); Newton from 0 with R coxfit6's
    stopping rule (|1 - loglik_old / loglik_new| <= 1e-9), so both stop at the same iterate."""
    t, e, x = np.asarray(time, float), np.asarray(event, float), np.asarray(X, float)

    def derivs(beta):
        return textbook_derivs(t, e, x, beta, ties)

    best, u, info = derivs(np.zeros(x.shape[1]))
    beta = np.linalg.solve(info, u)
    for _ in range(20):
        ll, u, info = derivs(beta)
        if abs(1 - best / ll) <= 1e-9:
            break
        best, beta = ll, beta + np.linalg.solve(info, u)
    return beta, np.sqrt(np.diag(np.linalg.inv(info)))


def random_survival(rng, n, p, binary=True, max_time=30):
    X = (rng.random((n, p)) < rng.uniform(0.2, 0.8, p)).astype(float) if binary else rng.normal(size=(n, p))
    t = rng.integers(1, max_time, n).astype(float)  # many ties
    e = (rng.random(n) < 0.7).astype(int)
    return t, e, X


@pytest.mark.parametrize("ties", ["breslow", "efron"])
@pytest.mark.parametrize("binary", [True, False])
def test_cox_fit_equals_textbook_newton(ties, binary):
    rng = np.random.default_rng(11 if binary else 12)
    for _ in range(4):
        t, e, X = random_survival(rng, 150, 3, binary)
        fit = cox.cox_fit(t, e, X, ties=ties)
        beta, se = naive_cox(t, e, X, ties)
        assert fit.status == "ok"
        np.testing.assert_allclose(fit.coef, beta, rtol=RTOL)
        np.testing.assert_allclose(fit.se, se, rtol=RTOL)


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_univariable_batch_equals_one_fit_per_column(ties):
    rng = np.random.default_rng(5)
    for trial in range(6):
        t, e, X = random_survival(rng, 120, 5)
        X[:, 4] = 1.0 if trial % 2 else X[:, 4]  # a constant column: not estimable in both
        batch = cox.cox_univariable_batch(t, e, X, ties=ties)
        for j in range(X.shape[1]):
            one = cox.cox_fit(t, e, X[:, [j]], ties=ties)
            assert (batch[j].status, batch[j].reason, batch[j].iterations) == (one.status, one.reason,
                                                                                 one.iterations)
            if one.status == "ok":
                for field in ("coef", "se", "p", "ci_lower", "ci_upper"):
                    np.testing.assert_allclose(getattr(batch[j], field), getattr(one, field), rtol=RTOL)
                assert batch[j].loglik == pytest.approx(one.loglik, rel=RTOL)


def test_univariable_fits_with_missing_values_equal_separate_fits():
    rng = np.random.default_rng(8)
    t, e, X = random_survival(rng, 200, 4)
    X[rng.random(200) < 0.1, 1] = np.nan  # a covariate with its own missing rows
    X[:, 3] = rng.normal(size=200)  # a continuous covariate: fitted on its own
    columns = [[0], [1], [2], [3], [0, 2]]
    fits = univariable_fits(t, e, X, columns, "breslow", 0.95)
    for cols, fit in zip(columns, fits, strict=True):
        ok = ~np.isnan(X[:, cols]).any(axis=1)
        one = cox.cox_fit(t[ok], e[ok], X[np.ix_(ok, cols)])
        assert fit.n == one.n
        np.testing.assert_allclose(fit.coef, one.coef, rtol=RTOL)
        np.testing.assert_allclose(fit.se, one.se, rtol=RTOL)


def test_weighted_cells_equal_rows_for_strata_and_separation():
    """Merged cells (time, event, pattern) give the row-level answer (a fit of 100 rows is not merged), including a
    diverging coefficient."""
    rng = np.random.default_rng(3)
    t, e, X = random_survival(rng, 100, 2)
    strata = rng.integers(0, 3, 100)
    fit = cox.cox_fit(t, e, X, ties="efron", strata=strata)
    rows = cox._cell_strata(t, e.astype(float), X, strata, "efron", merge=True)
    assert sum(c.count.sum() for c in rows) == 100
    beta = fit.coef
    ll = sum(cox._derivs_cells(beta, [c])[0] for c in rows)
    assert ll == pytest.approx(fit.loglik, rel=RTOL)
    sep = X[:, 0].copy()
    e_sep = (sep == 1).astype(int)  # every event has x = 1: monotone likelihood
    assert cox.cox_fit(t, e_sep, sep[:, None]).status == "not_estimable"


def naive_logrank(time, event, group):
    levels = np.unique(group)
    o, ex = np.zeros(levels.size), np.zeros(levels.size)
    v = np.zeros((levels.size, levels.size))
    for s in np.unique(time[event == 1]):
        risk = time >= s
        n = risk.sum()
        d = ((time == s) & (event == 1)).sum()
        nk = np.array([(risk & (group == g)).sum() for g in levels])
        dk = np.array([((time == s) & (event == 1) & (group == g)).sum() for g in levels])
        o += dk
        ex += d * nk / n
        if n > 1:
            frac = nk / n
            v += d * (n - d) / (n - 1) * (np.diag(frac) - np.outer(frac, frac))
    diff = (o - ex)[1:]
    return float(diff @ np.linalg.solve(v[1:, 1:], diff))


def test_logrank_equals_loop_over_times():
    rng = np.random.default_rng(2)
    for k in (2, 3, 5):
        t, e, _ = random_survival(rng, 300, 1)
        g = rng.integers(0, k, 300)
        res = km.logrank(t, e, g)
        chi2 = naive_logrank(t, e, g)
        assert res.chi2 == pytest.approx(chi2, rel=RTOL)
        assert res.p == pytest.approx(stats.chi2.sf(chi2, k - 1), rel=RTOL)


def test_findq_duplicate_rule_equals_r_duplicated():
    """`keep first occurrence, NaN equal to NaN` (R duplicated()) as the old element-by-element loop did it."""
    rng = np.random.default_rng(4)
    for _ in range(50):
        y = rng.choice([0.0, 0.1, 0.25, 0.5, 0.5000000001, np.nan], size=12)
        seen, seen_nan, keep = set(), False, []
        for val in y:
            if np.isnan(val):
                keep.append(not seen_nan)
                seen_nan = True
            else:
                keep.append(val not in seen)
                seen.add(val)
        got = np.zeros(y.size, dtype=bool)
        got[np.unique(y + 0.0, return_index=True, equal_nan=True)[1]] = True
        assert got.tolist() == keep
        x = np.arange(y.size, dtype=float)
        assert np.isnan(km._findq(x, y, 0.5)) or km._findq(x, y, 0.5) >= 0


def test_bincount_tables_equal_pandas_groupby():
    rng = np.random.default_rng(6)
    rows = pd.Series(rng.choice(["a", "b", "c", None], 5000), dtype=object)
    cols = pd.Series(rng.choice(["x", "y", None], 5000), dtype=object)
    got = cross_counts(level_index(rows, ["a", "b", "c"]), 3, level_index(cols, ["x", "y"]), 2)
    want = (pd.crosstab(rows, cols).reindex(index=["a", "b", "c"], columns=["x", "y"], fill_value=0))
    np.testing.assert_array_equal(got, want.to_numpy())
    assert level_index(pd.Series(["a", "zz", None], dtype=object), ["a"]).tolist() == [0, -1, -1]


def test_categorical_derivation_equals_row_by_row_lookup():
    var = Variable(column="c", label="C", type="categorical",
                   levels=[Level(code="lo", label="Lo", values=[1, "one"]), Level(code="hi", label="Hi", values=[2])])
    rng = np.random.default_rng(7)
    raw = pd.DataFrame({"c": rng.choice(["1", "2", "one", " 2", None], 1000)}, dtype=object)
    got = derive_variable("v", var, raw, Path("cohort.csv"))
    lookup = {_norm(v): lvl.code for lvl in var.levels for v in lvl.values}
    want = [None if v is None else lookup[_norm(v)] for v in raw["c"].tolist()]
    assert got.tolist() == want


@pytest.mark.parametrize(("code", "banned"), [
    ("import sys; from paperlock.cli import main; sys.argv = ['paperlock', '--help']\ntry: main()\n"
     "except SystemExit: pass", ("pandas", "matplotlib", "lifelines")),
    ("import paperlock.commands.report, report.render", ("lifelines",)),
])
def test_lazy_imports(code, banned):
    """`paperlock --help` pays for no heavy library; the report stage never imports lifelines."""
    check = f"{code}\nimport sys\nprint('LOADED:' + ','.join(m for m in {banned!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "LOADED:", out.stdout[-300:]


# ------------------------------------------------------------------ reading and validating (issue 9, round 2)

CORPUS = ROOT / "tests" / "malformed"
MINI = ROOT / "tests" / "fixtures" / "mini_study"


def random_objects(rng, n):
    """Object cells as readers and pandas give them: texts (equal texts in distinct objects too), None, NaN,
    numbers that compare equal across types."""
    pool = ["a", "b", "".join(["a"]), "x y", "", None, np.nan, 1, 1.0, True, "1", "NA"]
    out = np.empty(n, dtype=object)
    out[:] = [pool[i] if pool[i] != "a" or i % 2 else "".join(["a"]) for i in rng.integers(0, len(pool), n)]
    return out


@pytest.mark.parametrize("n", [50, 5000, 20000])
def test_factorize_equals_pandas_factorize(n):
    """The identity-first path (>= 4096 cells) gives pd.factorize's codes and uniques, in the same order."""
    from paperlock.io.distinct import factorize

    rng = np.random.default_rng(n)
    for _ in range(5):
        values = random_objects(rng, n)
        want_codes, want_uniques = pd.factorize(values, use_na_sentinel=True)
        codes, uniques = factorize(values)
        np.testing.assert_array_equal(codes, want_codes)
        assert list(uniques) == list(want_uniques)
        series = pd.Series(values[::-1])  # a strided view and a Series
        assert (factorize(series)[0] == pd.factorize(series, use_na_sentinel=True)[0]).all()


def test_by_value_equals_the_function_on_every_row():
    """Element-wise functions computed once per distinct value give the row-wise result, dtype included."""
    from paperlock.io.distinct import by_value
    from paperlock.validate import _parse_dates, _parse_numbers, level_key

    rng = np.random.default_rng(21)
    texts = np.array(["1", "2", "2.50", "x", "1e400", "-3", " 7 ", "2021-03-04", "9007199254740993"], dtype=object)
    for blanks in (False, True):
        for size in (10, 6000):
            s = pd.Series(texts[rng.integers(0, texts.size, size)], dtype=object)
            if blanks:
                s[rng.random(size) < 0.2] = None
            for fn in (lambda u: pd.to_numeric(u, errors="coerce"), _parse_numbers,
                       lambda u: _parse_dates(u, None), lambda u: u.map(level_key)):
                pd.testing.assert_series_equal(by_value(s, fn), fn(s))
    ints = pd.Series(["1", "2", "3"] * 3000, dtype=object)  # no blank: stays integer, as to_numeric keeps it
    assert by_value(ints, lambda u: pd.to_numeric(u, errors="coerce")).dtype == np.int64


def csv_text(rng, rows: int, delimiter: str = ",") -> str:
    """A clean delimited file: quoted and unquoted fields, doubled quotes, padding, a quote inside an unquoted
    value, non-ASCII text, blank fields and rows of blank fields (a delimiter inside quotes is left to the
    careful reader: see the next test)."""
    values = ["1", "2.50", " 3 ", "", "TKI-ICI", "naïve", "a b", '"q"', 'a"b', '"say ""hi"""', '""', "0", " "]
    header = delimiter.join(["id", "arm", "value", "note"])
    lines = [header]
    for i in range(rows):
        cells = [f"P{i}"] + [values[j] for j in rng.integers(0, len(values), 3)]
        if rng.random() < 0.05:
            cells = [""] * 4
        lines.append(delimiter.join(cells))
    return "\n".join(lines) + ("\n" if rng.random() < 0.8 else "")


def tables_equal(fast, careful):
    pd.testing.assert_frame_equal(fast.frame, careful.frame, check_exact=True)
    assert fast.frame.index.dtype == careful.frame.index.dtype
    assert (fast.description, fast.problems, fast.header_row, fast.broken_rows) == (
        careful.description, careful.problems, careful.header_row, careful.broken_rows)
    from paperlock.io.distinct import values_of

    for column, coded in fast.codes.items():  # the codes the fast reader hands on describe the frame
        assert values_of(coded).tolist() == fast.frame[column].tolist()
        assert len(set(coded[1].tolist())) == coded[1].size and None not in coded[1].tolist()


@pytest.mark.parametrize("variant", ["plain", "crlf", "bom", "tab", "semicolon"])
def test_fast_csv_reader_equals_the_csv_module_reader(variant, tmp_path):
    from paperlock.io import delimited

    rng = np.random.default_rng(len(variant))
    for trial in range(4):
        delimiter = {"tab": "\t", "semicolon": ";"}.get(variant, ",")
        text = csv_text(rng, 300 + trial, delimiter)
        data = text.replace("\n", "\r\n").encode() if variant == "crlf" else text.encode()
        if variant == "bom":
            data = b"\xef\xbb\xbf" + data
        path = tmp_path / f"f{trial}.csv"
        path.write_bytes(data)
        fast = delimited.read(path)
        assert fast.codes, "the fast path should have read this clean file"
        tables_equal(fast, delimited.read(path, fast=False))


def test_fast_csv_reader_declines_or_agrees_on_every_malformed_file(tmp_path):
    """Malformed files (and hand-made edge cases) either fall back to the careful reader or read the same."""
    from paperlock.io import delimited

    edge = {"after_quote.csv": 'a,b\n"x"y,1\n', "quoted_break.csv": 'a,b\n"x\ny",1\n', "lone_cr.csv": "a,b\r1,2\r",
            "blank_line.csv": "a,b\n1,2\n\n3,4\n", "short.csv": "a,b\n1\n", "long.csv": "a,b\n1,2,3\n",
            "blank_extra.csv": "a,b\n1,2,\n", "latin1.csv": "a,b\n1,caf\xe9\n", "one_col.csv": "a\n1\n\n2\n",
            "comma_in_quotes_short.csv": 'a,b,c\n"x,y",1\n', "dup.csv": "a,a\n1,2\n", "nul.csv": "a,b\n1,\x002\n",
            "comma_in_quotes.csv": 'a,b\n"x,y",1\n"""",2\n'}
    for name, text in edge.items():
        (tmp_path / name).write_bytes(text.encode("latin-1"))
    files = sorted(CORPUS.glob("*.csv")) + sorted(tmp_path.glob("*.csv"))
    for path in files:
        try:
            careful = delimited.read(path, fast=False)
        except Exception as exc:  # noqa: BLE001 - both paths must refuse alike
            with pytest.raises(type(exc)):
                delimited.read(path)
            continue
        tables_equal(delimited.read(path), careful)


def straightforward_normalise(frame, dictionary):
    """The normaliser before the per-distinct-value rewrite."""
    from paperlock.io.values import number_text
    from paperlock.validate import _parse_dates, _parse_numbers

    out = frame.copy()
    if dictionary is not None:
        order = [c for c in dictionary.columns if c in out.columns]
        out = out[order + [c for c in out.columns if c not in order]]
        for name in order:
            col = dictionary.columns[name]
            if col.type in ("integer", "number"):
                out[name] = [None if np.isnan(x) else number_text(float(x)) for x in _parse_numbers(out[name])]
            elif col.type == "date":
                out[name] = [None if pd.isna(x) else x.date().isoformat() if x.time() == pd.Timestamp(0).time()
                             else x.isoformat() for x in _parse_dates(out[name], col.format)]
    out = out.astype(object).where(out.notna(), None)
    return out.reset_index(drop=True)


def corpus_outcomes(monkeypatch, path, screen: bool):
    import paperlock.validate as validate
    from paperlock.spec import load_spec

    loaded = load_spec(MINI)
    if not screen:  # pandera judges every file, as before the distinct-value screen
        monkeypatch.setattr(validate, "passes_everywhere", lambda rs: False)
    return validate.validate_file(path, loaded.spec, validate.study_dictionary(loaded))


def test_validation_screen_and_normalising_equal_the_pandera_run(monkeypatch):
    """Every corpus file and the mini cohort: the same problems with and without the screen (the screen only
    skips pandera when pandera finds nothing), and the same normalised frame as the straightforward code."""
    files = [MINI / "data" / "cohort.csv"] + sorted(p for p in CORPUS.iterdir()
                                                    if p.suffix in (".csv", ".xlsx", ".sav", ".parquet"))
    for path in files:
        with monkeypatch.context() as m:
            slow = corpus_outcomes(m, path, screen=False)
        fast = corpus_outcomes(monkeypatch, path, screen=True)
        assert fast.problems == slow.problems, path.name
        if fast.ok:
            pd.testing.assert_frame_equal(fast.frame, slow.frame)
            d = fast.dictionary.dictionary if fast.dictionary else None
            pd.testing.assert_frame_equal(fast.frame, straightforward_normalise(fast.table.frame, d))


def test_screen_passes_exactly_when_pandera_finds_nothing(tmp_path):
    """Cells of the mini cohort corrupted at random: the screen's verdict matches pandera's on every file."""
    import paperlock.validate as validate
    from paperlock.spec import load_spec

    loaded = load_spec(MINI)
    dictionary = validate.study_dictionary(loaded)
    clean = pd.read_csv(MINI / "data" / "cohort.csv", dtype=str, keep_default_na=False)
    rng = np.random.default_rng(9)
    junk = ["", "x", "-1", "9999", "1.5", "2,5", "NA", "yes", "0"]
    for trial in range(12):
        frame = clean.copy()
        for _ in range(int(rng.integers(0, 3))):
            frame.iat[int(rng.integers(0, len(frame))), int(rng.integers(0, frame.shape[1]))] = junk[
                int(rng.integers(0, len(junk)))]
        path = tmp_path / f"c{trial}.csv"
        frame.to_csv(path, index=False)
        table, _ = validate.map_table(validate.read_table(path), dictionary.dictionary, loaded.spec)
        rs = validate.RuleSet(frame=table.frame, file=table.name, codes=table.codes)
        validate._add_endpoint_rules(rs, loaded.spec)
        validate._add_dictionary_rules(rs, dictionary.dictionary)
        validate._add_variable_rules(rs, loaded.spec, set())
        assert validate.passes_everywhere(rs) == (not validate._run_rules(rs, table.first_last_rows())), trial


# ------------------------------------------------------------------ analysis fast paths (issue 9, round 2)

def test_level_index_equals_categorical_codes():
    rng = np.random.default_rng(31)
    for size in (40, 9000):
        values = pd.Series(np.array(["no", "yes", "maybe", None], dtype=object)[rng.integers(0, 4, size)])
        for codes in (["no", "yes"], ["yes"], ["maybe", "no", "yes"]):
            want = pd.Categorical(np.asarray(values, dtype=object), categories=codes).codes.astype(np.intp)
            np.testing.assert_array_equal(level_index(values, codes), want)


def test_cox_term_columns_equal_indicator_per_term():
    from analysis.cox_models import _term_columns
    from paperlock.spec import CoxCovariate, CoxTerm

    rng = np.random.default_rng(32)
    frame = pd.DataFrame({"v": np.array(["a", "b", "c", None], dtype=object)[rng.integers(0, 4, 7000)]})
    cov = CoxCovariate(key="v", variable="v", label="V", type="categorical", reference="a")
    terms = [CoxTerm(key=f"v_{lvl}", label=lvl, covariate="v", level=lvl) for lvl in ("b", "c")]
    for column, term in zip(_term_columns(frame, cov, terms), terms, strict=True):
        want = (level_index(frame["v"], [term.level]) == 0).astype(float)
        want[frame["v"].isna().to_numpy()] = np.nan
        np.testing.assert_array_equal(column, want)


def test_univariable_fits_without_missing_values_equal_separate_fits():
    rng = np.random.default_rng(33)
    t, e, X = random_survival(rng, 400, 4)
    fits = univariable_fits(t, e, X, [[0], [1], [2], [3]], "efron", 0.95)
    for j, fit in enumerate(fits):
        one = cox.cox_fit(t, e, X[:, [j]], ties="efron")
        np.testing.assert_allclose(fit.coef, one.coef, rtol=RTOL)
        np.testing.assert_allclose(fit.se, one.se, rtol=RTOL)


def test_one_blas_thread_changes_only_rounding():
    """A Cox step large enough for threaded BLAS: one thread changes the information matrix by rounding only
    (threaded OpenBLAS may split a sum, so its last digits depend on the machine's thread count)."""
    from analysis.stats import cox as cox_module

    rng = np.random.default_rng(34)
    t, e, X = random_survival(rng, 20000, 12, binary=False)
    one = cox.cox_fit(t, e, X, ties="efron")
    cells = cox_module._cell_strata(t, e.astype(float), cox_module._standardise(X)[0], None, "efron")
    threaded = cox_module._derivs_cells(np.full(12, 0.05), cells)  # default BLAS threads
    with cox_module.one_blas_thread():
        single = cox_module._derivs_cells(np.full(12, 0.05), cells)
    assert threaded[0] == pytest.approx(single[0], rel=RTOL)
    np.testing.assert_allclose(threaded[1], single[1], rtol=RTOL)
    np.testing.assert_allclose(threaded[2], single[2], rtol=RTOL)
    assert one.status == "ok"


def straightforward_cutpoint_p(marker, time, event, n_perm, seed, min_prop=0.1, max_prop=0.9):
    """The permutation p-value before the shared-stream rewrite: each search draws its own shuffles of its
    canonically ordered scores and scans every permuted row with a full cumulative sum."""
    from analysis.stats.cutpoint import _scan, logrank_scores

    x, t, e = (np.asarray(v, dtype=float) for v in (marker, time, event))
    a = logrank_scores(t, e)
    order = np.lexsort((a, x))
    xs, a_sorted = x[order], a[order]
    n = x.size
    last = np.flatnonzero(np.r_[xs[1:] != xs[:-1], True])
    prop = (last + 1) / n
    cut_idx = last[(prop >= min_prop) & (prop <= max_prop) & (last < n - 1)]
    b = float(np.nanmax(np.abs(_scan(a_sorted, cut_idx)[0])))
    rng = np.random.default_rng(seed)
    exceed = 0
    for _ in range(n_perm):
        perm = rng.permuted(np.broadcast_to(a_sorted, (1, n)), axis=1)
        exceed += int(np.nanmax(np.abs(_scan(perm, cut_idx)), axis=1)[0] >= b * (1 - 1e-12))
    return (1 + exceed) / (n_perm + 1)


def test_cutpoint_p_values_equal_one_search_at_a_time():
    """Searches batched (one shared shuffle stream per n and seed) give the p-values of separate searches."""
    from analysis.stats.cutpoint import CutpointProblem, max_logrank_cutpoints

    rng = np.random.default_rng(35)
    problems, want = [], []
    for k in range(6):
        n = 120 if k < 4 else 90  # two groups sharing a stream, one of them with a different seed
        t, e = rng.integers(1, 30, n).astype(float), (rng.random(n) < 0.7).astype(int)
        marker = np.round(rng.normal(size=n) + 0.4 * e, k % 2)
        seed = 7 if k != 2 else 8
        problems.append(CutpointProblem(marker, t, e, n_perm=300, seed=seed))
        want.append(straightforward_cutpoint_p(marker, t, e, 300, seed))
    got = [r.p_permutation for r in max_logrank_cutpoints(problems)]
    assert got == want


def test_listing_cells_equal_records_with_nan_as_none():
    from analysis.listings import _cells

    table = pd.DataFrame({"f": [1.5, np.nan, -2.0], "i": [1, 2, 3], "o": ["a", None, np.nan], "b": [True, False, True]})
    want = [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
            for r in table.to_dict(orient="records")]
    names = list(table.columns)
    got = [dict(zip(names, vals, strict=True)) for vals in zip(*[_cells(table[c]) for c in names], strict=True)]
    assert got == want
    assert [type(v) for v in got[0].values()] == [type(v) for v in want[0].values()]
