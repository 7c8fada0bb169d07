"""Data contract v1: the single source for reading, validation, dtypes and docs.

Every table, column, code list and range that send_early accepts is declared here
once. :func:`send_early.read_tables`, :func:`send_early.validate`, the synthetic
cohort generator and the generated page ``docs/data_contract.md`` all read these
objects; nothing else in the package hard-codes a column name of the contract.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

CONTRACT_VERSION = "2"

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


def _id() -> Column:
    return Column(
        "child_id", "id", description="Pseudonymous child identifier, shared across tables."
    )


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
                Column("birth_date", "date", description="Date of birth."),
                Column(
                    "sex", "code", codes=SEX, description="Sex as recorded in the school census."
                ),
                Column(
                    "ethnicity",
                    "code",
                    nullable=True,
                    codes=ETHNICITY,
                    null_means="Unclassified",
                    description="Major ethnic group; empty means Unclassified.",
                ),
                Column(
                    "imd_decile",
                    "int",
                    nullable=True,
                    min=1,
                    max=10,
                    description="Index of Multiple Deprivation decile of home area (1 = most deprived).",
                ),
                Column(
                    "gestation_weeks",
                    "int",
                    nullable=True,
                    min=22,
                    max=44,
                    description="Completed weeks of gestation at birth.",
                ),
                Column(
                    "birth_weight_g",
                    "int",
                    nullable=True,
                    min=300,
                    max=6000,
                    description="Birth weight in grams.",
                ),
                Column(
                    "moved_out_date",
                    "date",
                    nullable=True,
                    description="Date the child left the council area; empty if still resident.",
                ),
                Column(
                    "council_id",
                    "str",
                    nullable=True,
                    optional=True,
                    if_absent="results cannot be split by council (one area is assumed).",
                    description="Pseudonymous council (local authority) of the child; lets a "
                    "model be trained on some councils and tested on another. Added in contract "
                    "v2, optional.",
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
                Column("review_date", "date", description="Date of the health visitor review."),
                Column(
                    "review_type",
                    "code",
                    codes=REVIEW_TYPES,
                    description="1-year or 2-year (2-2.5 year) review.",
                ),
                *(
                    Column(
                        d,
                        "int",
                        nullable=True,
                        min=0,
                        max=60,
                        step=5,
                        description=f"ASQ-3 {d[4:].replace('_', ' ')} score (0-60 in steps of 5).",
                    )
                    for d in ASQ_DOMAINS
                ),
                Column(
                    "asq_interval_months",
                    "int",
                    nullable=True,
                    min=2,
                    max=60,
                    optional=True,
                    if_absent="ASQ-3 below-cut-off features will be missing (the cut-offs differ "
                    "by questionnaire interval).",
                    description="ASQ-3 questionnaire interval used, in months (one of "
                    + ", ".join(map(str, ASQ_INTERVALS))
                    + "); added in contract v2, optional.",
                ),
            ),
            date_column="review_date",
            description="One row per health visitor review (ASQ-3 scores).",
        ),
        Table(
            "census",
            (
                _id(),
                Column(
                    "census_date",
                    "date",
                    description="School census day (autumn, spring or summer).",
                ),
                Column("school_id", "str", description="Pseudonymous school identifier."),
                Column(
                    "fsm_eligible",
                    "bool",
                    description="Eligible for free school meals on census day.",
                ),
                Column("eal", "bool", description="First language other than English."),
                Column(
                    "sen_provision",
                    "code",
                    codes=SEN_PROVISION,
                    description="N no SEN, K SEN support, E EHC plan.",
                ),
            ),
            date_column="census_date",
            description="One row per pupil per termly school census.",
        ),
        Table(
            "attendance",
            (
                _id(),
                Column("term_start", "date", description="First day of the term."),
                Column(
                    "term_end", "date", description="Last day of the term (on or after term_start)."
                ),
                Column(
                    "possible_sessions",
                    "int",
                    min=0,
                    max=MAX_TERM_SESSIONS,
                    description="Possible half-day sessions (a long term has about 160).",
                ),
                Column(
                    "authorised_absence",
                    "int",
                    min=0,
                    max=MAX_TERM_SESSIONS,
                    description="Sessions of authorised absence.",
                ),
                Column(
                    "unauthorised_absence",
                    "int",
                    min=0,
                    max=MAX_TERM_SESSIONS,
                    description="Sessions of unauthorised absence.",
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
                Column(
                    "start_date", "date", description="First day of the suspension or exclusion."
                ),
                Column(
                    "category",
                    "code",
                    codes=EXCLUSION_CATEGORIES,
                    description="Suspension or permanent exclusion.",
                ),
                Column(
                    "days",
                    "float",
                    nullable=True,
                    min=0,
                    max=SCHOOL_YEAR_DAYS,
                    description="Length in school days (> 0; at most a school year of 190 days).",
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
                Column("assessment_date", "date", description="Date of the assessment."),
                Column(
                    "measure",
                    "code",
                    codes=MEASURES,
                    description="EYFSP good level of development or area (0/1), or Year 1 phonics mark (0-40).",
                ),
                Column(
                    "value",
                    "float",
                    min=0,
                    max=40,
                    description="0 or 1 for EYFSP measures; 0-40 for phonics_mark.",
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
                Column("start_date", "date", description="Start of the episode."),
                Column(
                    "end_date",
                    "date",
                    nullable=True,
                    description="End of the episode; empty if open.",
                ),
                Column(
                    "episode",
                    "code",
                    codes=EPISODES,
                    description="Child in need, child protection plan, or looked after.",
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
                Column("referral_date", "date", description="Date of referral."),
                Column("service", "code", codes=SERVICES, description="Service referred to."),
            ),
            date_column="referral_date",
            description="One row per referral to a health, therapy or early-help service.",
        ),
        Table(
            "sen_events",
            (
                _id(),
                Column("event_date", "date", description="Date of the event."),
                Column(
                    "event",
                    "code",
                    codes=SEN_EVENTS,
                    description="Start of SEN support, request for EHC needs assessment, or EHC plan issued.",
                ),
                Column(
                    "primary_need",
                    "code",
                    nullable=True,
                    codes=PRIMARY_NEEDS,
                    description="Primary type of need, where recorded.",
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
