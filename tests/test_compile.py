"""The compiled loop is compiled once per dtype, not once per literal argument.

A count started at the constant 0 in the training loop once had Numba compile the
per-sample functions twice (for ``Literal[int](0)`` and for ``int64``), doubling
the first fit's compile time. This runs a first fit in a fresh process with an
empty Numba cache and records every compilation with Numba's event API. Also part
of a first fit's time: what importing skadapt imports.
"""

import json
import os
import subprocess
import sys
import textwrap

CODE = textwrap.dedent("""
    import json
    from numba.core import event
    import scipy.sparse as sp
    from sklearn.datasets import load_iris
    from skadapt import DendriticClassifier

    compiled = []

    class Listener(event.Listener):
        def on_start(self, ev):
            disp = ev.data["dispatcher"]
            compiled.append([disp.py_func.__module__, disp.py_func.__name__,
                             [str(a) for a in ev.data["args"]]])

        def on_end(self, ev):
            pass

    event.register("numba:compile", Listener())
    X, y = load_iris(return_X_y=True)
    DendriticClassifier((5,), max_iter=1, tol=None).fit(X, y)
    DendriticClassifier((5,), max_iter=1, tol=None, batch_size=4).fit(sp.csr_matrix(X), y)
    print(json.dumps(compiled))
""")


def test_kernel_compiles_once_per_dtype_without_literal_copies(tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", CODE], env=env, capture_output=True,
                         text=True, check=True, timeout=600)
    compiled = json.loads(out.stdout.strip().splitlines()[-1])
    kernel = [(name, args) for module, name, args in compiled if module == "skadapt._kernel"]
    names = [name for name, _ in kernel]
    # dense and sparse input, online and mini-batch: one compilation of each function
    for name in ("train_epoch", "sample_gradient", "apply_update", "online_update",
                 "gather_nonzeros"):
        assert names.count(name) == 1, (name, names)
    literal = [(name, args) for name, args in kernel if any("Literal" in a for a in args)]
    assert literal == []


def test_importing_skadapt_leaves_model_selection_unimported():
    """``sklearn.model_selection`` (which imports ``sklearn.metrics``: about 50 ms of a
    fresh process) is imported only for early stopping's validation split and by
    ``skadapt.compare``, not by ``import skadapt``."""
    code = ("import sys, skadapt; "
            "print(sorted(m for m in ('sklearn.model_selection', 'sklearn.metrics') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=300)
    assert out.stdout.strip().splitlines()[-1] == "[]"
