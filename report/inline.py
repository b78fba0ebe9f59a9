"""Inline numbers for prose: look a key up in results.json and format it with the table formatters.

Templates call these as globals (`{{ km_median('km.pfs.arm.tki') }}`); they never compute statistics. A key the
results do not hold is an error that names the key and the template, so a number cannot silently vanish.
"""

from __future__ import annotations

from dataclasses import dataclass

from paperlock.errors import PaperlockError
from paperlock.results import Results, Statistic
from paperlock.spec import Display
from report import formatting as fmt


@dataclass(frozen=True)
class Inline:
    results: Results
    display: Display

    def stat(self, key: str) -> Statistic:
        try:
            return self.results.statistics[key]
        except KeyError:
            raise PaperlockError(f"the manuscript asks for {key!r}, which results.json does not hold") from None

    def value(self, key: str) -> float | int | None:
        return self.stat(key).value

    def n(self, key: str) -> str:
        return fmt.integer(self.value(key))

    def pct(self, key: str) -> str:
        return fmt.pct(self.value(key), self.display.pct_digits)

    def n_pct(self, prefix: str) -> str:
        """'59 (84.3%)' from `<prefix>.n` and `<prefix>.pct`."""
        return f"{self.n(prefix + '.n')} ({self.pct(prefix + '.pct')}%)"

    def p(self, key: str) -> str:
        return fmt.p_clause(self.value(key), self.display.p_digits)

    def months(self, key: str) -> str:
        s = self.stat(key)
        return fmt.months(s.value, self.display.months_digits, s.status)

    def km_median(self, prefix: str) -> str:
        """'M months (95% CI L–U)' or 'not reached' from `<prefix>.median|ci_lower|ci_upper`."""
        med = self.stat(prefix + ".median")
        if med.status == "not_reached":
            return "not reached"
        d = self.display.months_digits
        lo, hi = self.value(prefix + ".ci_lower"), self.value(prefix + ".ci_upper")
        return f"{fmt.months(med.value, d)} months ({self.display.ci_label} {fmt.upper_limit(lo, hi, d)})"

    def _hr_ci(self, prefix: str) -> tuple[str, str] | None:
        """('h', 'L–U') from a Cox prefix, or None when the fit was not estimable."""
        s = self.stat(prefix + ".hr")
        if s.status == "not_estimable":
            return None
        d = self.display.hr_digits
        return fmt.num(s.value, d), fmt.interval(self.value(prefix + ".ci_lower"), self.value(prefix + ".ci_upper"), d)

    def hr(self, prefix: str) -> str:
        """'HR h (95% CI L–U), p = x' from a Cox prefix."""
        parts = self._hr_ci(prefix)
        if parts is None:
            return "HR not estimable"
        return f"HR {parts[0]} ({self.display.ci_label} {parts[1]}), {self.p(prefix + '.p')}"

    def has(self, key: str) -> bool:
        return key in self.results.statistics and self.results.statistics[key].value is not None

    def table(self, table_id: str) -> dict:
        """The layout the analysis recorded for a table (e.g. which covariates entered a multivariable model)."""
        try:
            return self.results.tables[table_id]
        except KeyError:
            raise PaperlockError(f"the manuscript asks for table {table_id!r}, "
                                 "which results.json does not hold") from None

    def hr_brief(self, prefix: str) -> str:
        """'HR h, 95% CI L–U, p = x' for use inside parentheses."""
        parts = self._hr_ci(prefix)
        if parts is None:
            return "HR not estimable"
        return f"HR {parts[0]}, {self.display.ci_label} {parts[1]}, {self.p(prefix + '.p')}"

    def hr_short(self, prefix: str) -> str:
        """'h (95% CI L–U)' without the p."""
        parts = self._hr_ci(prefix)
        return "not estimable" if parts is None else f"{parts[0]} ({self.display.ci_label} {parts[1]})"

    def globals(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in
                ("stat", "value", "n", "pct", "n_pct", "p", "months", "km_median", "hr", "hr_brief", "hr_short", "has",
                 "table")}
