"""Atoms: a month's scored answers of one question split into disjoint sets of at least k distinct
respondents. Every published figure is a sum of whole atoms, so any linear combination of figures
is constant on each atom and can single out no set smaller than an atom.

A cell is the answers with one direct manager (at answer time) and one segment path. A cell of k
respondents or more is an atom. The smaller cells of one full segment path are pooled; a pool still
under k joins the pool of the path one level up, and so on to the whole question; what is still
under k then joins the question's smallest atom (ties by a stable name). A question answered by
fewer than k people in the month has no atom: none of it is published.

`audit` checks what is about to be published, apart from the code that built it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import polars as pl

EMP, ATOM, SLICE = "emp", "atom", "slice"
PROMOTER, DETRACTOR = 9, 6  # 9-10 promote, 0-6 detract
CELL, POOL, WHOLE = 0, 1, 2  # an atom's kind: a cell, a pool of cells at a path level, a whole question
PARTS = ("kind", "level", "manager_part", "path_part")
Name = Callable[[int, int, int, int], Any]  # an atom's parts -> a name that orders the same in every run


def path(level: int) -> str:
    return f"path{level}"


def assign(table: pl.DataFrame, k: int, levels: int, name: Name) -> pl.DataFrame:
    """`table` (slice, emp, manager, path0..path<levels-1>: codes; manager may be null) with `atom`
    (Int64, null where not published): the atoms of each slice (one month's question)."""
    full = [path(levels - 1)] if levels else []
    assigned: list[pl.DataFrame] = []

    def take(rest: pl.DataFrame, by: list[str], parts: tuple[pl.Expr, pl.Expr, pl.Expr, pl.Expr]) -> pl.DataFrame:
        counted = rest.with_columns(pl.col(EMP).n_unique().over(by).alias("_n"))
        big = counted.filter(pl.col("_n") >= k).drop("_n")
        assigned.append(big.with_columns(p.alias(n) for p, n in zip(parts, PARTS, strict=True)))
        return counted.filter(pl.col("_n") < k).drop("_n")

    none = pl.lit(-1, pl.Int64)
    rest = take(
        table,
        [SLICE, "manager", *full],
        (pl.lit(CELL, pl.Int64), pl.lit(levels, pl.Int64), pl.col("manager").cast(pl.Int64).fill_null(-1),
         pl.col(full[0]).cast(pl.Int64) if full else none),
    )  # fmt: skip
    for level in reversed(range(levels)):
        parts = (pl.lit(POOL, pl.Int64), pl.lit(level, pl.Int64), none, pl.col(path(level)).cast(pl.Int64))
        rest = take(rest, [SLICE, path(level)], parts)
    rest = take(rest, [SLICE], (pl.lit(WHOLE, pl.Int64), none, none, none))
    atoms = pl.concat(assigned, how="diagonal_relaxed") if assigned else None
    if rest.height and atoms is not None:  # what is left joins its slice's smallest atom
        sizes = atoms.group_by(SLICE, *PARTS).agg(pl.col(EMP).n_unique().alias("_n"))
        smallest: dict[Any, tuple[int, ...]] = {}
        best: dict[Any, tuple[int, Any]] = {}
        for row in sizes.iter_rows(named=True):
            parts_of = tuple(row[p] for p in PARTS)
            rank = (row["_n"], name(*parts_of))
            if row[SLICE] not in best or rank < best[row[SLICE]]:
                best[row[SLICE]], smallest[row[SLICE]] = rank, parts_of
        target = pl.DataFrame(
            [(s, *parts) for s, parts in smallest.items()],
            schema={SLICE: atoms.schema[SLICE], **dict.fromkeys(PARTS, pl.Int64)},
            orient="row",
        )
        atoms = pl.concat([atoms, rest.join(target, on=SLICE)], how="diagonal_relaxed")
        rest = rest.join(target, on=SLICE, how="anti")
    out = []
    if atoms is not None:
        names = atoms.select(SLICE, *PARTS).unique().with_row_index(ATOM).with_columns(pl.col(ATOM).cast(pl.Int64))
        out.append(atoms.join(names, on=[SLICE, *PARTS]))
    out.append(rest.with_columns(pl.lit(None, pl.Int64).alias(ATOM)))
    return pl.concat(out, how="diagonal_relaxed").drop(PARTS, strict=False)


def audit(table: pl.DataFrame, k: int, figures: Sequence[pl.DataFrame]) -> list[str]:
    """What is wrong with publishing `figures` (each: answers, score_sum, promoters, detractors and
    `atoms`, the list of atoms it counts) over `table` (atom, emp, score): an atom under k distinct
    respondents, an atom counted twice by one figure, or a figure whose numbers are not the sum of
    the whole atoms it names. Empty when all is well."""
    problems: list[str] = []
    counted = table.filter(pl.col(ATOM).is_not_null())
    sums = counted.group_by(ATOM).agg(
        pl.col(EMP).n_unique().alias("people"),
        pl.len().alias("n"),
        pl.col("score").sum().alias("s"),
        (pl.col("score") >= PROMOTER).sum().alias("p"),
        (pl.col("score") <= DETRACTOR).sum().alias("d"),
    )
    problems += [
        f"atom {a} holds {n} respondents"
        for a, n in sums.filter(pl.col("people") < k).select(ATOM, "people").iter_rows()
    ]
    for figure in figures:
        if not figure.height:
            continue
        indexed = figure.with_row_index("_row")
        twice = indexed.filter(pl.col("atoms").list.len() != pl.col("atoms").list.n_unique())
        problems += [f"figure {r} counts an atom twice" for r in twice["_row"].to_list()]
        exploded = indexed.select("_row", pl.col("atoms").alias(ATOM)).explode(ATOM)
        totals = (
            exploded.join(sums, on=ATOM, how="left")
            .group_by("_row")
            .agg(
                pl.col("n").sum(),
                pl.col("s").sum(),
                pl.col("p").sum(),
                pl.col("d").sum(),
                pl.col("n").null_count().alias("unknown"),
            )
        )
        checked = indexed.join(totals, on="_row", how="left")
        wrong = checked.filter(
            (pl.col("unknown") > 0)
            | (pl.col("n") != pl.col("answers"))
            | ((pl.col("s") - pl.col("score_sum")).abs() > 1e-6)  # noqa: PLR2004
            | (pl.col("p") != pl.col("promoters"))
            | (pl.col("d") != pl.col("detractors"))
        )
        problems += [f"figure {r} is not the sum of its atoms" for r in wrong["_row"].to_list()]
    return problems
