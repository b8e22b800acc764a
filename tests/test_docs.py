"""The Sphinx documentation builds without a single warning (gallery not executed).

Skipped when the ``docs`` extra is absent.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sphinx")
pytest.importorskip("pydata_sphinx_theme")
pytest.importorskip("numpydoc")
pytest.importorskip("sphinx_gallery")
pytest.importorskip("myst_parser")
pytest.importorskip("matplotlib")

DOC = Path(__file__).resolve().parent.parent / "doc"


def test_docs_build_without_warnings(tmp_path):
    env = dict(os.environ, SKADAPT_DOCS_RUN_EXAMPLES="0", MPLBACKEND="Agg")
    env.pop("SKADAPT_DOCS_INTERSPHINX", None)  # offline: no inventory is fetched
    out = tmp_path / "html"
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", str(DOC), str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, f"sphinx-build failed:\n{proc.stdout[-3000:]}\n{proc.stderr}"
    assert "WARNING" not in proc.stderr, proc.stderr
    assert (out / "index.html").is_file()
    api = out / "api.html"
    assert api.is_file()
    assert "DendriticClassifier" in api.read_text(encoding="utf-8")
    assert (out / "auto_examples" / "index.html").is_file()
