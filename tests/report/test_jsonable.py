"""One JSON helper for result objects and the model card: plain values, ISO dates."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from send_early.report import jsonable

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(2**31), 2**31).map(np.int64),
    st.floats(allow_nan=True, width=32).map(np.float32),
    st.booleans().map(np.bool_),
    st.text(max_size=5),
    st.dates(dt.date(1990, 1, 1), dt.date(2040, 1, 1)),
    st.datetimes(dt.datetime(1990, 1, 1), dt.datetime(2040, 1, 1)).map(pd.Timestamp),
    st.just(pd.NA),
    st.just(pd.NaT),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(st.one_of(st.text(max_size=3), st.integers(0, 9)), inner, max_size=4),
    ),
    max_leaves=20,
)


@given(_values)
def test_jsonable_output_is_strict_json_and_stable(value):
    out = jsonable(value)
    text = json.dumps(out, allow_nan=False)  # raises on NaN, inf or a non-JSON type
    assert json.loads(text) == out
    assert jsonable(out) == out


def test_dates_are_iso_dates_and_times_kept():
    out = jsonable(
        {
            "ts": pd.Timestamp("2024-09-01"),
            "d": dt.date(2024, 9, 1),
            "np": np.datetime64("2024-09-01"),
            "time": pd.Timestamp("2024-09-01 08:30"),
            "nat": np.datetime64("NaT"),
            "frame": pd.DataFrame({"as_of": pd.to_datetime(["2024-09-01"]), "n": [3]}),
        }
    )
    assert out == {
        "ts": "2024-09-01",
        "d": "2024-09-01",
        "np": "2024-09-01",
        "time": "2024-09-01T08:30:00",
        "nat": None,
        "frame": [{"as_of": "2024-09-01", "n": 3}],
    }


def test_result_objects_use_the_same_helper():
    # evaluation and fairness once had their own copy, writing dates as 2024-09-01T00:00:00
    import send_early.evaluation._evaluation as evaluation
    import send_early.fairness._audit as audit

    assert evaluation._jsonable is jsonable and audit.jsonable is jsonable
