"""The Markov-chain removal effects (assets/traffic/markov.py) on hand-made journeys: an example
worked by hand, the properties the issue asks for, and an independent implementation (the
`channelattribution` package, which estimates the same chain by simulation)."""

from __future__ import annotations

import contextlib
import io
import random

import pytest

from assets.traffic.markov import (
    CONVERSION,
    NULL,
    START,
    journey_transitions,
    removal_effects,
    removal_effects_of_journeys,
)

# 20 journeys of the brand's channels: (channels in order, converted, gmv). `other` appears
# only in journeys that never convert; `jd` in none.
TWENTY = [
    (["douyin", "xiaohongshu", "wechat"], True, 199.0),
    (["douyin"], False, 0.0),
    (["xiaohongshu", "wechat"], True, 89.0),
    (["baidu"], False, 0.0),
    (["wechat"], True, 59.0),
    (["douyin", "baidu"], False, 0.0),
    (["xiaohongshu"], False, 0.0),
    (["douyin", "wechat"], True, 129.0),
    (["other"], False, 0.0),
    (["baidu", "douyin", "wechat"], True, 299.0),
    (["xiaohongshu", "douyin"], False, 0.0),
    (["wechat", "wechat"], True, 45.0),
    (["douyin", "other"], False, 0.0),
    (["baidu", "xiaohongshu"], True, 159.0),
    (["other", "douyin"], False, 0.0),
    (["xiaohongshu", "xiaohongshu", "douyin"], True, 79.0),
    (["douyin"], False, 0.0),
    (["wechat", "baidu"], False, 0.0),
    (["other", "xiaohongshu"], False, 0.0),
    (["baidu"], True, 99.0),
]
CHANNELS = ["baidu", "douyin", "jd", "other", "wechat", "xiaohongshu"]

# Seven journeys worked by hand. Counts: start -> social 2, search 3, email 2; social -> email
# 2, search 1, conversion 1; email -> search 1, social 1, conversion 2; search -> social 1,
# conversion 1, null 3. So x_social = x_email/2 + x_search/4 + 1/4, x_email = x_search/4 +
# x_social/4 + 1/2, x_search = x_social/5 + 1/5, and P(conversion) = 4/7. Without social:
# x_search = 1/5, x_email = 11/20, P = 3/7 * 1/5 + 2/7 * 11/20 = 17/70: its removal effect is
# 1 - (17/70) / (4/7) = 23/40 = 0.575.
SEVEN = [
    (["social", "email", "search"], True, 1.0),
    (["search"], False, 0.0),
    (["email", "social", "email"], True, 1.0),
    (["social"], True, 1.0),
    (["search", "social", "search"], False, 0.0),
    (["email"], True, 1.0),
    (["search"], False, 0.0),
]


def test_the_seven_journeys_give_the_removal_effect_worked_by_hand():
    result = removal_effects_of_journeys(SEVEN)
    assert result.conversion_probability == pytest.approx(4 / 7, abs=1e-12)
    assert result.removal_effects["social"] == pytest.approx(0.575, abs=1e-12)


def test_transitions_are_counted_from_start_to_the_end_of_each_journey():
    counts = journey_transitions(TWENTY)
    assert sum(n for (source, _), (n, _) in counts.items() if source == START) == 20
    assert sum(n for (_, target), (n, _) in counts.items() if target == CONVERSION) == 9
    assert sum(n for (_, target), (n, _) in counts.items() if target == NULL) == 11
    assert counts[("wechat", "wechat")] == (1, 45.0)
    # journeys 1, 3, 5, 8, 10 and 12 end on wechat and convert
    assert counts[("wechat", CONVERSION)] == (6, 199.0 + 89 + 59 + 129 + 299 + 45)


def test_shares_sum_to_one_and_an_absent_channel_gets_nothing():
    result = removal_effects_of_journeys(TWENTY, CHANNELS)
    assert set(result.shares) == set(CHANNELS)
    assert sum(result.shares.values()) == pytest.approx(1.0, abs=1e-12)
    assert sum(result.value_shares.values()) == pytest.approx(1.0, abs=1e-12)
    assert result.shares["jd"] == result.removal_effects["jd"] == 0.0
    assert result.value_shares["jd"] == 0.0
    assert all(0 < result.shares[c] < 1 for c in CHANNELS if c != "jd")


def test_duplicating_every_journey_changes_nothing():
    once = removal_effects_of_journeys(TWENTY, CHANNELS)
    twice = removal_effects_of_journeys(TWENTY * 2, CHANNELS)
    for field in ("removal_effects", "shares", "value_removal_effects", "value_shares"):
        for channel in CHANNELS:
            assert getattr(twice, field)[channel] == pytest.approx(
                getattr(once, field)[channel], abs=1e-12
            )
    assert twice.conversion_probability == pytest.approx(once.conversion_probability)


def test_a_channel_whose_journeys_never_convert_gets_the_smallest_share():
    result = removal_effects_of_journeys(TWENTY)
    present = {c: s for c, s in result.shares.items()}
    assert min(present, key=present.get) == "other"
    assert present["other"] < sorted(present.values())[1]


def test_the_gmv_chain_weighs_each_conversion_by_its_value():
    # two channels, one conversion each: the one whose order is worth three times as much
    # takes three quarters of the gmv, half of the conversions
    result = removal_effects_of_journeys([(["a"], True, 300.0), (["b"], True, 100.0)])
    assert result.shares == pytest.approx({"a": 0.5, "b": 0.5})
    assert result.value_shares == pytest.approx({"a": 0.75, "b": 0.25})


