"""skadapt: brain-inspired dendritic adaptation for scikit-learn.

The estimator is :class:`DendriticClassifier` (``skadapt/_classifier.py``); the
update rules are in ``skadapt/_rules.py`` and the compiled training loop in
``skadapt/_kernel.py``.
"""

from ._classifier import DendriticClassifier
from .exceptions import DivergenceError
from .parallel import fit_parallel

__version__ = "0.1.0"

__all__ = ["DendriticClassifier", "DivergenceError", "fit_parallel", "__version__"]
