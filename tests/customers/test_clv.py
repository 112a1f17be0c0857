"""The CLV model (assets/customers/clv.py) and `growth clv`: the published CDNOW fits, a
simulated holdout, and the rules of the RFM summary, each on small inputs (no pipeline)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import gammaln

from assets.customers import clv

GROWTH = str(Path(sys.executable).parent / "growth")
CDNOW = Path(__file__).parents[1] / "data" / "CDNOW_sample.txt"

# Fader, Hardie and Lee (2005), as ../shared/spec/marts.md gives them
PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "gamma": 15.44}


def growth(*args: str) -> subprocess.CompletedProcess:
    """The installed command, as an analyst runs it."""
    return subprocess.run(
        [GROWTH, *args], capture_output=True, text=True, timeout=120, env=dict(os.environ)
    )


def growth_in_process(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    """The same entry point in this process (no interpreter start-up): its exit code and what
    it printed on stderr."""
    from orchestration import cli

    monkeypatch.setattr(sys, "argv", ["growth", *args])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    return exit_info.value.code, capsys.readouterr().err


@pytest.fixture(scope="module")
def cdnow_csv(tmp_path_factory) -> Path:
    """The vendored CDNOW sample (tests/data/PROVENANCE.md) as an analyst's export."""
    raw = pd.read_csv(
        CDNOW,
        sep=r"\s+",
        header=None,
        names=["master_id", "customer_id", "date", "cds", "amount"],
        dtype={"date": str},
    )
    path = tmp_path_factory.mktemp("cdnow") / "transactions.csv"
    raw[["customer_id", "date", "amount"]].to_csv(path, index=False)
    return path


def test_growth_clv_reproduces_the_published_cdnow_fits(cdnow_csv):
    result = growth("clv", "--transactions", str(cdnow_csv), "--calibration-end", "1997-09-30")
    assert result.returncode == 0, result.stderr
    fitted = json.loads(result.stdout)
    assert fitted["customers"] == 2357
    for group, published in (("bgnbd", PUBLISHED_BGNBD), ("gamma_gamma", PUBLISHED_GAMMA_GAMMA)):
        assert set(fitted[group]) == set(published)
        for name, value in published.items():
            assert fitted[group][name] == pytest.approx(value, rel=0.02), (group, name)


def test_cdnow_summary_has_the_papers_946_repeat_customers(cdnow_csv):
    frame = pd.read_csv(cdnow_csv, dtype={"customer_id": str, "date": str})
    summary = clv.rfm_summary(clv.clean_transactions(frame), dt.date(1997, 9, 30))
    assert len(summary) == 2357
    assert int((summary["frequency"] > 0).sum()) == 946
    # FHL 2005: 2,457 repeat purchases in the calibration period
    assert summary["frequency"].sum() == 2457


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("customer_id,day,amount\n1,2020-01-01,3\n", "lack the column(s) date"),
        ("customer_id,date\n1,2020-01-01\n", "lack the column(s) amount"),
        ("customer_id,date,amount\n1,2020-01-01,3\n2,yesterday,4\n", "unparseable date"),
        ("customer_id,date,amount\n1,2020-01-01,3\n2,2020-01-02,lots\n", "not a number"),
    ],
)
def test_growth_clv_says_what_is_wrong_in_one_sentence(
    tmp_path, monkeypatch, capsys, content, says
):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    code, stderr = growth_in_process(
        monkeypatch, capsys, "clv", "--transactions", str(path), "--calibration-end", "2020-12-31"
    )
    assert code != 0
    message = stderr.strip()
    assert says in message
    assert "Traceback" not in message
    assert len(message.splitlines()) == 1


def test_growth_clv_rejects_a_bad_calibration_date(cdnow_csv, monkeypatch, capsys):
    code, stderr = growth_in_process(
        monkeypatch,
        capsys,
        "clv",
        "--transactions",
        str(cdnow_csv),
        "--calibration-end",
        "1997-02-30",
    )
    assert code != 0
    assert "not a date" in stderr
    assert "Traceback" not in stderr


def test_same_day_purchases_are_one_transaction_and_the_first_is_not_repeat_spend():
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "a", "b"],
            "date": ["2020-01-01", "2020-01-01", "2020-01-08", "2020-01-22", "2020-01-15"],
            "amount": [10.0, 5.0, 20.0, 40.0, 7.0],
        }
    )
    summary = clv.rfm_summary(clv.clean_transactions(frame), dt.date(2020, 1, 29))
    a, b = summary.loc["a"], summary.loc["b"]
    assert a["frequency"] == 2  # 01-01 (two purchases, one day), 01-08, 01-22
    assert a["recency"] == pytest.approx(3.0)  # 21 days
    assert a["T"] == pytest.approx(4.0)  # 28 days
    assert a["monetary_value"] == pytest.approx(30.0)  # (20 + 40) / 2; the first day excluded
    assert (b["frequency"], b["recency"], b["monetary_value"]) == (0, 0, 0)
    assert b["T"] == pytest.approx(2.0)


