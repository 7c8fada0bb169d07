"""Work lists for the people who act: one list per setting, capacity policies by setting."""

from ._capacity import CAPACITY_POLICIES, capacity_by_setting, compare_capacity_policies
from ._lists import WorkLists, build_lists, write_lists
from ._reasons import AUDIENCES, DOMAINS, feature_domains

__all__ = [
    "AUDIENCES",
    "CAPACITY_POLICIES",
    "DOMAINS",
    "WorkLists",
    "build_lists",
    "capacity_by_setting",
    "compare_capacity_policies",
    "feature_domains",
    "write_lists",
]
