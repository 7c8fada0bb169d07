"""Hand-made tables whose features and labels were worked out by hand (see test_engine.py)."""

from __future__ import annotations

import pandas as pd
import pytest

from send_early.schema import Tables

EXTRACT = "2025-08-31"
AS_OF = "2021-09-01"


def _children() -> pd.DataFrame:
    rows = [
        # id, birth, sex, ethnicity, imd, gestation, weight, moved_out
        ("c01", "2018-01-10", "F", "White", 3, 35, 2300, None),  # rich history
        (
            "c02",
            "2019-07-01",
            "M",
            "Asian",
            None,
            40,
            None,
            None,
        ),  # no reviews; event just outside window
        ("c03", "2017-05-20", "M", None, 7, 38, 3100, "2021-06-01"),  # moved out before as_of
        (
            "c04",
            "2016-09-15",
            "F",
            "Black",
            1,
            39,
            3500,
            None,
        ),  # identified by an event before as_of
        ("c05", "2023-01-01", "F", "White", 5, 40, 3300, None),  # not born at as_of
        ("c06", "2020-12-01", "M", "White", 5, 40, 3300, None),  # too young (9 months)
        ("c07", "2008-01-01", "M", "Mixed", 2, 40, 3300, None),  # too old
        ("c08", "2018-03-03", "F", "White", 4, 40, 3300, None),  # identified by census K only
        (
            "c09",
            "2018-06-01",
            "M",
            "Other",
            6,
            41,
            3600,
            "2022-12-01",
        ),  # moves out in window, no event
        ("c10", "2018-06-01", "F", "Chinese", 6, 41, 3600, "2022-12-01"),  # event, then moves out
        (
            "c11",
            "2015-10-01",
            "M",
            "White",
            9,
            39,
            3400,
            None,
        ),  # SEN support only; EHC request later
    ]
    return pd.DataFrame(
        rows,
        columns=[
            "child_id",
            "birth_date",
            "sex",
            "ethnicity",
            "imd_decile",
            "gestation_weeks",
            "birth_weight_g",
            "moved_out_date",
        ],
    )


def make_hand_tables() -> Tables:
    health = pd.DataFrame(
        [
            ("c01", "2019-01-20", "1y", 30, 50, 50, 50, 50),
            ("c01", "2020-02-01", "2y", 20, 50, 30, 50, 50),
            ("c01", "2021-12-01", "2y", 60, 60, 60, 60, 60),  # after as_of
            ("c11", "2019-11-01", "2y", 40, 35, None, 60, 60),
            (
                "c11",
                "2020-01-01",
                "1y",
                10,
                10,
                10,
                10,
                10,
            ),  # later, but a 1-year review: 2y preferred
        ],
        columns=[
            "child_id",
            "review_date",
            "review_type",
            "asq_communication",
            "asq_gross_motor",
            "asq_fine_motor",
            "asq_problem_solving",
            "asq_personal_social",
        ],
    )
    # questionnaire intervals (contract v2); c11's 1-year review does not record one
    health["asq_interval_months"] = pd.array([12, 24, 27, 30, None], dtype="Int64")
    attendance = pd.DataFrame(
        [
            ("c01", "2019-09-02", "2019-12-20", 100, 0, 0),
            ("c01", "2020-09-03", "2020-12-18", 100, 5, 5),
            ("c01", "2021-01-04", "2021-03-31", 100, 10, 0),
            ("c01", "2021-04-12", "2021-07-21", 100, 10, 10),
            ("c01", "2021-09-02", "2021-12-17", 100, 50, 0),  # after as_of
            ("c11", "2021-04-12", "2021-07-21", 100, 1, 1),
        ],
        columns=[
            "child_id",
            "term_start",
            "term_end",
            "possible_sessions",
            "authorised_absence",
            "unauthorised_absence",
        ],
    )
    exclusions = pd.DataFrame(
        [
            ("c01", "2021-03-01", "suspension", 2.0),
            ("c01", "2020-06-01", "suspension", 1.0),  # more than 365 days before as_of
            ("c01", "2021-10-01", "permanent", None),  # after as_of
            ("c11", "2021-05-05", "permanent", None),
        ],
        columns=["child_id", "start_date", "category", "days"],
    )
    census = pd.DataFrame(
        [
            ("c01", "2020-10-01", "S1", False, True, "N"),
            ("c01", "2021-01-15", "S2", True, True, "N"),
            ("c01", "2021-05-20", "S2", False, True, "N"),
            ("c01", "2021-10-07", "S3", True, False, "K"),  # after as_of
            ("c08", "2021-05-20", "S1", False, False, "K"),
            ("c11", "2021-05-20", "S4", False, False, "N"),
            ("c11", "2021-10-07", "S4", False, False, "K"),
        ],
        columns=["child_id", "census_date", "school_id", "fsm_eligible", "eal", "sen_provision"],
    )
    social_care = pd.DataFrame(
        [
            ("c01", "2020-01-01", "2020-06-01", "CIN"),
            ("c01", "2021-08-01", "2022-01-01", "CPP"),  # open at as_of, closed later
            ("c11", "2019-01-01", "2021-09-01", "CIN"),  # closed on the as-of day
            ("c11", "2021-10-01", None, "CLA"),  # after as_of
        ],
        columns=["child_id", "start_date", "end_date", "episode"],
    )
    referrals = pd.DataFrame(
        [
            ("c01", "2021-01-01", "SALT"),
            ("c01", "2020-07-01", "SALT"),  # outside 365 days
            ("c01", "2022-01-01", "CAMHS"),  # after as_of
            ("c11", "2021-08-31", "early_help"),
        ],
        columns=["child_id", "referral_date", "service"],
    )
    assessments = pd.DataFrame(
        [
            ("c11", "2021-06-20", "eyfsp_gld", 1.0),  # c11 (born Oct 2015): Reception 2020-21
            ("c11", "2021-06-20", "eyfsp_comm_lang", 0.0),
            ("c01", "2023-06-20", "eyfsp_gld", 0.0),  # after as_of
        ],
        columns=["child_id", "assessment_date", "measure", "value"],
    )
    sen_events = pd.DataFrame(
        [
            ("c01", "2022-03-01", "sen_support", "SLCN"),
            ("c02", "2023-09-02", "ehcp", None),  # one day after the 24-month window
            ("c04", "2020-10-01", "sen_support", "ASD"),
            ("c10", "2022-06-01", "sen_support", None),
            ("c11", "2022-01-01", "sen_support", "SEMH"),
            ("c11", "2024-01-01", "ehc_request", "SEMH"),
        ],
        columns=["child_id", "event_date", "event", "primary_need"],
    )
    return Tables(
        {
            "children": _children(),
            "health_reviews": health,
            "attendance": attendance,
            "exclusions": exclusions,
            "census": census,
            "social_care": social_care,
            "referrals": referrals,
            "assessments": assessments,
            "sen_events": sen_events,
        },
        extract_date=EXTRACT,
    )


@pytest.fixture
def hand_tables() -> Tables:
    return make_hand_tables()


@pytest.fixture(scope="module")
def hand_tables_shared() -> Tables:
    """The same tables, built once per module (do not modify)."""
    return make_hand_tables()
