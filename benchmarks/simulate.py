"""Simulator speed: 180 days x 5,000 payments/day (issue target: under a minute), against the
feature pipeline on the same rows as the baseline measured in the same run (best of --repeat).

    uv run python benchmarks/simulate.py [--days 180] [--tx-per-day 5000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

TARGET_S = 60.0


def best_of(repeat: int, run) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - started)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--tx-per-day", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from fraud_core.features import featurize_frame
    from fraud_core.simulation import WorldConfig, simulate_world

    config = WorldConfig(days=args.days, tx_per_day=args.tx_per_day)
    simulated, world = best_of(args.repeat, lambda: simulate_world(config, seed=1))
    featurized, _ = best_of(args.repeat, lambda: featurize_frame(world.transactions))
    rows = len(world.transactions)
    print(f"simulate_world: {args.days} days x {args.tx_per_day:,}/day = {rows:,} payments")
    print(f"  simulate      {simulated:6.2f} s  ({rows / simulated:,.0f} payments/s)")
    print(f"  featurize     {featurized:6.2f} s  (baseline: the feature pipeline, same rows)")
    print(f"  ratio         {simulated / featurized:6.2f} x the baseline")
    verdict = "ok" if simulated < TARGET_S else "TOO SLOW"
    print(f"  target        < {TARGET_S:.0f} s: {verdict}")
    if simulated >= TARGET_S:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
