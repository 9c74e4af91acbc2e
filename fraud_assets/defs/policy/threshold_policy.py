"""`threshold_policy`: contextual thresholds per segment for each served model, learned from
matured labels and written to `policy_arms` as a new `policy_version` of that model (the scorer
polls and decides each model at its own)."""

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg

from fraud_assets.provenance import actor, provenance
from fraud_assets.resources import (
    Clock,
    FeedbackStoreResource,
    LakeResource,
    LocalFolder,
    RegistryResource,
)
from fraud_assets.tables import metadata_table
from fraud_core.fpr_lines import FPR_WARNING
from fraud_core.monitoring_rules import REALIZED_WINDOW_DAYS

SEGMENT_COLUMNS = (
    "segment",
    "status",
    "labeled_rows",
    "fraud_rows",
    "old_threshold",
    "new_threshold",
    "served_by",
    "posterior_mean",
    "p_best",
    "fpr",
    "recall",
    "expected_cost_usd",
    "static_0.5_fpr",
    "static_0.5_cost_usd",
    "cost_change_usd",
)


class ThresholdPolicyConfig(dg.Config):
    window_days: int = REALIZED_WINDOW_DAYS
    maturity_days: float | None = None
    """Approved payments older than this with no report count as legitimate, and the window
    ends that long before now (default: `FRAUD_LABEL_MATURITY_DAYS`, 45, what training waits).
    Their reported frauds are weighted by how much fraud is reported by their age
    (`fraud_core.report_delay`, from the frauds of the `window_days` before 120 days ago)."""
    decay: float = 0.5
    """Weight kept of the previous version's evidence."""
    max_fpr: float = FPR_WARNING
    min_recall: float = 0.5
    """Share of a segment's fraud the chosen threshold must still block (0: cost alone)."""
    min_rows: int = 300
    min_fraud: int = 10
    seed: int = 0


def policy_version(now, run_id: str, model_version: str) -> str:
    """`ts-<now to the minute>-<run>-v<model>`: unique per run and model (an existing version is
    never extended); at most 32 characters (the column) for model versions up to 7 digits."""
    return f"ts-{now:%Y%m%dT%H%M}-{run_id[:6]}-v{model_version}"


MODEL_COLUMNS = (
    "role",
    "model_version",
    "policy_version",
    "previous_version",
    "written",
    "labeled_rows",
    "window",
    "expected_cost_usd",
    "static_expected_cost_usd",
)


@dg.asset(
    deps=["model_performance", "challenger_model"],
    group_name="policy",
    kinds={"sql", "pandas", "parquet"},
    owners=["team:data"],
    description="Contextual thresholds for each served model (champion, canary, shadowed "
    "challenger) on a segment hierarchy (all > amount band x tenure > payment method): "
    "Thompson-sampling Beta arms over a threshold grid, updated counterfactually from "
    "inverse-propensity weighted labels at least 45 days old (reported frauds weighted by the "
    "share of fraud reported by their age), the rows scored again by that model (thresholds "
    "belong to its scores) from its holdout on (rows it was not fitted on), with its previous "
    "version as a decayed prior; each segment borrows its parent's posterior as a prior and one "
    "without arms serves its nearest ancestor's threshold; no segment above 12% estimated FPR "
    "or below 50% estimated recall. Runs daily and after each retraining, so a challenger is "
    "shadowed, released and promoted at its own thresholds. Writes a new policy_version per "
    "model to policy_arms (served on the scorer's next poll), an audit entry, a "
    "cost-per-threshold plot, and the policy's IPW-estimated cost, FPR and recall against the "
    "static 0.5 per top-level segment.",
)
def threshold_policy(
    context: dg.AssetExecutionContext,
    config: ThresholdPolicyConfig,
    store: FeedbackStoreResource,
    lake: LakeResource,
    registry: RegistryResource,
    reports: LocalFolder,
    clock: Clock,
) -> dg.MaterializeResult:
    from fraud_core.registry import CANARY, CHALLENGER, CHAMPION
    from fraud_core.report_delay import ReportDelay
    from fraud_core.settings import get_settings

    now = clock.current()
    facade = registry.open()
    aliases = facade.aliases()
    if aliases.get(CHAMPION) is None:
        raise dg.Failure(
            "no champion model yet: thresholds are learned on the champion's scores; train and "
            "promote one first"
        )
    maturity = (
        get_settings().label_maturity_days if config.maturity_days is None else config.maturity_days
    )
    feedback = store.open()
    delay = ReportDelay.from_store(feedback, now, config.window_days)
    roles: dict[str, str] = {}
    for role in (CHAMPION, CANARY, CHALLENGER):  # a version under two aliases learns once
        if aliases.get(role) is not None:
            roles.setdefault(aliases[role], role)
    end = now - timedelta(days=maturity)
    # out of sample only: on the rows it was fitted on a model's scores are overconfident
    # (thresholds learned there came out near 0.05 in the replay and blocked far too much)
    windows = {
        version: (min(max(end - timedelta(days=config.window_days), since), end), end)
        for version in roles
        for since in [_out_of_sample_since(facade.get_version(version))]
    }
    start = min(window[0] for window in windows.values())
    matured = _Matured.read(feedback, lake.open(), (start, end), now, maturity, delay)
    learning = _Learning(context, config, feedback, facade, now, maturity, delay, matured)
    folder = reports.dir("policy")
    results = [
        learning.run(version, role, windows[version], folder) for version, role in roles.items()
    ]
    champion = results[0]
    return dg.MaterializeResult(
        metadata={
            **provenance(context),
            "as_of": now.isoformat(),
            "maturity_days": maturity,
            "report_delay": _delay_note(delay),
            "dagster/row_count": matured.rows_read,
            **champion.metadata(),
            "summary": dg.MetadataValue.md("\n\n".join(r.headline for r in results)),
            "models": metadata_table([r.row() for r in results], MODEL_COLUMNS),
        }
    )


