"""`fraudops demo` feeds disputes back through /feedback, waiting out a scorer that still holds
the disputed predictions in its log (503 `prediction_pending`) instead of dropping them."""

import httpx

from fraud_core.commands.demo import DemoTally, dispute_label, post_disputes


def test_disputes_are_retried_while_their_predictions_are_pending() -> None:
    answers = iter([
        httpx.Response(503, headers={"Retry-After": "0"}, json={"detail": "prediction_pending"}),
        httpx.Response(422, json={"inserted": 1, "updated": 0,
                                  "rejected": [{"transaction_id": "t2", "reason": "unknown"}]}),
        httpx.Response(200, json={"inserted": 1, "updated": 0, "rejected": []}),
    ])  # fmt: skip
    posted = []

    def scorer(request: httpx.Request) -> httpx.Response:
        posted.append(request.content)
        return next(answers)

    client = httpx.Client(base_url="http://scorer", transport=httpx.MockTransport(scorer))
    tally = DemoTally()
    post_disputes(client, [dispute_label("t1"), dispute_label("t2")], {}, tally)
    assert (tally.disputes_posted, dict(tally.errors), len(posted)) == (2, {}, 3)


def test_a_failing_scorer_counts_every_dispute_as_an_error() -> None:
    client = httpx.Client(
        base_url="http://scorer", transport=httpx.MockTransport(lambda r: httpx.Response(500))
    )
    tally = DemoTally()
    post_disputes(client, [dispute_label("t1"), dispute_label("t2")], {}, tally)
    assert (tally.disputes_posted, dict(tally.errors)) == (0, {"feedback 500": 2})
