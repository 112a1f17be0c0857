"""_truth.json agrees with totals recomputed from the raw files by plain readers."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

from .readers import data_files, day_folders, read_csv, read_jsonl

CLASS_BY_MEDIUM = {
    "cpc": "paid",
    "cpm": "paid",
    "ppc": "paid",
    "share": "social",
    "invite": "social",
    "assist": "social",
    "group_buy": "social",
    "crm": "private",
    "sms": "private",
    "wecom": "private",
    "push": "private",
    "email": "private",
}


def traffic_class(e: dict) -> str:
    """marts.md's traffic classes, written independently of the simulator."""
    med = e["utm_medium"] or ""
    if med.startswith("paid"):
        return "paid"
    if e["referrer_customer_id"]:
        return "social"
    return CLASS_BY_MEDIUM.get(med, "natural")


def loadable(truth: dict) -> tuple[set[tuple[str, str, str]], dict[tuple[str, str, str], set]]:
    """Files a correct warehouse skips, and bad lines it quarantines, from truth['faults']."""
    skip, bad = set(), {}
    for f in truth["faults"]:
        key = (f["source"], f["date"], f["file"])
        if f["expected"] in ("file_quarantined", "not_ingested"):
            skip.add(key)
        elif f["expected"] == "rows_quarantined":
            bad[key] = set(f["lines"])
    return skip, bad


def latest_orders(root: Path, truth: dict) -> dict[str, dict]:
    skip, _ = loadable(truth)
    latest: dict[str, dict] = {}
    for folder in day_folders(root, "orders"):
        if ("orders", folder.name, "orders.jsonl.gz") in skip:
            continue
        for o in read_jsonl(folder / "orders.jsonl.gz"):
            cur = latest.get(o["order_id"])
            if cur is None or o["updated_at"] > cur["updated_at"]:
                latest[o["order_id"]] = o
    return latest


def recompute_daily(root: Path, truth: dict) -> dict[str, dict]:
    days = {
        str(dt.date.fromisoformat(truth["start"]) + dt.timedelta(days=k))
        for k in range(truth["days"])
    }
    out: dict[str, dict] = {d: {"orders": 0, "gmv": 0.0, "refund": 0.0, "new": 0} for d in days}
    first: dict[str, str] = {}
    for o in latest_orders(root, truth).values():
        if o["paid_at"] is None:
            continue
        d = o["paid_at"][:10]
        out[d]["orders"] += 1
        out[d]["gmv"] += o["paid_amount"]
        out[d]["refund"] += o["refund_amount"] or 0
        if o["customer_id"]:
            c = o["customer_id"]
            first[c] = min(first.get(c, o["paid_at"]), o["paid_at"])
    for paid_at in first.values():
        out[paid_at[:10]]["new"] += 1
    return out


def test_daily_orders_match_raw_files(clean_zone: tuple[Path, dict]) -> None:
    root, truth = clean_zone
    got = recompute_daily(root, truth)
    assert set(truth["daily"]) == set(got)
    for d, t in truth["daily"].items():
        assert t["orders"] == got[d]["orders"], d
        assert round(got[d]["gmv"], 2) == t["gmv"], d
        assert round(got[d]["gmv"] - got[d]["refund"], 2) == t["net_revenue"], d
        assert t["new_customers"] == got[d]["new"], d
        assert t["orders"] > 300 and t["net_revenue"] <= t["gmv"]
    paid = {k for k, o in latest_orders(root, truth).items() if o["paid_at"]}
    assert set(truth["orders"]) == paid


def test_promo_peak_and_volumes(clean_zone: tuple[Path, dict]) -> None:
    _, truth = clean_zone
    daily = truth["daily"]
    assert truth["parameters"]["promo_day"] == "2026-06-18"
    peak = daily["2026-06-18"]["orders"]
    assert peak == max(v["orders"] for v in daily.values())
    assert peak > 1.8 * daily["2026-06-15"]["orders"]
    for v in daily.values():
        assert 20_000 < v["events"] < 200_000
        assert v["visitors"]["natural"] > 0 and v["visitors"]["paid"] > 0


def test_spend_events_and_visitors_match(clean_zone: tuple[Path, dict]) -> None:
    root, truth = clean_zone
    spend: dict[str, float] = defaultdict(float)
    for folder in day_folders(root, "ads"):
        spend[folder.name] += sum(
            float(r["消耗(元)"]) for r in read_csv(folder / "qianchuan.csv")[1]
        )
        spend[folder.name] += sum(
            float(r["spend_yuan"]) for r in read_csv(folder / "juguang.csv")[1]
        )
        spend[folder.name] += (
            sum(int(r["花费(分)"]) for r in read_csv(folder / "tencent_ads.csv")[1]) / 100
        )
    ids: dict[str, set] = defaultdict(set)
    vis: dict[tuple[str, str], set] = defaultdict(set)
    for folder in day_folders(root, "events"):
        for f in data_files(folder, "events.jsonl.gz"):
            for e in read_jsonl(f):
                d = e["event_time"][:10]
                ids[d].add(e["event_id"])
                vis[(d, traffic_class(e))].add(e["anonymous_id"])
    for d, t in truth["daily"].items():
        assert round(spend[d], 2) == t["spend"], d
        assert len(ids[d]) == t["events"], d
        for cls, n in t["visitors"].items():
            assert len(vis[(d, cls)]) == n, (d, cls)


def test_owned_order_channels_follow_last_touch(clean_zone: tuple[Path, dict]) -> None:
    """Recomputes marts.md's last-touch channel of owned-store orders from the events."""
    root, truth = clean_zone
    rules = {
        (r["utm_source"], r["utm_medium"]): (r["channel"], r["traffic_class"])
        for r in truth["parameters"]["channel_rules"]
    }
    stitch: dict[str, str] = {}
    sessions: dict[str, dict] = {}
    for folder in day_folders(root, "events"):
        for f in data_files(folder, "events.jsonl.gz"):
            for e in read_jsonl(f):
                if e["user_id"]:
                    stitch[e["anonymous_id"]] = e["user_id"]
                s = sessions.setdefault(e["session_id"], {"t": e["event_time"], "e": e})
                if e["event_time"] < s["t"]:
                    s["t"], s["e"] = e["event_time"], e
    touches: dict[str, list] = defaultdict(list)
    for s in sessions.values():
        e = s["e"]
        cust = stitch.get(e["anonymous_id"])
        if cust and (e["utm_source"] or e["referrer_customer_id"]):
            touches[cust].append((s["t"], rules[(e["utm_source"], e["utm_medium"])]))
    checked = non_direct = 0
    for oid, o in latest_orders(root, truth).items():
        if not o["paid_at"] or o["store"] not in ("wechat_miniprogram", "own_site"):
            continue
        created = dt.datetime.fromisoformat(o["created_at"])
        lo = (created - dt.timedelta(days=30)).isoformat()
        cand = [t for t in touches[o["customer_id"]] if lo <= t[0] < o["created_at"]]
        ch, cls = max(cand)[1] if cand else ("own_site", "natural")
        got = truth["orders"][oid]
        assert (got["channel"], got["traffic_class"]) == (ch, cls), oid
        # the order's path holds its touches, so a direct order's path is empty
        assert bool(got["path"]) == bool(cand), oid
        checked += 1
        non_direct += bool(cand)
    assert checked > 100 and non_direct > checked * 0.3
    store_ch = {"TM": "tmall", "JD": "jd", "PDD": "pinduoduo", "DY": "douyin"}
    for oid, v in truth["orders"].items():
        for prefix, ch in store_ch.items():
            if oid.startswith(prefix):
                assert v["channel"] == ch
