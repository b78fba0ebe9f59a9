"""Export the public datasets shipped with lifelines to CSV for the R reference suite.

Run from the repository root: ``.venv/bin/python tests/reference/export_datasets.py``. The CSVs are committed so
R and Python read byte-identical inputs; rerunning must reproduce them exactly.

* ``rossi.csv``: Rossi et al. (1980) recidivism data (lifelines ``load_rossi``; also R ``carData::Rossi``).
* ``gbsg2.csv``: German Breast Cancer Study Group 2 (lifelines ``load_gbsg2``; also R ``TH.data::GBSG2``).
* ``larynx.csv``: Kardaun (1983) larynx cancer data (lifelines ``load_larynx``), times with ties at 0.1 precision.
"""

from __future__ import annotations

from pathlib import Path

from lifelines import datasets

OUT = Path(__file__).resolve().parent / "data"


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    datasets.load_rossi().to_csv(OUT / "rossi.csv", index=False, lineterminator="\n")
    datasets.load_gbsg2().to_csv(OUT / "gbsg2.csv", index=False, lineterminator="\n")
    datasets.load_larynx().to_csv(OUT / "larynx.csv", index=False, lineterminator="\n")


if __name__ == "__main__":
    main()
