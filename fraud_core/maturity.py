"""How long until a payment's outcome is taken as final, defined once.

`MATURITY_DAYS` (120): chargebacks arrive within 120 days, so an approved payment older than
that with no report is legitimate: the label states of `evaluation.label_states`,
`model_performance`, the threshold policy, and the simulated world's latest chargeback.
`TRAINING_MATURITY_DAYS` (45): what training waits instead (`FRAUD_LABEL_MATURITY_DAYS`'s
default): the chargeback median is ~5 weeks, and waiting 120 days would leave no recent data.
"""

MATURITY_DAYS = 120.0
TRAINING_MATURITY_DAYS = 45.0
