"""Report figures are drawn once when saved, with the pixels `tight_layout` + `savefig` give."""

from __future__ import annotations

import io

import numpy as np

from fraud_core.reports.figures import new_figure, save_png


def _figure():
    figure = new_figure(6, 3)
    for ax, title in zip(figure.subplots(1, 2), ("left", "right"), strict=True):
        ax.plot(np.arange(50), np.sin(np.arange(50)), label="curve")
        ax.set_title(title)
        ax.legend()
    figure.suptitle("two panels")
    return figure


def _pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)))


def test_a_saved_figure_is_drawn_once_and_looks_the_same() -> None:
    figure, draws = _figure(), []
    figure.canvas.mpl_connect("draw_event", draws.append)
    ours = io.BytesIO()
    save_png(figure, ours, dpi=90)
    assert len(draws) == 1  # tight_layout then savefig alone: 2

    plain = _figure()
    plain.tight_layout()
    expected = io.BytesIO()
    plain.savefig(expected, format="png", dpi=90)
    assert np.array_equal(_pixels(ours.getvalue()), _pixels(expected.getvalue()))
