"""skadapt: brain-inspired dendritic adaptation for scikit-learn.

The estimator is :class:`DendriticClassifier` (``skadapt/_classifier.py``); the
update rules are in ``skadapt/_rules.py`` and the compiled training loop in
``skadapt/_kernel.py``.
"""

from ._classifier import DendriticClassifier
from ._export import _install_onnx_hook, register_onnx_converter
from ._numba_cache import warm_cache
from .exceptions import DivergenceError
from .parallel import fit_parallel

__version__ = "0.1.0"

__all__ = [
    "DendriticClassifier",
    "DivergenceError",
    "fit_parallel",
    "register_onnx_converter",
    "warm_cache",
    "__version__",
]

# skl2onnx support without importing skl2onnx (skadapt/_export.py)
_install_onnx_hook()
