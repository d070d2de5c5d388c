"""The gate for a CI (make check BASE=...): exit 1 when this build regresses against the base, one line per gate
crossed; 0 otherwise. The figures are computed from the two files as the database's comparison computes them, so any
build can be checked against any base without building again.

    python -m pipeline check --config pipeline/config.toml --db build/reviewlens.duckdb \
        --base build/v1/reviewlens.duckdb
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

from pipeline import cli
from pipeline.config import load_config
from pipeline.database.base_file import BASE, attach, given_base
from pipeline.errors import PipelineError
from pipeline.whole_set.compare import Comparison, Sides, compare


def _pair(row) -> str:
    return row.model if row.base_model == row.model else f"{row.base_model} -> {row.model}"


def gates(comparison: Comparison, settings: dict) -> list[str]:
    """One line per gate a pair crosses: too many texts broken, a drop in accuracy or macro-F1 past its setting that
    the interval rules out as noise, a behavioural test failing more often likewise."""
    crossed = []
    limit = settings["max_negative_flip_rate"]
    for row in comparison.pairs.itertuples():
        if row.negative_flip_rate > limit:
            crossed.append(
                f"{_pair(row)}: {row.broken:,} of {row.texts:,} test texts broken "
                f"({row.negative_flip_rate:.1%}), above max_negative_flip_rate {limit:.1%}"
            )
    overall = comparison.metrics[comparison.metrics["class"].isna()]
    for metric, setting in (("accuracy", "max_accuracy_drop"), ("macro_f1", "max_macro_f1_drop")):
        for row in overall[overall["metric"] == metric].itertuples():
            if -row.difference > settings[setting] and row.ci_high < 0:
                crossed.append(
                    f"{_pair(row)}: {metric} fell from {row.before:.3f} to {row.after:.3f} "
                    f"({row.difference:+.3f}, 95% interval {row.ci_low:+.3f} to {row.ci_high:+.3f}), "
                    f"more than {setting} {settings[setting]}"
                )
    rise = settings["max_failure_rise"]
    for row in comparison.behaviour.itertuples() if not comparison.behaviour.empty else []:
        if row.difference > rise and row.ci_low > 0:
            crossed.append(
                f"{_pair(row)}: behavioural test {row.test} fails {row.failure_rate_before:.1%} -> "
                f"{row.failure_rate_after:.1%} of its cases, a rise above max_failure_rise {rise:.1%}"
            )
    return crossed


def main() -> None:
    p = cli.parser(__doc__)
    p.add_argument("--db", required=True, type=Path, help="this build's database")
    p.add_argument("--base", default="", help="the base build's database")
    args = p.parse_args()
    config = load_config(args.config)
    if not args.base:
        raise PipelineError("make check needs the build to compare with: make check BASE=path/to/reviewlens.duckdb")
    if not args.db.is_file():
        raise PipelineError(f"{args.db}: no database; run make all first (with the DATA= and MODEL= of this build)")
    settings = given_base(config["compare"], args.base, args.db)
    with duckdb.connect() as con:
        attach(con, args.db, alias="this", what="")
        attach(con, settings["base"])
        comparison = compare(con, Sides("this", BASE), {**config, "compare": settings}, everything=False)
    crossed = gates(comparison, settings)
    for line in crossed:
        print(f"gate: {line}")
    if crossed:
        print(f"{len(crossed)} gate(s) crossed against {args.base}", file=sys.stderr)
        sys.exit(1)
    print(f"no gate crossed: {len(comparison.pairs)} pair(s) compared with {args.base}")
