"""The drift report's files (`drift.compute_drift`'s result and Evidently's snapshot): the
Evidently page and JSON, the result as JSON, and a plot of the top drifting columns."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from fraud_core.drift import DriftResult
from fraud_core.reports.figures import new_figure, save_png


def save_drift_report(snapshot: Any, result: DriftResult, out_dir: Path, stem: str) -> DriftResult:
    """Saves `<stem>.html` (Evidently), `<stem>.evidently.json`, `<stem>.json` (`result`) and
    `<stem>.png` (the top drifting columns) in `out_dir`; `result` with their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "html_path": out_dir / f"{stem}.html",
        "json_path": out_dir / f"{stem}.json",
        "png_path": out_dir / f"{stem}.png",
    }
    snapshot.save_html(str(paths["html_path"]))
    snapshot.save_json(str(out_dir / f"{stem}.evidently.json"))
    result = replace(result, **paths)
    paths["json_path"].write_text(json.dumps(result.to_dict(), indent=1))
    plot_top_drift(result, paths["png_path"])
    return result


def plot_top_drift(result: DriftResult, path: Path, k: int = 12) -> None:
    """Horizontal bars of the `k` columns with the highest score/threshold ratio."""
    top = result.top(k)[::-1]
    fig = new_figure(7, 0.35 * len(top) + 1.2)
    ax = fig.subplots()
    ax.barh(
        [f"{c.column} ({c.method})" for c in top],
        [c.severity for c in top],
        color=["#c0392b" if c.drifted else "#7f8c8d" for c in top],
    )
    ax.axvline(1.0, color="black", linewidth=1, linestyle="--")
    ax.set_xlabel("drift score / threshold (>= 1: drifted)")
    ax.set_title(f"Top drifting columns: {result.n_current:,} current vs {result.n_reference:,}")
    save_png(fig, path, dpi=90)
