"""Audit details reach the database without NaN or infinities."""

import math

import numpy as np

from fraud_core.jsonsafe import json_safe


def test_non_finite_floats_become_none_recursively():
    value = {"a": math.nan, "b": [1.0, math.inf, {"c": np.float64("nan")}], "d": "x", "e": 2}
    assert json_safe(value) == {"a": None, "b": [1.0, None, {"c": None}], "d": "x", "e": 2}
    assert json_safe((np.float32(1.5),)) == [np.float32(1.5)]
