"""The committed R fixtures are exactly what tests/reference/reference.R produces (run via run_r.sh)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent / "reference" / "run_r.sh"


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript not installed: R fixtures not re-verified")
def test_r_fixtures_reproduce():
    proc = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
