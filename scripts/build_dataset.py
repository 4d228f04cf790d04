#!/usr/bin/env python3
"""Collect candidate videos and their "Most Replayed" heatmaps into DATASET.jsonl (needs
internet; details in orchestrator/evaluation/collect.py).

    .venv/bin/python scripts/build_dataset.py --query "podcast interview" --query "cooking" \\
        [--channel https://www.youtube.com/@SomeChannel] [--per-source 20] \\
        [--min-minutes 10] [--max-minutes 30] [--require-heatmap] [--download DIR] \\
        --out data/DATASET.jsonl
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from orchestrator.errors import SnapclipError
from orchestrator.evaluation.collect import collect, listings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--query", action="append", default=[], help="a YouTube search")
    parser.add_argument("--channel", action="append", default=[], help="a channel URL")
    parser.add_argument("--per-source", type=int, default=20)
    parser.add_argument("--min-minutes", type=float, default=10)
    parser.add_argument("--max-minutes", type=float, default=30)
    parser.add_argument("--require-heatmap", action="store_true",
                        help="keep only videos that have a heatmap")
    parser.add_argument("--download", type=Path, help="also download the videos here")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    try:
        count = collect(listings(args.query, args.channel, args.per_source), args.out,
                        per_listing=args.per_source, min_minutes=args.min_minutes,
                        max_minutes=args.max_minutes, require_heatmap=args.require_heatmap,
                        download=args.download, say=lambda m: print(m, file=sys.stderr))
    except SnapclipError as exc:
        print(f"build_dataset: error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return exc.exit_code
    print(f"build_dataset: {count} videos -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
