"""Data contract v3: the single source for reading, validation, dtypes and docs.

Every table, column, code list and range that send_early accepts is declared here
once. :func:`send_early.read_tables`, :func:`send_early.validate`, the synthetic
cohort generator and the generated page ``docs/data_contract.md`` all read these
objects; nothing else in the package hard-codes a column name of the contract.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

CONTRACT_VERSION = "3"

#: Column kinds and the pandas dtype each is held in once read and validated.
KIND_DTYPES: Mapping[str, str] = {
    "id": "str",
    "str": "str",
    "date": "datetime64[s]",
    "int": "Int64",
    "float": "Float64",
    "bool": "boolean",
    "code": "category",
}


@dataclass(frozen=True)
class Column:
    """One column of a contract table.

    Parameters
    ----------
    name : str
        Column name as it appears in the file header.
    kind : {"id", "str", "date", "int", "float", "bool", "code"}
        Logical type; see :data:`KIND_DTYPES` for the pandas dtype.
    nullable : bool
        Whether an empty value is allowed.
    codes : tuple of str, optional
        Allowed values for ``kind="code"``.
    min, max : float, optional
        Inclusive range for numeric columns. Every numeric column has both, and
        its values must be finite (no inf).
    step : int, optional
        Values must be multiples of ``step`` (ASQ-3 scores move in steps of 5).
    null_means : str, optional
        For nullable code columns, the code an empty value stands for.
    description : str
        Plain-English meaning, shown in ``docs/data_contract.md``.
    optional : bool
        Whether a table may lack the column (added in a later contract version):
        it is then read as empty, with ``if_absent`` as the validation note.
    if_absent : str
        What is missing downstream when an optional column is absent.
    """

    name: str
    kind: str
    nullable: bool = False
    codes: tuple[str, ...] | None = None
    min: float | None = None
    max: float | None = None
    step: int | None = None
    null_means: str | None = None
    description: str = ""
    optional: bool = False
    if_absent: str = ""

    @property
    def dtype(self):
        """The pandas dtype this column is held in after validation."""
        if self.kind == "code":
            return pd.CategoricalDtype(list(self.codes or ()))
        return KIND_DTYPES[self.kind]


@dataclass(frozen=True)
class Table:
    """One table of the contract.

    Parameters
    ----------
    name : str
        Table name; the file is ``<name>.parquet`` or ``<name>.csv``.
    columns : tuple of Column
        Required columns, in order.
    date_column : str
        The column that dates a record for as-of rules (a record counts from
        this date on).
    required : bool
        Whether a folder without this table is invalid.
    description : str
        What one row is.
    """

    name: str
    columns: tuple[Column, ...]
    date_column: str
    required: bool = False
    description: str = ""
    rules: tuple[str, ...] = field(default_factory=tuple)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"table {self.name!r} has no column {name!r} in the contract")

    @property
    def date_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.kind == "date"]

    @property
    def dtypes(self) -> dict[str, object]:
        return {c.name: c.dtype for c in self.columns}


def _col(name: str, kind: str, description: str, **rules) -> Column:
    """One row of the contract below: name, kind and meaning first, then its rules."""
    return Column(name, kind, description=description, **rules)


def _id() -> Column:
    return _col("child_id", "id", "Pseudonymous child identifier, shared across tables.")


SEX = ("F", "M")
ETHNICITY = ("White", "Mixed", "Asian", "Black", "Chinese", "Other", "Unclassified")
REVIEW_TYPES = ("1y", "2y")
SEN_PROVISION = ("N", "K", "E")
EXCLUSION_CATEGORIES = ("suspension", "permanent")
EYFSP_MEASURES = (
    "eyfsp_gld",
    "eyfsp_comm_lang",
    "eyfsp_psed",
    "eyfsp_physical",
    "eyfsp_literacy",
    "eyfsp_maths",
)
MEASURES = (*EYFSP_MEASURES, "phonics_mark")
EPISODES = ("CIN", "CPP", "CLA")
SERVICES = ("SALT", "CAMHS", "paediatrics", "OT", "EP", "early_help")
SEN_EVENTS = ("sen_support", "ehc_request", "ehcp")
PRIMARY_NEEDS = (
    "SLCN", "ASD", "SEMH", "MLD", "SPLD", "SLD", "PMLD", "PD", "HI", "VI", "MSI", "OTH", "NSA", "DS",
)  # fmt: skip
ASQ_DOMAINS = (
    "asq_communication",
    "asq_gross_motor",
    "asq_fine_motor",
    "asq_problem_solving",
    "asq_personal_social",
)
#: ASQ-3 24-month referral cut-offs (mean - 2 SD), unconfirmed against the publisher's
#: tables. The default pipeline's below-cut-off flags use the cut-offs of each review's own
#: interval (send_early/features/asq_cutoffs.toml); this constant is the 24-month row.
ASQ_CUTOFFS: Mapping[str, float] = {
    "asq_communication": 25.17,
    "asq_gross_motor": 38.07,
    "asq_fine_motor": 35.16,
    "asq_problem_solving": 29.78,
    "asq_personal_social": 31.54,
}
#: ASQ-3 questionnaire intervals in months (health_reviews.asq_interval_months).
ASQ_INTERVALS = (2, 4, 6, 8, 9, 10, 12, 14, 16, 18, 20, 22, 24, 27, 30, 33, 36, 42, 48, 54, 60)
PHONICS_THRESHOLD = 32
#: Upper bound on half-day sessions in one term (a 16-week term has 160; room for a long one).
MAX_TERM_SESSIONS = 200
#: School days in a school year in England; no exclusion record can be longer.
SCHOOL_YEAR_DAYS = 190

TABLES: Mapping[str, Table] = {
    t.name: t
    for t in (
        Table(
            "children",
            (
                _id(),
                _col("birth_date", "date", "Date of birth."),
                _col("sex", "code", "Sex as recorded in the school census.", codes=SEX),
                _col(
                    "ethnicity",
                    "code",
                    "Major ethnic group; empty means Unclassified.",
                    nullable=True,
                    codes=ETHNICITY,
                    null_means="Unclassified",
                ),
                _col(
                    "imd_decile",
                    "int",
                    "Index of Multiple Deprivation decile of home area (1 = most deprived).",
                    nullable=True,
                    min=1,
                    max=10,
                ),
                _col(
                    "gestation_weeks",
                    "int",
                    "Completed weeks of gestation at birth.",
                    nullable=True,
                    min=22,
                    max=44,
                ),
                _col(
                    "birth_weight_g",
                    "int",
                    "Birth weight in grams.",
                    nullable=True,
                    min=300,
                    max=6000,
                ),
                _col(
                    "moved_out_date",
                    "date",
                    "Date the child left the council area; empty if still resident.",
                    nullable=True,
                ),
                _col(
                    "council_id",
                    "str",
                    "Pseudonymous council (local authority) of the child; lets a "
                    "model be trained on some councils and tested on another. Added in contract "
                    "v2, optional.",
                    nullable=True,
                    optional=True,
                    if_absent="results cannot be split by council (one area is assumed).",
                ),
                _col(
                    "locality",
                    "str",
                    "Pseudonymous health visiting / early help locality team covering the "
                    "child's home area, as recorded at the extract (one value per child; a "
                    "child who moved keeps the recorded one). Used only to route a work list "
                    "and for the per-locality capacity policy, never as a feature. Added in "
                    "contract v3, optional.",
                    nullable=True,
                    optional=True,
                    if_absent="children not on a school roll go on one not_on_roll list, and "
                    "the locality capacity policy cannot be used.",
                ),
            ),
            date_column="birth_date",
            required=True,
            description="One row per child known to the council.",
        ),
        Table(
            "health_reviews",
            (
                _id(),
                _col("review_date", "date", "Date of the health visitor review."),
                _col(
                    "review_type",
                    "code",
                    "1-year or 2-year (2-2.5 year) review.",
                    codes=REVIEW_TYPES,
                ),
                *(
                    _col(
                        d,
                        "int",
                        f"ASQ-3 {d[4:].replace('_', ' ')} score (0-60 in steps of 5).",
                        nullable=True,
                        min=0,
                        max=60,
                        step=5,
                    )
                    for d in ASQ_DOMAINS
                ),
                _col(
                    "asq_interval_months",
                    "int",
                    "ASQ-3 questionnaire interval used, in months (one of "
                    + ", ".join(map(str, ASQ_INTERVALS))
                    + "); added in contract v2, optional.",
                    nullable=True,
                    min=2,
                    max=60,
                    optional=True,
                    if_absent="ASQ-3 below-cut-off features will be missing (the cut-offs differ "
                    "by questionnaire interval).",
                ),
            ),
            date_column="review_date",
            description="One row per health visitor review (ASQ-3 scores).",
        ),
        Table(
            "census",
            (
                _id(),
                _col("census_date", "date", "School census day (autumn, spring or summer)."),
                _col("school_id", "str", "Pseudonymous school identifier."),
                _col("fsm_eligible", "bool", "Eligible for free school meals on census day."),
                _col("eal", "bool", "First language other than English."),
                _col(
                    "sen_provision",
                    "code",
                    "N no SEN, K SEN support, E EHC plan.",
                    codes=SEN_PROVISION,
                ),
            ),
            date_column="census_date",
            description="One row per pupil per termly school census.",
        ),
        Table(
            "attendance",
            (
                _id(),
                _col("term_start", "date", "First day of the term."),
                _col("term_end", "date", "Last day of the term (on or after term_start)."),
                *(  # half-day sessions in the term
                    _col(name, "int", text, min=0, max=MAX_TERM_SESSIONS)
                    for name, text in (
                        (
                            "possible_sessions",
                            "Possible half-day sessions (a long term has about 160).",
                        ),
                        ("authorised_absence", "Sessions of authorised absence."),
                        ("unauthorised_absence", "Sessions of unauthorised absence."),
                    )
                ),
            ),
            date_column="term_end",
            description="One row per pupil per term. Absences sum to at most possible_sessions.",
            rules=("term_order", "absence_sum"),
        ),
        Table(
            "exclusions",
            (
                _id(),
                _col("start_date", "date", "First day of the suspension or exclusion."),
                _col(
                    "category",
                    "code",
                    "Suspension or permanent exclusion.",
                    codes=EXCLUSION_CATEGORIES,
                ),
                _col(
                    "days",
                    "float",
                    "Length in school days (> 0; at most a school year of 190 days).",
                    nullable=True,
                    min=0,
                    max=SCHOOL_YEAR_DAYS,
                ),
            ),
            date_column="start_date",
            description="One row per suspension or permanent exclusion.",
            rules=("days_positive",),
        ),
        Table(
            "assessments",
            (
                _id(),
                _col("assessment_date", "date", "Date of the assessment."),
                _col(
                    "measure",
                    "code",
                    "EYFSP good level of development or area (0/1), or Year 1 phonics mark (0-40).",
                    codes=MEASURES,
                ),
                _col(
                    "value",
                    "float",
                    "0 or 1 for EYFSP measures; 0-40 for phonics_mark.",
                    min=0,
                    max=40,
                ),
            ),
            date_column="assessment_date",
            description="One row per child per assessment measure.",
            rules=("measure_value",),
        ),
        Table(
            "social_care",
            (
                _id(),
                _col("start_date", "date", "Start of the episode."),
                _col("end_date", "date", "End of the episode; empty if open.", nullable=True),
                _col(
                    "episode",
                    "code",
                    "Child in need, child protection plan, or looked after.",
                    codes=EPISODES,
                ),
            ),
            date_column="start_date",
            description="One row per social care episode.",
            rules=("episode_order",),
        ),
        Table(
            "referrals",
            (
                _id(),
                _col("referral_date", "date", "Date of referral."),
                _col("service", "code", "Service referred to.", codes=SERVICES),
            ),
            date_column="referral_date",
            description="One row per referral to a health, therapy or early-help service.",
        ),
        Table(
            "sen_events",
            (
                _id(),
                _col("event_date", "date", "Date of the event."),
                _col(
                    "event",
                    "code",
                    "Start of SEN support, request for EHC needs assessment, or EHC plan issued.",
                    codes=SEN_EVENTS,
                ),
                _col(
                    "primary_need",
                    "code",
                    "Primary type of need, where recorded.",
                    nullable=True,
                    codes=PRIMARY_NEEDS,
                ),
            ),
            date_column="event_date",
            required=True,
            description="One row per SEN identification event. Needed to exclude children "
            "already identified from the population, and for labels.",
        ),
    )
}

TABLE_NAMES: tuple[str, ...] = tuple(TABLES)
