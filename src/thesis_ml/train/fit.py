"""The epoch loop of one run (see :class:`thesis_ml.train.course.Course` for what a loop
supplies and what an epoch records)."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

from thesis_ml.train.course import Course
from thesis_ml.train.epochs import Metrics
from thesis_ml.train.runtime import Run


def fit(
    run: Run,
    model: torch.nn.Module,
    train_epoch: Callable[[], Metrics],
    evaluate: Callable[[str], Metrics],
    **course_options,
) -> dict:
    """Train for up to ``cfg.trainer.epochs`` epochs and return the run's result: one
    :class:`Course`, each epoch one ``train_epoch()`` (``course_options``: see there)."""
    course = Course(run, model, evaluate, **course_options)
    for number in course.epochs():
        started = time.perf_counter()
        train_metrics = train_epoch()
        if course.close(course.measure(number, train_metrics, time.perf_counter() - started)):
            break
    return course.result()
