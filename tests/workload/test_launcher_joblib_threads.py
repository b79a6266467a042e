"""The launcher runs a model's joblib work in the calling thread (real scikit-learn and joblib).

A random forest fitted with `n_jobs=4` predicts through a joblib thread pool;
in a server process the launcher set up, it predicts in the thread that asks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import joblib
import joblib.parallel
import numpy
import pytest
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier

from kserve_launcher.joblib_threads import JOBLIB_SEQUENTIAL_ENV, run_joblib_sequentially

ROWS = numpy.array([[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]])


@pytest.fixture
def forest(monkeypatch: pytest.MonkeyPatch) -> RandomForestClassifier:
    """A forest that predicts with 4 joblib threads; joblib's default is restored afterwards."""
    monkeypatch.setattr(joblib.parallel, "DEFAULT_BACKEND", joblib.parallel.DEFAULT_BACKEND)
    features, labels = load_iris(return_X_y=True)
    return RandomForestClassifier(n_estimators=8, n_jobs=4, random_state=0).fit(features, labels)


def threads_started(predict: Callable[[], object], monkeypatch: pytest.MonkeyPatch) -> int:
    """How many threads `predict` started."""
    started: list[threading.Thread] = []
    start = threading.Thread.start

    def counting_start(thread: threading.Thread) -> None:
        started.append(thread)
        start(thread)

    with monkeypatch.context() as patch:
        patch.setattr(threading.Thread, "start", counting_start)
        predict()
    return len(started)


def test_a_forest_predicts_in_the_calling_thread_with_the_same_answer(
    forest: RandomForestClassifier, monkeypatch: pytest.MonkeyPatch
):
    pooled_answer = forest.predict_proba(ROWS)
    pooled_threads = threads_started(lambda: forest.predict_proba(ROWS), monkeypatch)

    done = run_joblib_sequentially()

    assert done
    assert pooled_threads > 0
    assert threads_started(lambda: forest.predict_proba(ROWS), monkeypatch) == 0
    assert numpy.array_equal(forest.predict_proba(ROWS), pooled_answer)


def test_false_leaves_joblibs_thread_pool(
    forest: RandomForestClassifier, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv(JOBLIB_SEQUENTIAL_ENV, "false")

    done = run_joblib_sequentially()

    assert not done
    assert threads_started(lambda: forest.predict_proba(ROWS), monkeypatch) > 0


def test_code_that_names_a_backend_keeps_it(
    forest: RandomForestClassifier, monkeypatch: pytest.MonkeyPatch
):
    run_joblib_sequentially()

    with joblib.parallel_config(backend="threading"):
        started = threads_started(lambda: forest.predict_proba(ROWS), monkeypatch)

    assert started > 0
