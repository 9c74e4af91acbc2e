"""Load time of the `fraud_assets` code location as a ratio to `import dagster` alone.

Each measurement is a fresh interpreter (cold imports, warm file cache), median of 5, in CPU
seconds of the process (`time.process_time`): on a busy machine the wall clock measured the
neighbours (1.2x-1.6x between runs of the same tree at load 5), CPU time moves far less.
Target: ratio <= 1.5 (heavy libraries are imported inside asset bodies only). Also printed, for
comparison: what `dg.load_from_defs_folder` would add, the JSON of the component types
installed plugins register, which `fraud_assets/definitions.py` does not build.
"""

from __future__ import annotations

import statistics
import subprocess
import sys

BASELINE = """
import time; t = time.process_time()
import dagster
print(time.process_time() - t)
"""
LOCATION = """
import time; t = time.process_time()
import dagster
from fraud_assets.definitions import defs
repo = defs().get_repository_def()
repo.get_all_jobs(); repo.asset_graph
print(time.process_time() - t)
"""
DAGSTER_FOLDER_COST = """
import dagster
from dagster.components.core.load_defs import get_library_json_enriched_defs
import time; t = time.process_time()
get_library_json_enriched_defs(None)
print(time.process_time() - t)
"""
RUNS = 5


def median_seconds(code: str) -> float:
    times = []
    for _ in range(RUNS):
        out = subprocess.run(
            [sys.executable, "-W", "ignore", "-c", code],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        times.append(float(out.strip().splitlines()[-1]))
    return statistics.median(times)


def main() -> None:
    baseline = median_seconds(BASELINE)
    location = median_seconds(LOCATION)
    library = median_seconds(DAGSTER_FOLDER_COST)
    ratio = location / baseline
    print(f"import dagster:              {baseline:.2f} s CPU (median of {RUNS})")
    print(f"load fraud_assets location:  {location:.2f} s CPU (median of {RUNS})")
    print(
        f"  not paid: load_from_defs_folder's component-library JSON, {library:.2f} s "
        f"(with it {(location + library) / baseline:.2f}x)"
    )
    print(f"ratio: {ratio:.2f}x (target <= 1.5x) {'OK' if ratio <= 1.5 else 'OVER TARGET'}")


if __name__ == "__main__":
    main()
