"""One policy for the rule-specific parameters, the same for every rule: a parameter the
chosen rule does not read (``skadapt._config.RULE_PARAMETERS``) is accepted and ignored,
never checked against another parameter, and says in its docstring which rules read it."""

import re

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits

from skadapt import DendriticClassifier
from skadapt._config import RULE_PARAMETERS, RULE_SPECIFIC_PARAMETERS, RULES, rules_reading

# A configuration in which every parameter of the dendritic rule is read (dendrite scope,
# multiplicative growth, shrink, trace coherence, relaxation, RMS base); the other rules
# ignore these settings.
BASE = DendriticClassifier(
    (6,), max_iter=3, tol=None, random_state=0, input_scaling="max_abs",
    scope="dendrite", n_dendrites=2, growth="multiplicative", gain_up=1.1, fallback="shrink",
    gain_down=0.6, coherence="trace", trace_decay=0.7, relax_time=20.0, base="rms",
)
# Another value of each rule-specific parameter, valid for the rules that read it given BASE
CHANGED = {
    "scope": "unit", "n_dendrites": 3, "growth": "additive", "gain_up": 1.3,
    "fallback": "reset", "gain_down": 0.3, "coherence": "sign", "trace_decay": 0.3,
    "relax_time": 5.0, "base": "gradient", "min_gain": 0.9, "max_gain": 1.05,
    "momentum": 0.5, "beta_1": 0.5, "beta_2": 0.9, "epsilon": 1e-2,
    "dbd_kappa": 0.3, "dbd_phi": 0.4, "dbd_theta": 0.2,
    "rprop_increase": 1.5, "rprop_decrease": 0.2,
}
STATE = ("pstate", "gstate", "glast", "counters")


@pytest.fixture(scope="module")
def data():
    X, y = load_digits(return_X_y=True)
    return X[:150] / 16.0, y[:150]


def _snapshot(est):
    return [est._params.copy()] + [est._state[k].copy() for k in STATE]


def _same(a, b):
    return all(np.array_equal(u, v) for u, v in zip(a, b, strict=True))


def test_the_table_covers_every_rule_and_only_real_parameters():
    assert set(RULE_PARAMETERS) == set(RULES)
    assert RULE_SPECIFIC_PARAMETERS <= set(DendriticClassifier().get_params())
    assert set(CHANGED) == RULE_SPECIFIC_PARAMETERS
    for param, value in CHANGED.items():
        assert BASE.get_params()[param] != value


@pytest.mark.parametrize("rule", RULES)
def test_a_parameter_changes_the_fit_if_and_only_if_the_rule_reads_it(data, rule):
    """For every rule and every rule-specific parameter: a fit, and a warm-started fit
    after it, with the parameter changed (from the start, and back again between the two
    fits) give bit-identical weights and optimiser state if the rule does not read the
    parameter, and other weights after the first fit if it does."""
    X, y = data
    base = clone(BASE).set_params(rule=rule, warm_start=True)
    ref = clone(base).fit(X, y)
    ref_first = _snapshot(ref)
    ref.fit(X, y)
    ref_second = _snapshot(ref)
    read, ignored = [], []
    for param, value in CHANGED.items():
        alt = clone(base).set_params(**{param: value}).fit(X, y)
        alt_first = _snapshot(alt)
        alt.set_params(**{param: base.get_params()[param]}).fit(X, y)
        if param in RULE_PARAMETERS[rule]:
            assert not np.array_equal(alt_first[0], ref_first[0]), param
            read.append(param)
        else:
            assert _same(alt_first, ref_first), param
            assert _same(_snapshot(alt), ref_second), param
            ignored.append(param)
    assert set(read) == RULE_PARAMETERS[rule]
    assert set(ignored) == RULE_SPECIFIC_PARAMETERS - RULE_PARAMETERS[rule]


# the cross-parameter checks, and a value that fails each for a rule that reads both
CROSS_CHECKS = [
    (dict(growth="multiplicative", gain_up=0.5), "gain_up must be >= 1"),
    (dict(min_gain=2.0), "min_gain <= 1 <= max_gain"),
    (dict(max_gain=0.5), "min_gain <= 1 <= max_gain"),
]


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("params, message", CROSS_CHECKS)
def test_cross_parameter_checks_apply_only_to_the_rules_that_read_the_parameters(
        data, rule, params, message):
    X, y = data
    est = DendriticClassifier((6,), rule=rule, max_iter=1, tol=None, random_state=0)
    if set(params) <= RULE_PARAMETERS[rule]:
        with pytest.raises(ValueError, match=message):
            clone(est).set_params(**params).fit(X, y)
        with pytest.raises(ValueError, match=message):
            clone(est).set_params(**params).partial_fit(X, y, classes=np.unique(y))
    else:
        ignored = clone(est).set_params(**params).fit(X, y)
        np.testing.assert_array_equal(ignored._params, clone(est).fit(X, y)._params)
        clone(est).set_params(**params).partial_fit(X, y, classes=np.unique(y))


def test_the_failing_cross_check_leaves_the_fitted_model_as_it_was(data):
    X, y = data
    est = DendriticClassifier((6,), rule="rprop", max_iter=1, tol=None, warm_start=True,
                              random_state=0).fit(X, y)
    before = _snapshot(est)
    with pytest.raises(ValueError, match="min_gain <= 1 <= max_gain"):
        est.set_params(min_gain=2.0).fit(X, y)
    assert _same(_snapshot(est), before)
    est.set_params(rule="adam").fit(X, y)  # adam does not read min_gain: accepted


def _parameter_entries(doc):
    """``{name: text}`` of the numpydoc Parameters section (``a, b : ...`` entries give
    both names the text)."""
    section = doc.split("Parameters\n    ----------\n", 1)[1].split("\n    Attributes\n", 1)[0]
    entries = {}
    for head, body in re.findall(r"^    (\w[\w, ]*) :[^\n]*\n((?:        [^\n]*\n|\n)*)",
                                 section, flags=re.M):
        for name in head.split(", "):
            entries[name] = " ".join(body.split())
    return entries


def test_each_rule_specific_parameter_says_which_rules_read_it():
    entries = _parameter_entries(DendriticClassifier.__doc__)
    assert set(entries) == set(DendriticClassifier().get_params())
    for param in sorted(RULE_SPECIFIC_PARAMETERS):
        sentence = re.search(r"Read by (.*?\.)(?: |$)", entries[param])
        assert sentence, f"{param}: no 'Read by' sentence"
        named = [r for r in re.findall(r'"(\w+)"', sentence.group(1)) if r in RULES]
        assert sorted(named) == sorted(rules_reading(param)), param
