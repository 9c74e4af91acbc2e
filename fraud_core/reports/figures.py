"""What the reports share: figures, PNG files and bytes, HTML tables and embedded images.

Figures are bare `matplotlib.figure.Figure`s, not pyplot's (no global figure list to close, no
backend to select: `savefig` renders PNG with Agg), laid out once when saved.
`Figure.tight_layout` leaves a placeholder layout engine on the figure, and `savefig` then
draws the whole figure once more for a layout that no longer changes (a third of a many-panel
plot's time): saving drops the engine after the layout, with the same pixels. matplotlib is
imported on first use (Dagster code imports the reports)."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def new_figure(width: float, height: float) -> Figure:
    """An empty figure of `width` x `height` inches."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))


def grid_margins(fig: Figure, rows: int, top: float = 0.55) -> None:
    """Fixed margins for a grid of `rows` rows of labelled panels under `top` inches of title:
    what the tight layout would find, without measuring every tick label of every panel (which
    doubled a many-panel plot's time). Save such a figure with `save_png(..., tight=False)`."""
    width, height = fig.get_size_inches()
    fig.subplots_adjust(
        left=0.6 / width,
        right=1 - 0.15 / width,
        bottom=0.55 / height,
        top=1 - top / height,
        wspace=0.3,
        hspace=0.65 if rows > 1 else 0.2,
    )


def save_png(fig: Figure, path: Any, dpi: int, *, tight: bool = True) -> Any:
    """Lays `fig` out tightly (unless `tight` is False: margins set already), saves it as a PNG
    at `path` (a path or a binary file), drawn once, and returns `path`."""
    if tight:
        fig.tight_layout()
        fig.set_layout_engine(None)
    fig.savefig(path, format="png", dpi=dpi)
    return path


def png_bytes(fig: Figure, dpi: int) -> bytes:
    """`fig` as PNG bytes (laid out as `save_png` does)."""
    return save_png(fig, io.BytesIO(), dpi).getvalue()


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
