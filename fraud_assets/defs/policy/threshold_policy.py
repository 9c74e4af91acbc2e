"""`threshold_policy`: contextual thresholds per segment, learned from matured labels and
written to `policy_arms` as a new `policy_version` (the scorer polls and applies it)."""

import json
from datetime import datetime, timedelta

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


def policy_version(now, run_id: str) -> str:
    """`ts-<now>-<run>`: unique per run (an existing version is never extended); a version
    that only hands a new champion the static 0.5 is `static-<now>-<run>`."""
    return f"ts-{now:%Y%m%dT%H%M%S}-{run_id[:8]}"


@dg.asset(
    deps=["model_performance"],
    group_name="policy",
    kinds={"sql", "pandas", "parquet"},
    owners=["team:data"],
    description="Contextual thresholds for the champion on a segment hierarchy (all > amount "
    "band x tenure > payment method): Thompson-sampling Beta arms over a threshold grid, "
    "updated counterfactually from inverse-propensity weighted labels at least 45 days old "
    "(reported frauds weighted by the share of fraud reported by their age), the rows scored "
    "again by the champion (thresholds belong to its scores), with the previous version as a "
    "decayed prior when it was learned for the same champion; each segment borrows its "
    "parent's posterior as a prior and one without arms serves its nearest ancestor's "
    "threshold; no segment above 12% estimated FPR or below 50% estimated recall. Writes a new "
    "policy_version to policy_arms (served on the scorer's next poll), an audit entry, a "
    "cost-per-threshold plot, and the policy's "
    "IPW-estimated cost, FPR and recall against the static 0.5 per top-level segment.",
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
    from fraud_core.evaluation import label_states
    from fraud_core.features import FEATURE_NAMES
    from fraud_core.lake import DECISION_COLUMNS
    from fraud_core.policy import DEFAULT_THRESHOLD, ThresholdPolicy
    from fraud_core.registry import CHAMPION
    from fraud_core.report_delay import ReportDelay
    from fraud_core.reports.thresholds import contribution_png, cost_curves_png
    from fraud_core.settings import get_settings
    from fraud_core.threshold_learning import (
        CONTRIBUTION_COLUMNS,
        LearningConfig,
        labeled_frame,
        learn_thresholds,
        policy_contribution,
        rescored,
        static_arm,
    )

    now = clock.current()
    facade = registry.open()
    champion = facade.version_for(CHAMPION)
    if champion is None:
        raise dg.Failure(
            "no champion model yet: thresholds are learned on the champion's scores; train and "
            "promote one first"
        )
    maturity = (
        get_settings().label_maturity_days if config.maturity_days is None else config.maturity_days
    )
    end = now - timedelta(days=maturity)
    # out of sample only: on the rows it was trained on the champion's scores are overconfident
    # (thresholds learned there came out near 0.05 in the replay and blocked far too much)
    trained = _trained_until(champion)
    window = (min(max(end - timedelta(days=config.window_days), trained), end), end)
    feedback = store.open()
    # matured rows were scored by whichever model served them then (an earlier champion, the
    # seed's rule): their logged scores say nothing about where the champion's should be cut
    logged = [c for c in DECISION_COLUMNS if c not in FEATURE_NAMES]
    frame = lake.open().frame(feedback, *window, columns=logged, features=True, as_of=now)
    frame = rescored(frame, facade.load(champion.version))
    states = label_states(frame, as_of=now, maturity_days=maturity)
    delay = ReportDelay.from_store(feedback, now, config.window_days)
    labeled = labeled_frame(frame, states, _fraud_weight(delay, frame, now))
    previous_arms = feedback.load_policy_arms()
    previous = ThresholdPolicy.from_store(feedback)
    # a version's arms are evidence about its champion's scores: another model's start nothing
    previous_model = previous.model_version
    prior = previous_arms if previous_model == champion.version else []
    version = policy_version(now, context.run.run_id)
    learned = learn_thresholds(
        labeled,
        version=version,
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
    arms, handover = learned.arms, False
    if not arms and previous_arms and previous_model != champion.version:
        # the thresholds in force were cut on another model's scores: the champion serves its
        # own default until its out-of-sample labels mature
        arms, handover = [static_arm()], True
        version = f"static-{version[3:]}"  # served 0.5, named so: nothing was learned
    new = ThresholdPolicy.from_arms(version, arms) if arms else previous
    if arms:
        feedback.save_policy_arms(version, arms)
        changes = {
            s: {"from": previous.threshold(s), "to": new.threshold(s)}
            for s in sorted(learned.segments)
            if previous.threshold(s) != new.threshold(s)
        }
        feedback.append_audit(
            actor(context),
            "policy.update",
            f"policy/{version}",
            (
                f"static {DEFAULT_THRESHOLD} for champion v{champion.version}: the thresholds in "
                f"force were learned for {'v' + previous_model if previous_model else 'another'}"
                f" model and v{champion.version} has only {len(labeled)} matured labelled "
                "predictions after its training data"
                if handover
                else f"thresholds learned for champion v{champion.version} from {len(labeled)} "
                "matured labelled predictions after its training data"
            )
            + f" (window {window[0]:%Y-%m-%d} to {window[1]:%Y-%m-%d})",
            {
                "policy_version": version,
                "previous_version": previous.version,
                "model_version": champion.version,
                "thresholds": dict(new.thresholds),
                "changes": changes,
                "maturity_days": maturity,
                "report_delay": _delay_note(delay),
            },
        )
    summaries = [r.summary() for r in learned.segments.values()]
    folder = reports.dir("policy")
    png = cost_curves_png(learned, folder / f"threshold-policy-{version}.png")
    contribution = policy_contribution(labeled, new)
    overall = contribution[0]
    learned_cost, static_cost = overall["policy_cost_usd"], overall["static_cost_usd"]
    contribution_plot = contribution_png(
        contribution,
        f"Policy {new.version} vs static 0.5 on {len(labeled)} matured labelled rows",
        folder / f"threshold-policy-{version}-contribution.png",
    )
    if handover:
        headline = (
            f"Policy **{version}**: the static {DEFAULT_THRESHOLD} for champion "
            f"v{champion.version}; the thresholds in force were cut on another model's scores "
            f"and v{champion.version} has {len(labeled)} matured labelled rows after its "
            "training data."
        )
    elif arms:
        headline = (
            f"Policy **{version}** (champion v{champion.version}'s scores) learned "
            f"{len(new.thresholds)} of "
            f"{len(learned.segments)} segments from {len(labeled)} labelled rows; IPW-estimated "
            f"cost {learned_cost:,.0f} USD vs {static_cost:,.0f} USD at the static 0.5 "
            f"(FPR {overall['policy_fpr']:.1%} vs {overall['static_fpr']:.1%}, recall "
            f"{overall['policy_recall']:.1%} vs {overall['static_recall']:.1%}; in-sample)."
        )
    else:
        headline = (
            f"No segment has {config.min_rows} labelled rows and {config.min_fraud} frauds in "
            f"the window: nothing written, **{previous.version}** stays in force."
        )
    return dg.MaterializeResult(
        metadata={
            **provenance(context),
            "as_of": now.isoformat(),
            "window": f"[{window[0].isoformat()}, {window[1].isoformat()})",
            "dagster/row_count": len(frame),
            "labeled_rows": len(labeled),
            "maturity_days": maturity,
            "report_delay": _delay_note(delay),
            "policy_version": new.version,
            "previous_version": previous.version,
            "model_version": champion.version,
            "prior": _prior_note(previous.version, previous_model, bool(previous_arms), prior),
            "written": bool(arms),
            "arms_written": len(arms),
            "thresholds": dict(new.thresholds),
            "expected_cost_usd": float(learned_cost),
            "static_expected_cost_usd": float(static_cost),
            "summary": dg.MetadataValue.md(headline),
            "segments": metadata_table(summaries, SEGMENT_COLUMNS),
            "cost_plot": dg.MetadataValue.path(str(png)),
            "cost_plot_link": dg.MetadataValue.url(png.resolve().as_uri()),
            "contribution": metadata_table(contribution, CONTRIBUTION_COLUMNS),
            "contribution_plot": dg.MetadataValue.path(str(contribution_plot)),
        }
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


def _prior_note(previous: str, model: str | None, had_arms: bool, prior: list) -> str:
    if prior:
        return f"{previous}, decayed"
    if not had_arms:
        return "none (no learned version yet)"
    return f"none: {previous} was learned for {'v' + model if model else 'an unrecorded model'}"


def _trained_until(champion) -> datetime:
    """The event time after which the champion's training data ends (its `training_window`)."""
    import pandas as pd

    raw = champion.tags.get("training_window")
    end = json.loads(raw).get("end") if raw else None
    if not end:
        raise dg.Failure(
            f"champion v{champion.version} has no training_window end: it was not trained by "
            "this platform's retraining job, so which rows it has seen is unknown"
        )
    return pd.Timestamp(end).to_pydatetime() + timedelta(microseconds=1)
