"""The threshold policy's plots (`threshold_learning`'s figures): expected cost per threshold
per segment, and the policy against the static 0.5."""

from __future__ import annotations

from typing import Any

import numpy as np

from fraud_core.policy import DEFAULT_THRESHOLD
from fraud_core.reports.figures import grid_margins, new_figure, save_png
from fraud_core.threshold_learning import EXCLUDED_FPR, EXCLUDED_RECALL, MAX_FPR, LearnedPolicy


def cost_curves_figure(learned: LearnedPolicy) -> Any:
    """Expected cost per threshold per segment with arms: the chosen arm, the static 0.5, and
    each excluded arm marked with its reason (FPR limit or recall floor), under one legend."""
    from matplotlib.ticker import EngFormatter

    config = learned.config
    markers = {
        EXCLUDED_FPR: ("tab:red", "x", f"excluded: FPR > {config.max_fpr:.0%}"),
        EXCLUDED_RECALL: ("tab:orange", "v", f"excluded: recall < {config.min_recall:.0%}"),
    }
    learned_segments = [r for r in learned.segments.values() if r.arms]
    columns = 3
    rows = max(1, -(-len(learned_segments) // columns))
    fig = new_figure(4.2 * columns, 3.0 * rows + 0.5)
    axes = fig.subplots(rows, columns, squeeze=False)
    for ax in axes.flat:
        ax.set_visible(False)
    legend: dict[str, Any] = {}
    for ax, result in zip(axes.flat, learned_segments, strict=False):
        ax.set_visible(True)
        t = [a.threshold for a in result.arms]
        cost = [a.expected_cost_usd for a in result.arms]
        ax.plot(t, cost, color="tab:blue", marker=".", label="expected cost, USD (IPW)")
        for reason, (color, marker, label) in markers.items():
            out = [a for a in result.arms if a.excluded == reason]
            if out:
                ax.scatter(
                    [a.threshold for a in out],
                    [a.expected_cost_usd for a in out],
                    color=color,
                    marker=marker,
                    label=label,
                    zorder=3,
                )
        ax.axvline(DEFAULT_THRESHOLD, color="grey", linestyle=":", label="static 0.5")
        ax.axvline(result.new_threshold, color="tab:green", label="chosen threshold")
        ax.set_title(
            f"{result.segment}: {result.labeled_rows} rows, chosen {result.new_threshold}",
            fontsize=8,
        )
        ax.set_xlabel("threshold")
        ax.yaxis.set_major_formatter(EngFormatter(sep=""))
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            legend.setdefault(label, handle)
    if not learned_segments:
        axes.flat[0].set_visible(True)
        axes.flat[0].text(0.5, 0.5, "no segment has enough labelled rows", ha="center")
        axes.flat[0].set_axis_off()
    height = fig.get_figheight()  # title and legend a fixed distance from the top, in inches
    fig.suptitle(f"Expected cost per threshold, policy {learned.version}", y=1 - 0.08 / height)
    if legend:
        fig.legend(
            legend.values(), legend.keys(), loc="upper center", ncol=len(legend), fontsize=8,
            bbox_to_anchor=(0.5, 1 - 0.4 / height), frameon=False,
        )  # fmt: skip
    grid_margins(fig, rows, top=0.95)
    return fig


def cost_curves_png(learned: LearnedPolicy, path: Any) -> Any:
    """`cost_curves_figure` saved as a PNG at `path`."""
    return save_png(cost_curves_figure(learned), path, dpi=90, tight=False)


def contribution_figure(contribution: list[dict[str, Any]], title: str) -> Any:
    """Horizontal bars of `policy_contribution` (cost, FPR and recall of the policy vs the
    static 0.5), one row per segment, its name written once beside the first panel."""
    names = [row["segment"] for row in contribution]
    y = np.arange(len(names))
    label_width = 0.3 + 0.065 * max((len(n) for n in names), default=3)  # inches, at 8 pt
    height = 1.2 + 0.3 * max(len(names), 2)
    fig = new_figure(label_width + 4.0 * 3, height)
    axes = fig.subplots(1, 3, sharey=True)
    panels = (("cost_usd", "IPW cost (USD)"), ("fpr", "FPR (IPW)"), ("recall", "recall (IPW)"))
    for ax, (figure, panel) in zip(axes, panels, strict=True):
        for offset, who, color in ((-0.2, "policy", "tab:green"), (0.2, "static", "tab:grey")):
            values = [row[f"{who}_{figure}"] for row in contribution]
            name = "static 0.5" if who == "static" else who
            ax.barh(y + offset, values, height=0.4, color=color, label=name)
        if figure == "fpr":
            ax.axvline(MAX_FPR, color="tab:red", linestyle="--", linewidth=1, label="12% line")
        ax.set_title(panel, fontsize=9)
        ax.tick_params(labelsize=8)
    axes[0].set_yticks(y, names)
    axes[0].invert_yaxis()  # `all` on top, as in the table
    handles, labels = axes[1].get_legend_handles_labels()
    fig.suptitle(title, y=1 - 0.08 / height)
    fig.legend(
        handles, labels, loc="upper center", ncol=len(handles), fontsize=8,
        bbox_to_anchor=(0.5, 1 - 0.35 / height), frameon=False,
    )  # fmt: skip
    width = fig.get_figwidth()
    fig.subplots_adjust(
        left=label_width / width, right=1 - 0.2 / width, bottom=0.45 / height,
        top=1 - 0.95 / height, wspace=0.12,
    )  # fmt: skip
    return fig


def contribution_png(contribution: list[dict[str, Any]], title: str, path: Any) -> Any:
    """`contribution_figure` saved as a PNG at `path`."""
    return save_png(contribution_figure(contribution, title), path, dpi=90, tight=False)