@dataclass
class _Result:
    """What one model's learning wrote and showed."""

    role: str
    model_version: str
    window: tuple[datetime, datetime]
    labeled_rows: int
    previous_version: str
    policy_version: str
    prior: str
    written: bool
    arms_written: int
    thresholds: dict
    learned_cost: float
    static_cost: float
    headline: str
    segments: list
    contribution: list
    cost_plot: Path
    contribution_plot: Path

    def row(self) -> dict:
        return {
            "role": self.role,
            "model_version": self.model_version,
            "policy_version": self.policy_version,
            "previous_version": self.previous_version,
            "written": self.written,
            "labeled_rows": self.labeled_rows,
            "window": f"{self.window[0]:%Y-%m-%d} to {self.window[1]:%Y-%m-%d}",
            "expected_cost_usd": self.learned_cost,
            "static_expected_cost_usd": self.static_cost,
        }

    def metadata(self) -> dict:
        """The champion's figures, as the asset's top-level metadata."""
        from fraud_core.threshold_learning import CONTRIBUTION_COLUMNS

        return {
            "window": f"[{self.window[0].isoformat()}, {self.window[1].isoformat()})",
            "labeled_rows": self.labeled_rows,
            "policy_version": self.policy_version,
            "previous_version": self.previous_version,
            "model_version": self.model_version,
            "prior": self.prior,
            "written": self.written,
            "arms_written": self.arms_written,
            "thresholds": self.thresholds,
            "expected_cost_usd": self.learned_cost,
            "static_expected_cost_usd": self.static_cost,
            "segments": metadata_table(self.segments, SEGMENT_COLUMNS),
            "cost_plot": dg.MetadataValue.path(str(self.cost_plot)),
            "cost_plot_link": dg.MetadataValue.url(self.cost_plot.resolve().as_uri()),
            "contribution": metadata_table(self.contribution, CONTRIBUTION_COLUMNS),
            "contribution_plot": dg.MetadataValue.path(str(self.contribution_plot)),
        }


@dataclass
class _Matured:
    """The rows learning uses (approved, with an outcome as of now) of the matured window that
    covers every model's, read once: logged columns, features, label states, fraud weights."""

    frame: Any
    states: Any
    fraud_weight: Any
    rows_read: int

    @classmethod
    def read(cls, feedback, lake, window, now: datetime, maturity: float, delay) -> "_Matured":
        from fraud_core.evaluation import ipw_weights, label_states
        from fraud_core.features import FEATURE_NAMES
        from fraud_core.lake import DECISION_COLUMNS

        # matured rows were scored by whichever model served them then: their logged scores
        # say nothing about where another model's should be cut (each model scores them again)
        logged = [c for c in DECISION_COLUMNS if c not in FEATURE_NAMES]
        frame = lake.frame(feedback, *window, columns=logged, features=True, as_of=now)
        states = label_states(frame, as_of=now, maturity_days=maturity)
        used = ipw_weights(frame, states) > 0
        rows = frame[used]
        return cls(rows, states[used], _fraud_weight(delay, rows, now), len(frame))

    def since(self, start: datetime):
        """(frame, states, fraud weights) of the rows from `start` on."""
        import pandas as pd

        mask = (self.frame["event_time"] >= pd.Timestamp(start)).to_numpy()
        weight = None if self.fraud_weight is None else self.fraud_weight[mask]
        return self.frame[mask], self.states[mask], weight