def test_purchases_after_the_calibration_end_are_not_in_the_fit():
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "a", "c"],
            "date": ["2020-01-01", "2020-03-01", "2020-03-01"],
            "amount": [1.0, 1.0, 1.0],
        }
    )
    summary = clv.rfm_summary(clv.clean_transactions(frame), dt.date(2020, 1, 31))
    assert list(summary.index) == ["a"]
    assert summary.loc["a", "frequency"] == 0


def test_p_alive_is_one_without_repeat_purchases_and_falls_with_silence():
    params = clv.BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
    x = np.array([0.0, 3.0, 3.0])
    t_x = np.array([0.0, 10.0, 30.0])
    T = np.array([39.0, 39.0, 39.0])
    alive = clv.p_alive(params, x, t_x, T)
    assert alive[0] == 1.0
    # the same three repeat purchases, the last long ago: less likely alive
    assert alive[1] < alive[2] < 1.0


def test_expected_purchases_match_the_papers_worked_example():
    # FHL 2005, section 4: a customer with x = 2, t_x = 30.43, T = 38.86 is expected to make
    # 1.226 purchases in the next 39 weeks
    params = clv.BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
    expected = clv.expected_purchases(params, 39.0, np.array([2.0]), [30.43], [38.86])
    assert expected[0] == pytest.approx(1.226, abs=0.002)


def simulated_bgnbd_history(customers: int, weeks: int, seed: int) -> tuple[pd.DataFrame, dt.date]:
    """Purchases of a cohort that follows the BG/NBD story: each customer buys at a Poisson
    rate lambda ~ Gamma(r, alpha) and, after each purchase, drops out with probability
    p ~ Beta(a, b), after each repeat purchase (BG/NBD: a customer is alive at their first);
    first purchases spread over the first 8 weeks. Amounts are gamma around a
    customer's own mean. Returns the transactions and the first date."""
    rng = np.random.default_rng(seed)
    start = dt.date(2025, 1, 1)
    lam = rng.gamma(shape=0.6, scale=1 / 6.0, size=customers)  # r = 0.6, alpha = 6 (weeks)
    drop = rng.beta(1.2, 4.0, size=customers)
    mean_value = rng.gamma(shape=6.0, scale=30.0, size=customers)
    rows = []
    for customer in range(customers):
        t, first = rng.uniform(0, 8), True
        while t < weeks:
            day = start + dt.timedelta(days=int(t * 7))
            rows.append((f"c{customer}", day.isoformat(), rng.gamma(8.0, mean_value[customer] / 8)))
            if not first and rng.random() < drop[customer]:
                break
            first = False
            t += rng.exponential(1 / lam[customer])
    frame = pd.DataFrame(rows, columns=["customer_id", "date", "amount"])
    return frame, start


def test_simulated_holdout_predicts_aggregate_purchases_within_ten_percent():
    weeks, calibration_weeks = 104, 52
    frame, start = simulated_bgnbd_history(4000, weeks, seed=12)
    calibration_end = start + dt.timedelta(days=calibration_weeks * 7 - 1)
    transactions = clv.clean_transactions(frame)
    summary = clv.rfm_summary(transactions, calibration_end)
    result = clv.fit(summary)
    horizon_end = start + dt.timedelta(days=weeks * 7 - 1)
    holdout = transactions[
        (transactions["date"] > pd.Timestamp(calibration_end))
        & (transactions["date"] <= pd.Timestamp(horizon_end))
    ]
    actual = holdout[holdout["customer_id"].isin(summary.index)].shape[0]
    horizon_weeks = (horizon_end - calibration_end).days / 7
    predicted = clv.predict(result, summary, horizon_weeks)["predicted_purchases"].sum()
    assert actual > 1000  # enough purchases to judge
    assert predicted == pytest.approx(actual, rel=0.10)
    # and the fit describes the calibration period it saw
    diag = result.diagnostics
    assert diag["calibration_repeat_purchases_expected"] == pytest.approx(
        diag["calibration_repeat_purchases_actual"], rel=0.05
    )


