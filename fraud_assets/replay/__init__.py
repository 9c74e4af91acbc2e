"""The incident replayed through the real platform: a time machine around the code location.

`fraudops replay --platform` simulates the case study's world once and runs three arms on it:

- *static*: the first champion at threshold 0.5 for six months, no feedback (the incident);
- *platform*: the platform itself (`platform_arm.PlatformReplay`): the serving `Scorer` in
  process, the prediction log into the feedback store, disputes through the `/feedback` code
  path, chargebacks and ticket exports as landing files, and every sensor and schedule of
  `fraud_assets` evaluated on a simulated clock (`FRAUD_NOW`) against one real Dagster instance
  whose runs execute there (`daemon.InProcessDaemon`);
- *oracle*: retrained every 30 days on the true outcomes (`baselines`), the upper bound.

Nothing here re-implements an asset, sensor or rule: the driver moves time and delivers
traffic. `report` turns the three arms into `var/reports/replay/` (HTML, PNG, JSON).
"""
