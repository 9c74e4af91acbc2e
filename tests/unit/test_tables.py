"""Metadata tables: typed columns the Dagster UI sorts, and the plain values consoles read."""

import dagster as dg
import numpy as np

from fraud_assets.tables import metadata_table, plain_metadata


def test_a_table_has_a_schema_typed_by_its_values() -> None:
    rows = [
        {"segment": "all", "rows": np.int64(12), "fpr": np.float64(0.125), "drifted": True},
        {"segment": "small|new", "rows": 3, "fpr": float("nan"), "drifted": np.bool_(False)},
    ]
    table = metadata_table(rows)
    assert isinstance(table, dg.TableMetadataValue)
    types = {c.name: c.type for c in table.schema.columns}
    assert types == {"segment": "string", "rows": "int", "fpr": "float", "drifted": "bool"}
    assert [r.data for r in table.records] == [
        {"segment": "all", "rows": 12, "fpr": 0.125, "drifted": True},
        {"segment": "small|new", "rows": 3, "fpr": None, "drifted": False},
    ]


def test_columns_choose_and_order_and_cell_shows_text() -> None:
    rows = [{"a": 1, "b": 0.5, "c": "x"}]
    table = metadata_table(rows, ["b", "a"], cell=lambda column, v: f"{column}={v}")
    assert [c.name for c in table.schema.columns] == ["b", "a"]
    assert [c.type for c in table.schema.columns] == ["string", "string"]
    assert table.records[0].data == {"b": "b=0.5", "a": "a=1"}
    assert metadata_table([], ["day", "why"]).records == []


def test_plain_metadata_turns_tables_into_rows() -> None:
    metadata = {"n": dg.MetadataValue.int(3), "t": metadata_table([{"day": "d", "rows": 2}])}
    assert plain_metadata(metadata) == {"n": 3, "t": [{"day": "d", "rows": 2}]}
