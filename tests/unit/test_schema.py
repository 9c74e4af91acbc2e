"""The Transaction schema rejects bad input with an error naming the field."""

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from fraud_core.schema import MAX_BATCH, Label, ScoreBatchRequest, Transaction, keyed_hash


def payload(**overrides):
    base = {
        "transaction_id": "tx-1",
        "event_time": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "amount": 42.5,
        "currency": "EUR",
        "customer_id": "cust-7",
        "account_age_days": 400,
        "payment_method": "card",
        "card_present": True,
        "merchant_id": "m-1",
        "merchant_category": "grocery",
        "customer_country": "DE",
        "merchant_country": "DE",
        "channel": "in_store",
    }
    base.update(overrides)
    return base


def error_fields(**overrides) -> set[str]:
    with pytest.raises(ValidationError) as info:
        Transaction.model_validate(payload(**overrides))
    return {".".join(str(p) for p in e["loc"]) or "__root__" for e in info.value.errors()}


def test_valid_transaction_normalises_codes_and_time():
    tx = Transaction.model_validate(
        payload(currency="eur", customer_country="de", event_time="2025-03-01T10:00:00")
    )
    assert tx.currency == "EUR" and tx.customer_country == "DE"
    assert tx.event_time.tzinfo is not None
    assert tx.amount_usd == pytest.approx(42.5 * 1.08)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"amount": -5}, "amount"),
        ({"amount": 0}, "amount"),
        ({"amount": "lots"}, "amount"),
        ({"amount": float("inf")}, "amount"),
        ({"currency": "XYZ"}, "currency"),
        ({"currency": "KPW"}, "currency"),
        ({"customer_country": "ZZ"}, "customer_country"),
        ({"merchant_country": "Germany"}, "merchant_country"),
        ({"account_age_days": -1}, "account_age_days"),
        ({"payment_method": "cash"}, "payment_method"),
        ({"card_present": "maybe"}, "card_present"),
        ({"amount": True}, "amount"),
        ({"amount": "12.5"}, "amount"),
        ({"account_age_days": 3.5}, "account_age_days"),
        ({"account_age_days": True}, "account_age_days"),
        ({"account_age_days": "30"}, "account_age_days"),
        ({"card_present": "yes"}, "card_present"),
        ({"card_present": 1}, "card_present"),
        ({"device_age_days": False}, "device_age_days"),
        ({"channel": "fax"}, "channel"),
        ({"transaction_id": "bad id with spaces"}, "transaction_id"),
        ({"event_time": "not a time"}, "event_time"),
        ({"event_time": (datetime.now(UTC) + timedelta(days=2)).isoformat()}, "event_time"),
        ({"event_time": "1999-12-31T00:00:00Z"}, "event_time"),
        ({"unexpected": 1}, "unexpected"),
        ({"merchant_category": "Bad Category"}, "merchant_category"),
    ],
)
def test_bad_field_is_named(overrides, field):
    assert field in error_fields(**overrides)


def test_missing_field_is_named():
    data = payload()
    del data["amount"]
    with pytest.raises(ValidationError) as info:
        Transaction.model_validate(data)
    assert info.value.errors()[0]["loc"] == ("amount",)


def test_absurd_amount_names_amount():
    with pytest.raises(ValidationError, match="amount: .*exceeds"):
        Transaction.model_validate(payload(amount=2_000_000, currency="USD"))
    # The same number in a weak currency is a normal payment.
    assert Transaction.model_validate(payload(amount=2_000_000, currency="KRW"))


def test_wallet_provider_only_for_wallets():
    with pytest.raises(ValidationError, match="wallet_provider"):
        Transaction.model_validate(payload(wallet_provider="apple_pay"))
    tx = Transaction.model_validate(
        payload(payment_method="digital_wallet", wallet_provider="brand_new_pay")
    )
    assert tx.wallet_provider == "brand_new_pay"


def test_batch_size_is_capped():
    one = payload()
    with pytest.raises(ValidationError, match="transactions"):
        ScoreBatchRequest.model_validate({"transactions": [one] * (MAX_BATCH + 1)})
    with pytest.raises(ValidationError, match="transactions"):
        ScoreBatchRequest.model_validate({"transactions": []})


def test_label_validation():
    now = datetime.now(UTC)
    ok = Label(transaction_id="tx-1", label="legit", source="dispute", reported_at=now)
    assert ok.label == "legit"
    with pytest.raises(ValidationError, match="label"):
        Label(transaction_id="tx-1", label="maybe", source="dispute", reported_at=datetime.now(UTC))
    with pytest.raises(ValidationError, match="reported_at"):
        Label(
            transaction_id="tx-1",
            label="fraud",
            source="chargeback",
            reported_at=datetime.now(UTC) + timedelta(days=3),
        )


def test_keyed_hash_is_keyed_and_stable():
    assert keyed_hash("cust-7", "k1") == keyed_hash("cust-7", "k1")
    assert keyed_hash("cust-7", "k1") != keyed_hash("cust-7", "k2")
    assert "cust-7" not in keyed_hash("cust-7", "k1")
    assert len(keyed_hash("cust-7", "k1")) == 64
