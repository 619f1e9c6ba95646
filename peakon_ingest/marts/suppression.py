"""Which groups may be published: the anonymity threshold and complementary suppression.

Groups form trees within a slice (a question, a driver): a manager's `team` over their `direct`
group and the teams of the reports who manage; a department over its sub-departments. A group is
published when it has at least `k` respondents, and for every published parent the children that
are not published hold 0 or at least `k` distinct respondents together, so subtracting the published
children from the parent never reveals fewer than `k` people. When that fails, published children
are hidden too, smallest first (ties by their `rank`, a stable name), until it holds; the parent
itself always stays (hiding all its children leaves its own respondents, at least `k`).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

SLICE, NODE, PARENT, DEPTH, EMP, RANK = "slice", "node", "parent", "depth", "emp", "rank"


@dataclass(frozen=True)
class Suppressed:
    below_threshold: int
    complementary: int


def publishable(groups: pl.DataFrame, members: pl.DataFrame, k: int) -> tuple[pl.Series, Suppressed]:
    """For `groups` (slice, node, parent, depth, rank, respondents) and their `members` (slice, node,
    emp), a boolean per group: published or not."""
    published = (groups["respondents"] >= k).to_list()
    below = published.count(False)
    index = {key: i for i, key in enumerate(zip(groups[SLICE].to_list(), groups[NODE].to_list(), strict=True))}
    rank = groups[RANK].to_list()
    flags = groups.select(SLICE, NODE, PARENT, DEPTH).with_columns(pub=pl.Series(published, dtype=pl.Boolean))
    parents = flags.filter(pl.col("pub")).select(SLICE, pl.col(NODE).alias(PARENT))
    hidden_children = flags.filter(~pl.col("pub") & pl.col(PARENT).is_not_null()).join(parents, on=[SLICE, PARENT])
    hidden = (
        members.join(hidden_children.select(SLICE, NODE, PARENT), on=[SLICE, NODE])
        .group_by(SLICE, PARENT)
        .agg(pl.col(EMP).n_unique().alias("hidden"))
        .filter(pl.col("hidden") < k)
    )
    complementary = 0
    if hidden.height:
        violators = hidden.join(flags.select(SLICE, pl.col(NODE).alias(PARENT), DEPTH), on=[SLICE, PARENT])
        children = flags.join(violators.select(SLICE, PARENT), on=[SLICE, PARENT])
        sets = {
            (s, n): set(emps)
            for s, n, emps in members.join(children.select(SLICE, NODE), on=[SLICE, NODE])
            .group_by(SLICE, NODE)
            .agg(pl.col(EMP).unique())
            .iter_rows()
        }
        kids: dict[tuple[object, object], list[tuple[object, object]]] = {}
        for s, n, p in children.select(SLICE, NODE, PARENT).iter_rows():
            kids.setdefault((s, p), []).append((s, n))
        # From the top down: a parent hidden by a fix above needs no fix of its own.
        for s, p, _ in violators.sort(DEPTH, SLICE, PARENT).select(SLICE, PARENT, DEPTH).iter_rows():
            if not published[index[(s, p)]]:
                continue
            group = kids[(s, p)]
            union: set[object] = set().union(*(sets[c] for c in group if not published[index[c]]))
            shown = sorted((c for c in group if published[index[c]]), key=lambda c: (len(sets[c]), rank[index[c]]))
            while 0 < len(union) < k and shown:
                child = shown.pop(0)
                published[index[child]] = False
                union |= sets[child]
                complementary += 1
    return pl.Series("published", published, dtype=pl.Boolean), Suppressed(below, complementary)
