"""A simulated payment world that behaves like the case study's: the data of the demo, the
tests and the incident replay.

    from fraud_core.simulation import (
        WorldConfig, amount_usd, decide, generate_labels, rule_scores, simulate_world,
    )
    from fraud_core.features import featurize_frame

    world = simulate_world(WorldConfig(tx_per_day=2_000), seed=7)   # 365 + 180 days
    X = featurize_frame(world.transactions)          # the model sees Transaction columns only
    decisions = decide(rule_scores(X), 0.5, amount_usd=amount_usd(world.transactions),
                       exploration=0.05, max_explore_usd=1_000, seed=7)
    labels = generate_labels(world.transactions, world.is_fraud, decisions.blocked,
                             as_of=datetime.now(UTC), seed=7)

- `simulate_world(config, seed) -> World`: `World.transactions` has exactly the
  `schema.Transaction` columns (sorted by event time, all in the past when `config` ends
  before today); `World.oracle`, aligned row by row, holds the hidden truth (`is_fraud`,
  `scenario`, customer `market`) and must never reach a model. Same config and seed, same
  world. Vectorised: 180 days x 5,000 payments take a second or two.
- `WorldConfig(start, days, tx_per_day, fraud_rate, drift)`; `WorldConfig.ending(end, days)`.
  Without `drift`, the last 180 days follow `DriftSchedule.case_study`: amounts +30%, wallet
  share 3% -> 45%, new markets 0 -> 30% of traffic, 35% of non-wallet fraud moving to wallets.
  Each `Ramp` is set by dates. `measure_effects(world)` measures every effect from the data.
- Fraud scenarios (`fraud.SCENARIOS`): wallet provisioning, account takeover, card testing,
  cross-border, high-value first purchase, compromised merchant.
- `decide(scores, threshold, ...) -> Decisions`: block at the threshold, approve a random
  `exploration` share of would-block payments and log propensities. `rule_scores(X)` is the
  transparent points rule used when no model exists yet.
- `generate_labels(transactions, is_fraud, blocked, as_of, seed) -> label events`: disputes
  of wrongly blocked customers within days, chargebacks of approved fraud (median ~5 weeks,
  at most 120 days), some fraud never reported, nothing for blocked fraud.
  `measure_label_delays` measures the delays.
- `prediction_rows(...)`: the feedback store's `predictions` rows for a scored stream
  (`prediction_frame`: the same without the features, for a matrix load).
- `python -m fraud_core.simulation.incident`: the incident, reproduced and measured.
"""

from fraud_core.simulation.config import DriftSchedule, Ramp, WorldConfig
from fraud_core.simulation.decisions import Decisions, decide, rule_scores
from fraud_core.simulation.effects import DriftEffects, measure_effects
from fraud_core.simulation.history import history_tables, prediction_frame, prediction_rows
from fraud_core.simulation.labels import LabelConfig, generate_labels, measure_label_delays
from fraud_core.simulation.world import World, amount_usd, simulate_days, simulate_world

__all__ = [
    "Decisions",
    "DriftEffects",
    "DriftSchedule",
    "LabelConfig",
    "Ramp",
    "World",
    "WorldConfig",
    "amount_usd",
    "decide",
    "generate_labels",
    "history_tables",
    "measure_effects",
    "measure_label_delays",
    "prediction_frame",
    "prediction_rows",
    "rule_scores",
    "simulate_days",
    "simulate_world",
]
