"""What ran a benchmark: the versions of the installed packages, Python and skadapt's source.

Shared by the benchmark scripts that write result pages (``breadth.py``, ``streams.py``).
"""

import hashlib
import platform
import subprocess
from importlib import metadata
from pathlib import Path


def versions(packages):
    """``package -> version`` of the installed ``packages``, plus Python and the source.

    ``skadapt-source``: the git commit of the checkout and whether ``skadapt/`` differs from
    it, with a short hash of its ``*.py`` files (the code that ran).
    """
    out = {"python": platform.python_version()}
    for p in packages:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            pass
    import skadapt

    src = Path(skadapt.__file__).parent
    digest = hashlib.sha256()
    for f in sorted(src.glob("*.py")):
        digest.update(f.read_bytes())
    try:
        commit = subprocess.run(["git", "-C", str(src.parent), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(src.parent), "status", "--porcelain", "--",
                                "skadapt"], capture_output=True, text=True).stdout.strip()
        commit += " (skadapt/ modified)" if dirty else ""
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    out["skadapt-source"] = f"commit {commit}, skadapt/*.py sha256 {digest.hexdigest()[:12]}"
    return out
