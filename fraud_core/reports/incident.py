"""The simulated incident's plot (`simulation.incident`'s figures): monthly FPR per seed."""

from __future__ import annotations

from pathlib import Path

from fraud_core.reports.figures import new_figure, save_png
from fraud_core.simulation.incident import IncidentReport


def plot_monthly_fpr(reports: list[IncidentReport], path: Path) -> Path:
    """Monthly FPR of the static model per seed, with the retrained model's last month."""
    from matplotlib.ticker import PercentFormatter

    figure = new_figure(7, 4)
    axis = figure.subplots()
    axis.axhspan(0.12, 0.25, color="tab:red", alpha=0.08, label="case study: 12-25%")
    for report in reports:
        months = [0, *report.monthly["month"]]
        fpr = [report.test["fpr"], *report.monthly["fpr"]]
        axis.plot(months, fpr, marker="o", label=f"static model, seed {report.seed}")
        axis.plot(months[-1], report.retrained["fpr"], marker="*", markersize=12,
                  color="tab:green", linestyle="none")  # fmt: skip
    axis.plot([], [], marker="*", color="tab:green", linestyle="none", label="retrained")
    axis.set_xlabel("month in production (0: test split before deployment)")
    axis.set_ylabel("FPR on legitimate payments")
    axis.yaxis.set_major_formatter(PercentFormatter(1.0))
    axis.legend(loc="upper left", fontsize=8)
    axis.set_title("The incident, simulated: blocked legitimate payments by month")
    path.parent.mkdir(parents=True, exist_ok=True)
    return save_png(figure, path, dpi=120)
