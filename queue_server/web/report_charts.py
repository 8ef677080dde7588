"""Server-side SVG charts of the reports pages (counts over time, waits per service, hour × weekday heat map).

Pure string building, no I/O and no JavaScript library: the SVG is drawn by the hub, so nothing is fetched from
a CDN and the charts look the same in the browser, the PDF and a saved page. Vietnamese labels are escaped.
"""
from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

FONT = "font-family=\"Noto Sans, DejaVu Sans, sans-serif\""
COLORS = ("#1f6fb2", "#e07b00", "#2e8b57", "#b22222", "#6a5acd")


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
            f'height="{height}" role="img" aria-label="{escape(title)}" {FONT} font-size="12">'
            f"<title>{escape(title)}</title>" + "".join(body) + "</svg>")


def _nice_max(v: float) -> float:
    if v <= 0:
        return 1.0
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 50000,
                 100000, 200000, 500000, 1000000):
        if v <= step * 5:
            return float(step * 5)
    return v


def bars_over_time(labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], title: str,
                   width: int = 900, height: int = 300) -> str:
    """Grouped vertical bars per label (e.g. issued and served per day)."""
    left, right, top, bottom = 50, 10, 30, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = _nice_max(max((v for _, vals in series for v in vals), default=0))
    body = [f'<text x="{left}" y="18" font-weight="bold">{escape(title)}</text>']
    for i in range(6):
        y = top + plot_h - plot_h * i / 5
        body.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
                    f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{_num(top_value * i / 5)}</text>')
    n = max(1, len(labels))
    slot = plot_w / n
    bar_w = max(1.0, slot * 0.8 / max(1, len(series)))
    every = max(1, n // 15)
    for i, label in enumerate(labels):
        for j, (_name, vals) in enumerate(series):
            v = vals[i] if i < len(vals) else 0
            h = plot_h * v / top_value
            x = left + i * slot + slot * 0.1 + j * bar_w
            body.append(f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                        f'fill="{COLORS[j % len(COLORS)]}" data-label="{escape(label)}" data-value="{v}"/>')
        if i % every == 0:
            body.append(f'<text x="{left + (i + 0.5) * slot:.1f}" y="{height - bottom + 16}" '
                        f'text-anchor="middle" font-size="10">{escape(label)}</text>')
    body += _legend([name for name, _ in series], width - right, top)
    return _svg(width, height, body, title)


def horizontal_bars(rows: Sequence[tuple[str, Sequence[float | None]]], names: Sequence[str], title: str,
                    unit: str, width: int = 900) -> str:
    """One row per item (e.g. per service: wait p50 and p90 in minutes)."""
    left, right, top, row_h = 220, 60, 30, 16 * max(1, len(names)) + 10
    height = top + row_h * max(1, len(rows)) + 30
    plot_w = width - left - right
    top_value = _nice_max(max((v or 0 for _, vals in rows for v in vals), default=0))
    body = [f'<text x="10" y="18" font-weight="bold">{escape(title)}</text>']
    for i, (label, vals) in enumerate(rows):
        y0 = top + i * row_h
        body.append(f'<text x="{left - 6}" y="{y0 + row_h / 2 + 4:.1f}" text-anchor="end">{escape(label[:34])}</text>')
        for j, v in enumerate(vals):
            w = plot_w * (v or 0) / top_value
            y = y0 + 4 + j * 16
            body.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="13" fill="{COLORS[j % len(COLORS)]}" '
                        f'data-label="{escape(label)}" data-value="{v if v is not None else ""}"/>'
                        f'<text x="{left + w + 4:.1f}" y="{y + 11}" font-size="11">'
                        f'{"—" if v is None else _num(v)} {escape(unit)}</text>')
    body += _legend(list(names), width - right, top - 16)
    return _svg(width, height, body, title)


WEEKDAYS_VI = ("Thứ hai", "Thứ ba", "Thứ tư", "Thứ năm", "Thứ sáu", "Thứ bảy", "Chủ nhật")


def heat_map(grid: dict[str, dict[str, int]], title: str, hours: Sequence[int] = tuple(range(6, 19))) -> str:
    """Weekday (rows, Monday first) × hour (columns) of arrivals, darker = more tickets."""
    left, top, cell_w, cell_h = 80, 40, 48, 28
    width = left + cell_w * len(hours) + 20
    height = top + cell_h * 7 + 20
    peak = max((n for row in grid.values() for n in row.values()), default=0) or 1
    body = [f'<text x="10" y="18" font-weight="bold">{escape(title)}</text>']
    for j, h in enumerate(hours):
        body.append(f'<text x="{left + j * cell_w + cell_w / 2}" y="{top - 6}" text-anchor="middle">{h}h</text>')
    for i, name in enumerate(WEEKDAYS_VI):
        y = top + i * cell_h
        body.append(f'<text x="{left - 6}" y="{y + cell_h / 2 + 4}" text-anchor="end">{name}</text>')
        row = grid.get(str(i + 1), {})
        for j, h in enumerate(hours):
            n = row.get(f"{h:02d}", 0)
            shade = int(245 - 200 * n / peak)
            fill = f"rgb({shade},{min(250, shade + 10)},255)" if n else "#f7f7f7"
            color = "#fff" if n > peak * 0.6 else "#222"
            body.append(f'<rect x="{left + j * cell_w}" y="{y}" width="{cell_w - 2}" height="{cell_h - 2}" '
                        f'fill="{fill}" data-weekday="{i + 1}" data-hour="{h}" data-value="{n}"/>')
            if n:
                body.append(f'<text x="{left + j * cell_w + cell_w / 2 - 1}" y="{y + cell_h / 2 + 4}" '
                            f'text-anchor="middle" fill="{color}" font-size="11">{n}</text>')
    return _svg(width, height, body, title)


def _legend(names: list[str], right: int, top: int) -> list[str]:
    out = []
    x = right
    for j, name in reversed(list(enumerate(names))):
        x -= 10 + 7 * len(name) + 14
        out.append(f'<rect x="{x}" y="{top - 12}" width="10" height="10" fill="{COLORS[j % len(COLORS)]}"/>'
                   f'<text x="{x + 14}" y="{top - 3}">{escape(name)}</text>')
    return out


def _num(v: Any) -> str:
    if isinstance(v, float) and not v.is_integer():
        return f"{v:.1f}".replace(".", ",")
    return f"{int(v):,}".replace(",", ".")
