"""`fraudops demo` feeds disputes back through /feedback, waiting out a scorer that still holds
the disputed predictions in its log (503 `prediction_pending`) instead of dropping them, and
counting each stored dispute once."""

import httpx

from fraud_core.commands.demo import DemoTally, dispute_label, post_disputes

PENDING_T2 = {  # FeedbackDesk's answer: t1 stored, t2 still in the scorer's log
    "inserted": 1,
    "updated": 0,
    "rejected": [{"index": 1, "transaction_id": "t2", "reason": "unknown transaction_id"}],
    "cause": "prediction_pending",
}


def post(answers: list[httpx.Response]) -> tuple[DemoTally, list[bytes]]:
    replies, posted = iter(answers), []

    def scorer(request: httpx.Request) -> httpx.Response:
        posted.append(request.content)
        return next(replies)

    client = httpx.Client(base_url="http://scorer", transport=httpx.MockTransport(scorer))
    tally = DemoTally()
    post_disputes(client, [dispute_label("t1"), dispute_label("t2")], {}, tally)
    return tally, posted


def test_disputes_are_retried_while_their_predictions_are_pending() -> None:
    tally, posted = post([
        httpx.Response(503, headers={"Retry-After": "0"}, json={"cause": "unreachable"}),
        httpx.Response(503, headers={"Retry-After": "0"}, json=PENDING_T2),
        httpx.Response(200, json={"inserted": 1, "updated": 0}),
    ])  # fmt: skip
    assert (tally.disputes_posted, dict(tally.errors), len(posted)) == (2, {}, 3)
    assert b"t1" in posted[1] and b"t1" not in posted[2]  # only the pending label is retried


def test_a_failing_scorer_counts_every_dispute_as_an_error() -> None:
    tally, _ = post([httpx.Response(500)])
    assert (tally.disputes_posted, dict(tally.errors)) == (0, {"feedback 500": 2})