def test_no_conversions_attribute_nothing():
    result = removal_effects({(START, "a"): 3, ("a", NULL): 3})
    assert result.conversion_probability == 0.0
    assert result.shares == {"a": 0.0}


# ---------------------------------------------------------------------------------------------
# Against an independent implementation: ChannelAttribution's markov_model estimates the same
# first-order chain by simulating paths (max_step raised so no simulated path is cut short).


def channel_attribution(
    journeys, nsim: float = 1e6
) -> tuple[dict[str, float], dict[str, float], dict]:
    import pandas as pd
    from ChannelAttribution import markov_model

    paths: dict[str, list[float]] = {}
    for channels, converted, value in journeys:
        row = paths.setdefault(">".join(channels), [0, 0, 0.0])
        if converted:
            row[0] += 1
            row[2] += value
        else:
            row[1] += 1
    data = pd.DataFrame(
        [(path, *row) for path, row in sorted(paths.items())],
        columns=["path", "conversions", "nulls", "value"],
    )
    with contextlib.redirect_stdout(io.StringIO()):
        out = markov_model(
            data,
            "path",
            "conversions",
            var_value="value",
            var_null="nulls",
            out_more=True,
            nsim_start=nsim,
            max_step=1000,
            seed=7,
            verbose=False,
            flg_pro=False,
        )
    result = out["result"].set_index("channel_name")
    effects = out["removal_effects"].set_index("channel_name")
    conversions = result["total_conversions"].sum()
    value = result["total_conversion_value"].sum()
    shares = (result["total_conversions"] / conversions).to_dict()
    value_shares = (result["total_conversion_value"] / value).to_dict()
    return shares, value_shares, effects.to_dict()


def simulated_journeys(seed: int, count: int) -> list[tuple[list[str], bool, float]]:
    """Journeys walked on a random first-order chain of six channels (so the paths repeat
    and loop as real ones do)."""
    rng = random.Random(seed)
    channels = ["baidu", "douyin", "other", "wechat", "xiaohongshu", "tmall"]
    convert = {c: rng.uniform(0.02, 0.3) for c in channels}
    stop = {c: rng.uniform(0.2, 0.6) for c in channels}
    journeys = []
    for _ in range(count):
        path = [rng.choice(channels)]
        while True:
            current = path[-1]
            draw = rng.random()
            if draw < convert[current]:
                journeys.append((path, True, round(rng.uniform(20, 400), 2)))
                break
            if draw < convert[current] + stop[current]:
                journeys.append((path, False, 0.0))
                break
            path.append(rng.choice(channels))
    return journeys


@pytest.mark.parametrize(
    "name", ["twenty", "seven", "simulated"], ids=["twenty", "seven", "simulated"]
)
def test_shares_and_removal_effects_equal_channelattributions(name):
    journeys = {
        "twenty": TWENTY,
        "seven": SEVEN,
        "simulated": simulated_journeys(seed=3, count=2000),
    }[name]
    ours = removal_effects_of_journeys(journeys)
    shares, value_shares, effects = channel_attribution(journeys)
    assert set(shares) == set(ours.channels)
    for channel in ours.channels:
        assert ours.shares[channel] == pytest.approx(shares[channel], rel=0.01), channel
        assert ours.value_shares[channel] == pytest.approx(value_shares[channel], rel=0.01)
        assert ours.removal_effects[channel] == pytest.approx(
            effects["removal_effects_conversion"][channel], abs=0.01
        )
        assert ours.value_removal_effects[channel] == pytest.approx(
            effects["removal_effects_conversion_value"][channel], abs=0.01
        )


def test_the_mart_rows_of_a_window_fit_the_contract_with_last_touch_beside():
    import datetime as dt

    from assets.traffic.definitions import DATA_DRIVEN, attribution_table
    from orchestration.lib.python_marts import conform

    start, end = dt.date(2026, 3, 1), dt.date(2026, 3, 30)
    transitions = [
        ("trailing_30_days", start, end, source, target, n, value)
        for (source, target), (n, value) in journey_transitions(TWENTY).items()
    ]
    table, _ = attribution_table(transitions)
    rows = {r["channel"]: r for r in conform(DATA_DRIVEN, table).to_pylist()}
    expected = removal_effects_of_journeys(TWENTY)
    assert set(rows) == set(expected.channels)
    assert sum(r["share"] for r in rows.values()) == pytest.approx(1.0, abs=1e-5)
    assert sum(r["conversions"] for r in rows.values()) == pytest.approx(9, abs=1e-4)
    total_gmv = sum(value for _, converted, value in TWENTY if converted)
    assert float(sum(r["gmv"] for r in rows.values())) == pytest.approx(total_gmv, abs=0.05)
    assert rows["wechat"]["removal_effect"] == pytest.approx(
        expected.removal_effects["wechat"], abs=1e-6
    )
    # last touch: wechat ends six of the nine orders; baidu, douyin and xiaohongshu one each
    assert {c: r["last_touch_conversions"] for c, r in rows.items()} == {
        "baidu": 1,
        "douyin": 1,
        "other": 0,
        "wechat": 6,
        "xiaohongshu": 1,
    }
    assert rows["wechat"]["last_touch_share"] == pytest.approx(6 / 9, abs=1e-6)
    assert all(r["journeys"] == 20 and r["month_start"] is None for r in rows.values())