@dataclass
class _Learning:
    """One run's learning, model by model, on the same clock, store, report delays and rows."""

    context: dg.AssetExecutionContext
    config: ThresholdPolicyConfig
    feedback: Any
    facade: Any
    now: datetime
    maturity: float
    delay: Any
    matured: _Matured

    def run(self, version: str, role: str, window: tuple, folder: Path) -> _Result:
        from fraud_core.policy import ThresholdPolicy
        from fraud_core.registry import BATCH_THREADS
        from fraud_core.reports.thresholds import contribution_png, cost_curves_png
        from fraud_core.threshold_learning import (
            LearningConfig,
            labeled_frame,
            learn_thresholds,
            policy_contribution,
            rescored,
        )

        config, now, feedback = self.config, self.now, self.feedback
        frame, states, fraud_weight = self.matured.since(window[0])
        model = self.facade.load(version, BATCH_THREADS)
        labeled = labeled_frame(rescored(frame, model), states, fraud_weight)
        prior = feedback.load_policy_arms(model_version=version)
        previous = ThresholdPolicy.of_model(version, prior)
        new_version = policy_version(now, self.context.run.run_id, version)
        learned = learn_thresholds(
            labeled,
            version=new_version,
            previous=prior,
            config=LearningConfig(
                decay=config.decay,
                max_fpr=config.max_fpr,
                min_recall=config.min_recall,
                min_rows=config.min_rows,
                min_fraud=config.min_fraud,
                seed=config.seed,
            ),
        )
        new = ThresholdPolicy.from_arms(new_version, learned.arms) if learned.arms else previous
        label = f"{role} v{version}"
        if learned.arms:
            feedback.save_policy_arms(new_version, learned.arms, model_version=version)
            changes = {
                s: {"from": previous.threshold(s), "to": new.threshold(s)}
                for s in sorted(learned.segments)
                if previous.threshold(s) != new.threshold(s)
            }
            feedback.append_audit(
                actor(self.context),
                "policy.update",
                f"policy/{new_version}",
                f"thresholds learned for {label} from {len(labeled)} matured labelled "
                f"predictions it was not fitted on (window {window[0]:%Y-%m-%d} to "
                f"{window[1]:%Y-%m-%d})",
                {
                    "policy_version": new_version,
                    "previous_version": previous.version,
                    "model_version": version,
                    "role": role,
                    "thresholds": dict(new.thresholds),
                    "changes": changes,
                    "maturity_days": self.maturity,
                    "report_delay": _delay_note(self.delay),
                },
            )
        contribution = policy_contribution(labeled, new)
        overall = contribution[0]
        learned_cost, static_cost = overall["policy_cost_usd"], overall["static_cost_usd"]
        if learned.arms:
            headline = (
                f"Policy **{new_version}** ({label}'s scores) learned {len(new.thresholds)} "
                f"of {len(learned.segments)} segments from {len(labeled)} labelled rows; "
                f"IPW-estimated cost {learned_cost:,.0f} USD vs {static_cost:,.0f} USD at the "
                f"static 0.5 (FPR {overall['policy_fpr']:.1%} vs {overall['static_fpr']:.1%}, "
                f"recall {overall['policy_recall']:.1%} vs {overall['static_recall']:.1%}; "
                "in-sample)."
            )
        else:
            headline = (
                f"{label}: no segment has {config.min_rows} labelled rows and "
                f"{config.min_fraud} frauds among the matured rows it was not fitted on: nothing "
                f"written, **{previous.version}** stays in force for it."
            )
        stem = f"threshold-policy-{new_version}"
        return _Result(
            role=role,
            model_version=version,
            window=window,
            labeled_rows=len(labeled),
            previous_version=previous.version,
            policy_version=new.version,
            prior=f"{previous.version}, decayed" if prior else "none (no version of its own yet)",
            written=bool(learned.arms),
            arms_written=len(learned.arms),
            thresholds=dict(new.thresholds),
            learned_cost=float(learned_cost),
            static_cost=float(static_cost),
            headline=headline,
            segments=[r.summary() for r in learned.segments.values()],
            contribution=contribution,
            cost_plot=cost_curves_png(learned, folder / f"{stem}.png"),
            contribution_plot=contribution_png(
                contribution,
                f"Policy {new.version} vs static 0.5 on {len(labeled)} matured labelled rows "
                f"({label})",
                folder / f"{stem}-contribution.png",
            ),
        )


def _fraud_weight(delay, frame, now: datetime):
    """Each row's weight if it is a reported fraud (`ReportDelay.fraud_weight` of its age);
    None without an estimate of the report delay."""
    import numpy as np
    import pandas as pd

    if delay is None:
        return None
    age = (pd.Timestamp(now) - frame["event_time"]) / pd.Timedelta(days=1)
    return delay.fraud_weight(age.to_numpy(np.float64))


def _delay_note(delay) -> dict | str:
    from fraud_core.report_delay import MIN_REFERENCE_FRAUDS

    if delay is None:
        return (
            f"no estimate: fewer than {MIN_REFERENCE_FRAUDS} matured frauds (reported frauds "
            "weighted 1)"
        )
    return delay.summary()


def _out_of_sample_since(info) -> datetime:
    """The event time from which a model's training window held rows it was not fitted on (its
    holdout's start, in its `training_window` tag)."""
    import pandas as pd

    raw = info.tags.get("training_window")
    since = json.loads(raw).get("holdout_start") if raw else None
    if not since:
        raise dg.Failure(
            f"model v{info.version} has no training_window holdout_start: it was not trained by "
            "this platform's retraining job, so which rows it has seen is unknown"
        )
    return pd.Timestamp(since).to_pydatetime()
