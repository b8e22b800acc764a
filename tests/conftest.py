"""Test-session setup."""

import pytest


@pytest.fixture(scope="session", autouse=True)
def _compiled_kernel():
    """Compile (or load) the training kernel for both dtypes before any test, so that no
    test depends on being the first to compile it (the first compilation warns, which a
    test that turns warnings into errors would see). tests/test_compile.py checks the
    cold start in fresh processes."""
    from skadapt import warm_cache

    warm_cache()
