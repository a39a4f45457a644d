"""The ``>>>`` examples on the entry points a user starts from run as written (doctest)."""

from __future__ import annotations

import doctest
import importlib

import pytest

# module -> the entry points that must carry an example (a missing one fails, so examples cannot rot away)
ENTRY_POINTS = {
    "benign.theory.data": ["make_gmm", "make_regression"],
    "benign.theory.estimators": ["min_norm", "max_margin"],
    "benign.theory.sweep_point": ["run_point"],
    "benign.theory.mm_asymptotics": ["noise_floor", "phase_boundary"],
    "benign.theory.eigenframework": ["eigen_predict"],
    "benign.theory.kernels": ["krr"],
    "benign.empirical.data": ["load_dataset"],
    "benign.empirical.models": ["build_model"],
    "benign.empirical.noise": ["inject_label_noise"],
    "benign.empirical.train_config": ["TrainConfig"],
}
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@pytest.mark.parametrize("module_name", sorted(ENTRY_POINTS))
def test_entry_point_examples_run(module_name):
    if module_name.startswith("benign.empirical"):
        pytest.importorskip("torch")
    module = importlib.import_module(module_name)
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    with_examples = set()
    for test in finder.find(module, module_name):
        if test.examples:
            with_examples.add(test.name.rsplit(".", 1)[-1])
            runner.run(test)
    missing = [name for name in ENTRY_POINTS[module_name] if name not in with_examples]
    assert not missing, f"{module_name}: no >>> example on {missing}"
    result = runner.summarize(verbose=False)
    assert result.attempted > 0
    assert result.failed == 0, f"{result.failed} doctest example(s) failed in {module_name} (output above)"