def test_gamma_gamma_shrinks_a_customers_mean_towards_the_population():
    params = clv.GammaGammaParams(p=6.25, q=3.74, gamma=15.44)
    population = params.p * params.gamma / (params.q - 1)
    few, many = clv.expected_average_value(params, np.array([1.0, 20.0]), np.array([100.0, 100.0]))
    assert population < few < many < 100.0
    assert clv.expected_average_value(params, np.array([0.0]), np.array([0.0]))[0] == pytest.approx(
        population
    )


def _bgnbd_formula(params, x, t_x, T):
    """FHL 2005 equation 6 per customer, written out with no shared terms."""
    r, alpha, a, b = params
    out = []
    for xi, ti, Ti in zip(x, t_x, T, strict=True):
        a1 = gammaln(r + xi) - gammaln(r) + r * np.log(alpha)
        a2 = gammaln(a + b) + gammaln(b + xi) - gammaln(b) - gammaln(a + b + xi)
        a3 = -(r + xi) * np.log(alpha + Ti)
        a4 = np.log(a) - np.log(b + xi - 1) - (r + xi) * np.log(alpha + ti) if xi > 0 else -np.inf
        out.append(a1 + a2 + np.logaddexp(a3, a4))
    return np.array(out)


def _gamma_gamma_formula(params, x, m_x):
    p, q, gamma = params
    return np.array(
        [
            gammaln(p * xi + q)
            - gammaln(p * xi)
            - gammaln(q)
            + q * np.log(gamma)
            + (p * xi - 1) * np.log(mi)
            + p * xi * np.log(xi)
            - (p * xi + q) * np.log(gamma + xi * mi)
            for xi, mi in zip(x, m_x, strict=True)
        ]
    )


def test_the_likelihoods_taken_per_distinct_value_are_the_formulas_per_customer(cdnow_csv):
    # the fit takes log-gammas once per distinct x and T; each customer's term must still be
    # the paper's, or the fit would drift from the published numbers on a larger history
    summary = clv.rfm_summary(
        clv.clean_transactions(pd.read_csv(cdnow_csv, dtype={"date": str})), dt.date(1997, 9, 30)
    )
    x, t_x, T = (summary[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    bg = np.array([0.243, 4.414, 0.793, 2.426])
    np.testing.assert_allclose(
        clv.bgnbd_log_likelihood(bg, x, t_x, T), _bgnbd_formula(bg, x, t_x, T), rtol=1e-12
    )
    repeat = summary[summary["frequency"] > 0]
    gg = np.array([6.25, 3.74, 15.44])
    xr, mr = repeat["frequency"].to_numpy(float), repeat["monetary_value"].to_numpy(float)
    np.testing.assert_allclose(
        clv.gamma_gamma_log_likelihood(gg, xr, mr), _gamma_gamma_formula(gg, xr, mr), rtol=1e-12
    )


def test_the_likelihoods_gradients_are_their_derivatives(cdnow_csv):
    # the fit follows these gradients: a wrong sign or term would stop it short of the optimum
    summary = clv.rfm_summary(
        clv.clean_transactions(pd.read_csv(cdnow_csv, dtype={"date": str})), dt.date(1997, 9, 30)
    )
    x, t_x, T = (summary[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    bgnbd = clv._BgNbdData(x, t_x, T)
    repeat = summary[summary["frequency"] > 0]
    gamma_gamma = clv._GammaGammaData(
        repeat["frequency"].to_numpy(float), repeat["monetary_value"].to_numpy(float)
    )
    for data, params in (
        (bgnbd, np.array([0.243, 4.414, 0.793, 2.426])),
        (bgnbd, np.array([1.9, 16.0, 220.0, 2500.0])),
        (gamma_gamma, np.array([6.25, 3.74, 15.44])),
        (gamma_gamma, np.array([1.7, 27.0, 5500.0])),
    ):
        analytic = data.gradient(params).sum(axis=0)
        numeric = []
        for i, value in enumerate(params):
            step = np.zeros_like(params)
            step[i] = value * 1e-5
            up, down = data.log_likelihood(params + step), data.log_likelihood(params - step)
            numeric.append(float((up - down).sum()) / (2 * step[i]))
        np.testing.assert_allclose(analytic, numeric, rtol=1e-5)
        assert data.gradient(params).shape == (len(data.x), len(params))


def test_the_fit_with_gradients_converges_in_few_iterations(cdnow_csv):
    result = clv.fit_transactions(pd.read_csv(cdnow_csv, dtype={"date": str}), dt.date(1997, 9, 30))
    for model in ("bgnbd", "gamma_gamma"):
        assert result.diagnostics[model]["converged"], model
        # Nelder-Mead alone took its 400 iterations on each
        assert result.diagnostics[model]["iterations"] < 100, model
