"""The daily evaluation report: figures from the marts, as JSON and a self-contained HTML page.

Figures are computed once (`build_report_data`) and both files are rendered from that one dict,
so the JSON twin holds every number the page shows.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from pathlib import Path
from typing import Any

import duckdb

TREND_DAYS = 30

LABELS = {
    "orders": "Orders 订单数",
    "gmv": "GMV 成交额 (CNY)",
    "net_revenue": "Net revenue 净收入 (CNY)",
    "aov": "AOV 客单价 (CNY)",
    "new_customers": "New customers 新客数",
    "refund_rate": "Refund rate 退款率",
    "units": "Units 件数",
}


class ReportInputMissing(Exception):
    """The marts hold nothing for the requested date."""


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, (_plain(v) for v in row), strict=True)) for row in cursor.fetchall()]


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if hasattr(value, "is_finite"):  # Decimal
        return float(value)
    return value


def build_report_data(con: duckdb.DuckDBPyConnection, date: dt.date) -> dict[str, Any]:
    """Every figure of one day's report, read from the marts."""
    day = _rows(
        con,
        """
        select
            count(*) as orders,
            coalesce(sum(gmv), 0) as gmv,
            coalesce(sum(net_revenue), 0) as net_revenue,
            coalesce(sum(refund_amount), 0) as refunds,
            coalesce(sum(items), 0) as units,
            count(*) filter (where is_first_order) as new_customers
        from marts.fct_orders where date_day = ?
        """,
        [date],
    )[0]
    if not day["orders"]:
        raise ReportInputMissing(f"marts.fct_orders has no paid orders on {date}")
    kpis = {
        "orders": day["orders"],
        "gmv": round(day["gmv"], 2),
        "net_revenue": round(day["net_revenue"], 2),
        "aov": round(day["gmv"] / day["orders"], 2),
        "new_customers": day["new_customers"],
        "refund_rate": round(day["refunds"] / day["gmv"], 4) if day["gmv"] else 0.0,
        "units": day["units"],
    }
    start = date - dt.timedelta(days=TREND_DAYS - 1)
    trend = _rows(
        con,
        """
        select
            cast(d.date_day as date) as date_day,
            count(o.order_id) as orders,
            round(coalesce(sum(o.gmv), 0), 2) as gmv,
            round(coalesce(sum(o.net_revenue), 0), 2) as net_revenue,
            count(o.order_id) filter (where o.is_first_order) as new_customers
        from range(cast(? as date), cast(? as date) + interval 1 day, interval 1 day) d(date_day)
        left join marts.fct_orders o on o.date_day = cast(d.date_day as date)
        group by 1 order by 1
        """,
        [start, date],
    )

    def breakdown(column: str) -> list[dict[str, Any]]:
        rows = _rows(
            con,
            f"""
            select {column} as name, count(*) as orders, round(sum(gmv), 2) as gmv,
                count(*) filter (where is_first_order) as new_customers
            from marts.fct_orders where date_day = ?
            group by 1 order by gmv desc, name
            """,
            [date],
        )
        for row in rows:
            row["share"] = round(row["gmv"] / kpis["gmv"], 4) if kpis["gmv"] else 0.0
        return rows

    return {
        "report": "daily evaluation 每日评估",
        "date": date.isoformat(),
        "kpis": kpis,
        "labels": LABELS,
        "trend": trend,
        "by_channel": breakdown("channel"),
        "by_traffic_class": breakdown("traffic_class"),
        "by_store": breakdown("store"),
        "sources": ["marts.fct_orders"],
    }


def _fmt(key: str, value: float) -> str:
    if key == "refund_rate":
        return f"{value:.1%}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return f"{value:,}"


