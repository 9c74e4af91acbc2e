"""The false-positive-rate lines of the case study, defined once.

`FPR_WARNING` (12 %): the line the case study's fix kept legitimate customers under: the
threshold policy's cap per segment, the warning alerts (`deploy/prometheus/alerts.yml`, a
test checks the rules use these values), `fraudops status`, the business report and the
replay's alarm. `FPR_CRITICAL` (15 %): the critical alerts and the FPR that rolls a canary back.
`FPR_AFTER_FIX` (4.8 %): the case study's FPR once fixed, the replay's goal for the platform.
"""

FPR_WARNING = 0.12
FPR_CRITICAL = 0.15
FPR_AFTER_FIX = 0.048
