"""Work lists for the people who act: one list per setting, capacity policies by setting.

The capacity policies live in :mod:`send_early.evaluation` (the model card shows them too);
this package re-exports the same objects.
"""

from ..evaluation import CAPACITY_POLICIES, capacity_by_setting, compare_capacity_policies
from ._lists import LIST_AUDIENCES, WorkLists, build_lists, reader_of, write_lists
from ._reasons import AUDIENCES, DOMAINS, feature_domains

__all__ = [
    "AUDIENCES",
    "CAPACITY_POLICIES",
    "DOMAINS",
    "LIST_AUDIENCES",
    "WorkLists",
    "build_lists",
    "capacity_by_setting",
    "compare_capacity_policies",
    "feature_domains",
    "reader_of",
    "write_lists",
]