def _trend_chart(trend: list[dict[str, Any]], key: str = "gmv") -> str:
    """An inline SVG line of one figure over the trend window. Days without data break the
    line instead of dropping to zero, so a short history does not read as a collapse."""
    width, height, pad = 720, 160, 28
    values = [row[key] if row["orders"] else None for row in trend]
    known = [v for v in values if v is not None]
    if not known:
        return '<p class="muted">No data in the window.</p>'
    top = max(known) or 1.0
    step = (width - 2 * pad) / max(len(values) - 1, 1)

    def point(i: int, v: float) -> str:
        return f"{pad + i * step:.1f},{height - pad - (v / top) * (height - 2 * pad):.1f}"

    segments, current = [], []
    for i, v in enumerate(values):
        if v is None:
            if current:
                segments.append(current)
            current = []
        else:
            current.append(point(i, v))
    if current:
        segments.append(current)
    lines = "".join(
        f'<polyline fill="none" stroke="#2563eb" stroke-width="2" points="{" ".join(seg)}"/>'
        for seg in segments
    )
    dots = "".join(
        f'<circle cx="{point(i, v).split(",")[0]}" cy="{point(i, v).split(",")[1]}" r="2.5" '
        f'fill="#2563eb"><title>{trend[i]["date_day"]}: {v:,.2f}</title></circle>'
        for i, v in enumerate(values)
        if v is not None
    )
    axis = (
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" '
        'stroke="#d1d5db"/>'
        f'<text x="{pad}" y="{pad - 10}" font-size="11" fill="#6b7280">max {top:,.0f}</text>'
        f'<text x="{pad}" y="{height - 8}" font-size="11" fill="#6b7280">'
        f"{trend[0]['date_day']}</text>"
        f'<text x="{width - pad}" y="{height - 8}" font-size="11" fill="#6b7280" '
        f'text-anchor="end">{trend[-1]["date_day"]}</text>'
    )
    return (
        f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{key} trend">{axis}{lines}{dots}</svg>'
    )


def _bars(rows: list[dict[str, Any]]) -> str:
    out = []
    for row in rows:
        pct = row["share"] * 100
        out.append(
            f"<tr><td>{html.escape(str(row['name']))}</td><td>{row['orders']:,}</td>"
            f"<td>{row['gmv']:,.2f}</td><td>{row['new_customers']:,}</td>"
            f'<td><span class="track"><span class="bar" style="width:{pct:.1f}%"></span></span>'
            f" {pct:.1f}%</td></tr>"
        )
    return (
        "<table><tr><th>Name 名称</th><th>Orders 订单</th><th>GMV 成交额</th>"
        "<th>New 新客</th><th>Share 占比</th></tr>" + "".join(out) + "</table>"
    )


def render_html(data: dict[str, Any]) -> str:
    cards = "".join(
        f'<div class="card"><div class="label">{html.escape(LABELS[k])}</div>'
        f'<div class="value">{_fmt(k, v)}</div></div>'
        for k, v in data["kpis"].items()
    )
    trend = data["trend"]
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>Daily evaluation 每日评估 {data["date"]}</title>
<style>
body{{font-family:system-ui,-apple-system,"PingFang SC","Noto Sans CJK SC",sans-serif;
margin:2rem;color:#111827;max-width:60rem}}
h1{{font-size:1.5rem}} h2{{font-size:1.1rem;margin-top:2rem}}
.cards{{display:flex;flex-wrap:wrap;gap:.75rem}}
.card{{border:1px solid #e5e7eb;border-radius:.5rem;padding:.75rem 1rem;min-width:9rem}}
.label{{font-size:.8rem;color:#6b7280}} .value{{font-size:1.3rem;font-weight:600}}
table{{border-collapse:collapse;width:100%}} td,th{{padding:.3rem .5rem;text-align:left;
border-bottom:1px solid #f3f4f6;font-size:.9rem}}
.track{{display:inline-block;width:8rem;height:.7rem;background:#f3f4f6;vertical-align:middle}}
.bar{{display:block;height:100%;background:#2563eb}}
.muted{{color:#6b7280;font-size:.8rem}}
</style></head><body>
<h1>Daily evaluation 每日评估 · {data["date"]}</h1>
<p class="muted">Built from {", ".join(data["sources"])} after the data-quality gates passed.
数据质量检查通过后生成。</p>
<div class="cards">{cards}</div>
<h2>GMV trend, last {len(trend)} days 近{len(trend)}日成交额趋势</h2>
{_trend_chart(trend)}
<h2>Channels 渠道</h2>{_bars(data["by_channel"])}
<h2>Traffic structure 流量结构</h2>{_bars(data["by_traffic_class"])}
<h2>Stores 店铺</h2>{_bars(data["by_store"])}
</body></html>
"""


def write_report(data: dict[str, Any], reports_dir: Path) -> tuple[Path, Path]:
    """Writes `<reports>/<date>/evaluation.json` and `evaluation.html`, replacing old ones
    atomically so a reader never sees half a report."""
    folder = reports_dir / data["date"]
    folder.mkdir(parents=True, exist_ok=True)
    targets = {
        folder / "evaluation.json": json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True),
        folder / "evaluation.html": render_html(data),
    }
    for path, text in targets.items():
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    return folder / "evaluation.html", folder / "evaluation.json"


def remove_report(reports_dir: Path, date: dt.date) -> None:
    """A date whose gates failed must not keep a stale report from an earlier run."""
    folder = reports_dir / date.isoformat()
    for name in ("evaluation.html", "evaluation.json"):
        (folder / name).unlink(missing_ok=True)
