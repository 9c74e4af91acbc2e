"""What monitoring looks at and when it calls drift, defined once and light to import (no
numpy): the code location declares the monitoring assets' config defaults from it as it loads.

`REALIZED_WINDOW_DAYS`: realized figures use the predictions of the latest 30 days whose labels
have matured. `ESTIMATE_WINDOW_DAYS`: label-free figures use the last 7 days.
`THRESHOLDS`: the distance above which a column drifted, per method (`fraud_core.drift`).
`DEFAULT_DRIFT_SHARE`: the share of drifted columns above which the dataset drifted.
"""

REALIZED_WINDOW_DAYS = 30
ESTIMATE_WINDOW_DAYS = 7
THRESHOLDS = {"wasserstein": 0.1, "jensenshannon": 0.1, "quantile_psi": 0.1}
DEFAULT_DRIFT_SHARE = 0.2
