"""Python's cyclic garbage collector, set for a process that holds pages of records.

An answers page decodes to tens of thousands of dicts that stay alive until its page file is
written. At the default thresholds (a collection every 700 new objects, the older generations every
10 of the younger) the collector ran dozens of times per page, each time scanning the records held
(the same setting took a quarter of the target's CPU off, bench/README.md). Records are trees (no
reference cycles), so collecting less often leaves nothing to pile up.
"""

from __future__ import annotations

import gc

# Measured on 100,000 answers: tap CPU 1.9-2.2 s at the defaults, 1.7-1.9 s with these.
THRESHOLDS = (100_000, 20, 100)


def set_for_bulk_records() -> None:
    """Call once the modules are loaded: what start-up made lives until exit and is never scanned again."""
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
