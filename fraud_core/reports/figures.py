"""What the reports share: matplotlib on the Agg backend, PNG files and bytes, HTML tables and
embedded images. matplotlib is imported on first use (Dagster code imports the reports)."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Mapping, Sequence
from typing import Any


def pyplot() -> Any:
    """`matplotlib.pyplot` on the Agg backend (files only, no display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png(fig: Any, path: Any, dpi: int) -> Any:
    """Saves `fig` as a PNG at `path`, closes it and returns `path`."""
    fig.savefig(path, dpi=dpi)
    pyplot().close(fig)
    return path


def png_bytes(fig: Any, dpi: int) -> bytes:
    """`fig` as PNG bytes; closes it."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    pyplot().close(fig)
    return buffer.getvalue()


def png_data_uri(png: bytes) -> str:
    """A PNG embedded in a page: `<img src=...>`."""
    return "data:image/png;base64," + base64.b64encode(png).decode()


def html_table(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[str], cell: Callable[[str, Any], str]
) -> str:
    """A table of `columns`, each cell `cell(column, value)`, escaped."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell(c, r.get(c)))}</td>" for c in columns) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
