"""The Algorithmic Transparency Recording Standard record and DPIA input sheet of a version.

:func:`transparency_record` fills the ATRS record (tier 1 and tier 2) from the registry, the
model card and the specs; fields only a person can fill are marked, never guessed.
"""

from ._record import ATRS_VERSION, DATA_CATEGORIES, Field, TransparencyRecord, transparency_record

__all__ = [
    "ATRS_VERSION",
    "DATA_CATEGORIES",
    "Field",
    "TransparencyRecord",
    "transparency_record",
]
