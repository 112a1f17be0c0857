"""Customer lifetime value: BG/NBD (Fader, Hardie and Lee 2005) for how many purchases a
customer makes and whether they are still "alive", and Gamma-Gamma (Fader, Hardie and Lee
2005, "RFM and CLV") for what a purchase is worth, both fitted by maximum likelihood.

Functions over pandas / numpy and one SQL summary (no Dagster), so the `growth clv` command,
the mart asset (`definitions.py`) and the tests fit the same model on the same summary. A small
scipy implementation rather than a library: `lifetimes` has not been maintained since 2020, and
the two likelihoods are a few lines each (the CDNOW test pins them to the published estimates).

Conventions, those of the papers (and of the CDNOW benchmark):
- purchases on the same day are one transaction (amounts summed);
- `frequency` x = repeat transactions (transaction days after the first) in the calibration
  period; `recency` t_x = time from the first to the last transaction; `T` = time from the
  first transaction to the end of calibration; time in weeks (days / 7);
- `monetary_value` = mean value of the repeat transactions (the first one excluded, as
  Gamma-Gamma models repeat spend), for customers with x > 0.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pandas as pd
from scipy import optimize, special

REQUIRED_COLUMNS = ("customer_id", "date", "amount")
DAYS_PER_PERIOD = 7.0  # the papers' time unit, a week: it keeps the parameters well scaled
WEEKS_PER_YEAR = 365.0 / DAYS_PER_PERIOD


class TransactionsError(ValueError):
    """A transactions table the model cannot read (said in one sentence)."""


@dataclass(frozen=True)
class BgNbdParams:
    r: float
    alpha: float
    a: float
    b: float


@dataclass(frozen=True)
class GammaGammaParams:
    p: float
    q: float
    gamma: float


@dataclass
class FitResult:
    """A fitted model and how the fit went (attached to the mart asset as metadata)."""

    bgnbd: BgNbdParams
    gamma_gamma: GammaGammaParams | None
    customers: int
    repeat_customers: int
    diagnostics: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The `growth clv` output (interfaces.md)."""
        gg = self.gamma_gamma
        return {
            "bgnbd": {k: round(v, 6) for k, v in vars(self.bgnbd).items()},
            "gamma_gamma": {k: round(v, 6) for k, v in vars(gg).items()} if gg else None,
            "customers": self.customers,
        }


def clean_transactions(frame: pd.DataFrame) -> pd.DataFrame:
    """`customer_id, date (a date), amount (float)`, one row per customer and day (same-day
    purchases merged). Raises TransactionsError naming what is wrong."""
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise TransactionsError(
            f"the transactions lack the column(s) {', '.join(missing)}; "
            f"expected {', '.join(REQUIRED_COLUMNS)}"
        )
    raw_dates = frame["date"]
    # dates already datetime64 skip the parse: only other input goes through text
    if pd.api.types.is_datetime64_dtype(raw_dates):
        dates = raw_dates
    else:
        dates = pd.to_datetime(raw_dates.astype(str), errors="coerce", format="mixed")
    bad = dates.isna()
    if bad.any():
        first = frame.loc[bad, "date"].iloc[0]
        raise TransactionsError(
            f"{int(bad.sum())} row(s) have an unparseable date, the first {first!r}"
        )
    amounts = pd.to_numeric(frame["amount"], errors="coerce")
    if amounts.isna().any():
        first = frame.loc[amounts.isna(), "amount"].iloc[0]
        raise TransactionsError(
            f"{int(amounts.isna().sum())} row(s) have an amount that is not a number, "
            f"the first {first!r}"
        )
    ids = frame["customer_id"]
    clean = pd.DataFrame(
        {
            # integer ids stay integers: they group (and sort) as numbers, not as text
            "customer_id": ids if pd.api.types.is_integer_dtype(ids) else ids.astype(str),
            "date": dates.dt.normalize(),
            "amount": amounts.astype(float),
        }
    )
    return clean.groupby(["customer_id", "date"], as_index=False, sort=True)["amount"].sum()


def customer_totals_sql(transactions: str) -> str:
    """A query of one row per customer of `transactions` (a relation of customer_id, date,
    amount) up to the parameter `$calibration_end` (inclusive), sorted by customer:
    transactions (its rows), total_amount, first_date, last_date, and the model's terms in
    days: frequency, recency_days, tenure_days, monetary_value.

    The one definition of the summary, run where the transactions are: on the warehouse for
    the CLV mart (a year's 600,000 orders become 170,000 rows before they reach pandas), on an
    in-memory DuckDB for a transactions file. Same-day purchases are one transaction; a
    decimal amount is summed exactly."""
    return f"""
        with days as (
            select
                customer_id,
                cast("date" as date) as purchase_day,
                sum(amount) as amount,
                count(*) as transactions
            from {transactions}
            where cast("date" as date) <= $calibration_end
            group by customer_id, cast("date" as date)
        )
        select
            customer_id,
            sum(transactions) as transactions,
            sum(amount) as total_amount,
            min(purchase_day) as first_date,
            max(purchase_day) as last_date,
            count(*) - 1 as frequency,
            date_diff('day', min(purchase_day), max(purchase_day)) as recency_days,
            date_diff('day', min(purchase_day), $calibration_end) as tenure_days,
            case
                when count(*) > 1
                then cast(sum(amount) - arg_min(amount, purchase_day) as double) / (count(*) - 1)
                else 0
            end as monetary_value
        from days
        group by customer_id
        order by customer_id
    """


def rfm_summary(
    transactions: pd.DataFrame, calibration_end: dt.date | pd.Timestamp
) -> pd.DataFrame:
    """Per customer (index customer_id): frequency, recency, T (weeks), monetary_value (mean
    repeat transaction, 0 without one), from the cleaned transactions up to calibration_end
    (inclusive). Customers whose first purchase is after it are left out."""
    con = duckdb.connect()
    try:
        con.execute("set threads = 1")  # floats summed in one order: the same fit every time
        con.register("transactions", transactions)
        totals = con.execute(
            customer_totals_sql("transactions"),
            {"calibration_end": pd.Timestamp(calibration_end).date()},
        ).df()
    finally:
        con.close()
    return summary_of_totals(totals.set_index("customer_id"))


def summary_of_totals(totals: pd.DataFrame) -> pd.DataFrame:
    """The model's summary (frequency, recency, T in weeks, monetary_value) of the rows of
    `customer_totals_sql`, on their index."""
    return pd.DataFrame(
        {
            "frequency": totals["frequency"].astype(float),
            "recency": totals["recency_days"].astype(float) / DAYS_PER_PERIOD,
            "T": totals["tenure_days"].astype(float) / DAYS_PER_PERIOD,
            "monetary_value": totals["monetary_value"].astype(float),
        },
        index=totals.index,
    )


# --- BG/NBD ------------------------------------------------------------------------------


def bgnbd_log_likelihood(
    params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """Each customer's log-likelihood (FHL 2005, equation 6)."""
    return _BgNbdData(x, t_x, T).log_likelihood(params)


class _BgNbdData:
    """frequency, recency and T as their distinct values and an index into them: a year of
    customers has a few hundred distinct x and T, so the log-gammas and logs are taken once per
    value, not once per customer. The same operations on the same numbers: the likelihood is
    bit for bit that of the plain formula, and so is the fit."""

    def __init__(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> None:
        self.x = np.asarray(x, float)
        self.ux, self.ix = np.unique(self.x, return_inverse=True)
        self.uT, self.iT = np.unique(np.asarray(T, float), return_inverse=True)
        self.repeat = self.x > 0
        self.x_repeat = self.x[self.repeat]
        self.ut, self.it = np.unique(np.asarray(t_x, float)[self.repeat], return_inverse=True)
        self.ix_repeat = self.ix[self.repeat]

    def log_likelihood(self, params: np.ndarray) -> np.ndarray:
        return self._terms(params)[0]

    def _terms(self, params: np.ndarray) -> tuple[np.ndarray, ...]:
        r, alpha, a, b = params
        ux, x = self.ux, self.x
        a1 = special.gammaln(r + ux) - special.gammaln(r) + r * np.log(alpha)
        a2 = (
            special.gammaln(a + b)
            + special.gammaln(b + ux)
            - special.gammaln(b)
            - special.gammaln(a + b + ux)
        )
        log_alpha_T = np.log(alpha + self.uT)[self.iT]
        a3 = -(r + x) * log_alpha_T
        a4 = np.full_like(a3, -np.inf)
        log_alpha_t_x = np.log(alpha + self.ut)[self.it]
        a4[self.repeat] = (
            np.log(a)
            - np.log(b + np.maximum(ux, 1) - 1)[self.ix_repeat]
            - (r + self.x_repeat) * log_alpha_t_x
        )
        both = np.logaddexp(a3, a4)
        return (a1 + a2)[self.ix] + both, a3, a4, both, log_alpha_T, log_alpha_t_x

    def gradient(self, params: np.ndarray) -> np.ndarray:
        """Each customer's log-likelihood's derivatives by r, alpha, a and b (rows x 4)."""
        r, alpha, a, b = params
        ux, x, repeat = self.ux, self.x, self.repeat
        _, a3, a4, both, log_alpha_T, log_alpha_t_x = self._terms(params)
        # the shares of the two terms in the likelihood's sum (the second: repeat buyers only)
        w3 = np.exp(a3 - both)
        w4 = np.zeros_like(w3)
        w4[repeat] = np.exp(a4[repeat] - both[repeat])
        T = self.uT[self.iT]
        d_r = (special.digamma(r + ux) - special.digamma(r) + np.log(alpha))[self.ix] - w3 * (
            log_alpha_T
        )
        d_alpha = r / alpha - w3 * (r + x) / (alpha + T)
        d_a = (special.digamma(a + b) - special.digamma(a + b + ux))[self.ix]
        d_b = (
            special.digamma(a + b)
            + special.digamma(b + ux)
            - special.digamma(b)
            - special.digamma(a + b + ux)
        )[self.ix]
        w = w4[repeat]
        t_x = self.ut[self.it]
        d_r[repeat] -= w * log_alpha_t_x
        d_alpha[repeat] -= w * (r + self.x_repeat) / (alpha + t_x)
        d_a[repeat] += w / a
        d_b[repeat] -= w / (b + self.x_repeat - 1)
        return np.column_stack([d_r, d_alpha, d_a, d_b])


# Nelder-Mead only brings the start near the optimum: on a year of customers the likelihood has
# a long flat ridge (the dropout parameters a and b growing together), where it wandered for
# its whole 4,000 iterations (20,000 evaluations, 150 s) before L-BFGS-B finished the job.
NELDER_MEAD_ITERATIONS = 400


def _fit(
    neg_ll, start: np.ndarray, neg_ll_and_gradient=None, usable=None
) -> optimize.OptimizeResult:
    """Minimises over the logs of the parameters (all positive). With the gradient, L-BFGS-B
    alone from the start: a year of customers in a few dozen evaluations where Nelder-Mead
    took 400 iterations first. Without it, or when that does not converge to parameters
    `usable` accepts, Nelder-Mead to get close, then L-BFGS-B to polish: robust from a poor
    start, and tight at the optimum."""
    # A long step of the line search overflows the parameters' exponentials; the objective
    # then says so (1e300) and the step is refused: not a warning for the run's log.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return _minimise(neg_ll, start, neg_ll_and_gradient, usable)


def _minimise(neg_ll, start, neg_ll_and_gradient, usable) -> optimize.OptimizeResult:
    if neg_ll_and_gradient is not None:
        direct = optimize.minimize(
            neg_ll_and_gradient,
            np.log(start),
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": 2000},
        )
        if direct.success and np.isfinite(direct.fun) and (usable is None or usable(direct.x)):
            direct.nit_total = int(direct.nit)
            return direct
    # without the gradient, or after it: the path as it was before it had one
    coarse = optimize.minimize(
        neg_ll,
        np.log(start),
        method="Nelder-Mead",
        options={"maxiter": NELDER_MEAD_ITERATIONS, "xatol": 1e-6},
    )
    fine = optimize.minimize(neg_ll, coarse.x, method="L-BFGS-B", options={"maxiter": 2000})
    best = fine if fine.fun <= coarse.fun else coarse
    best.nit_total = int(coarse.nit) + int(getattr(fine, "nit", 0))
    return best


def _grouped(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Distinct rows of the columns and their counts: the likelihood of 10,000 customers is
    that of a few hundred distinct (x, t_x, T)."""
    # a hash grouping, sorted: the rows and order of np.unique(axis=0) at a tenth of its cost
    # (0.05 s against 0.5 s for a year's 270,000 customers), so the likelihood sums the same
    frame = pd.DataFrame(dict(enumerate(columns)))
    counts = frame.groupby(list(frame.columns), sort=True, dropna=False).size()
    distinct = counts.index
    return [distinct.get_level_values(i).to_numpy(float) for i in range(len(columns))], (
        counts.to_numpy(float)
    )


def _with_gradient(neg_ll, gradient, weights: np.ndarray):
    """`neg_ll` over the logs of the parameters, with its gradient there (d/d log p =
    p * d/dp), from the per-customer `gradient` by the parameters."""

    def neg_ll_and_gradient(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        params = np.exp(log_params)
        value = neg_ll(log_params)
        grad = -(weights @ gradient(params)) * params
        if value >= 1e300 or not np.all(np.isfinite(grad)):
            return value, np.zeros_like(params)
        return value, grad

    return neg_ll_and_gradient


def fit_bgnbd(summary: pd.DataFrame) -> tuple[BgNbdParams, dict[str, Any]]:
    """BG/NBD parameters by maximum likelihood on frequency / recency / T."""
    if len(summary) < 2:
        raise TransactionsError("the model needs at least two customers to fit")
    if not (summary["frequency"] > 0).any():
        # the likelihood then has no maximum (the dropout parameters run off to a bound): a
        # first night, or a history shorter than any repurchase
        raise TransactionsError("the model needs at least one customer with a repeat purchase")
    (x, t_x, T), weights = _grouped(
        summary["frequency"].to_numpy(float),
        summary["recency"].to_numpy(float),
        summary["T"].to_numpy(float),
    )

    data = _BgNbdData(x, t_x, T)

    def neg_ll(log_params: np.ndarray) -> float:
        value = -np.sum(weights * data.log_likelihood(np.exp(log_params)))
        return float(value) if np.isfinite(value) else 1e300

    def usable(log_params: np.ndarray) -> bool:
        # A short history leaves the likelihood a ridge to a bound (a, b or r, alpha running
        # off), where parameters of the same likelihood may or may not predict anything: of
        # five days of 3,000 customers, the gradient's end gave no finite expectation.
        expected = expected_repeat_purchases_in_calibration(BgNbdParams(*np.exp(log_params)), T)
        return bool(np.all(np.isfinite(expected)))

    result = _fit(
        neg_ll,
        np.array([1.0, max(float(np.mean(T)), 1.0), 1.0, 1.0]),
        _with_gradient(neg_ll, data.gradient, weights),
        usable,
    )
    params = BgNbdParams(*(float(v) for v in np.exp(result.x)))
    return params, {
        "log_likelihood": round(-float(result.fun), 4),
        "converged": bool(result.success),
        "iterations": result.nit_total,
    }


def expected_purchases(
    params: BgNbdParams, t: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """E[Y(t) | x, t_x, T]: purchases expected in the next t periods (FHL 2005, eq. 10)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, t_x, T = (np.asarray(v, float) for v in (x, t_x, T))
    hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
    first = (a + b + x - 1) / (a - 1)
    second = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp
    return first * second / _alive_denominator(params, x, t_x, T)


def _alive_denominator(
    params: BgNbdParams, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    ratio = np.where(
        x > 0, a / np.maximum(b + x - 1, 1e-12) * ((alpha + T) / (alpha + t_x)) ** (r + x), 0.0
    )
    return 1 + ratio


def p_alive(params: BgNbdParams, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """P(alive | x, t_x, T) (FHL 2005, eq. 12; 1 for a customer without repeat purchases)."""
    x, t_x, T = (np.asarray(v, float) for v in (x, t_x, T))
    return 1 / _alive_denominator(params, x, t_x, T)


def expected_repeat_purchases_in_calibration(params: BgNbdParams, T: np.ndarray) -> np.ndarray:
    """E[X(T)] of a customer observed for T periods (FHL 2005, eq. 7): a fit diagnostic, its
    sum against the repeat purchases observed."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    T = np.asarray(T, float)
    hyp = special.hyp2f1(r, b, a + b - 1, T / (alpha + T))
    with np.errstate(divide="ignore", invalid="ignore"):
        # a = 1 exactly (a degenerate fit) has no finite value: NaN, not a crash
        return np.divide(a + b - 1, a - 1) * (1 - (alpha / (alpha + T)) ** r * hyp)


# --- Gamma-Gamma -------------------------------------------------------------------------


def gamma_gamma_log_likelihood(params: np.ndarray, x: np.ndarray, m_x: np.ndarray) -> np.ndarray:
    """Each repeat customer's log-likelihood of their mean repeat spend m_x over x
    transactions (Fader, Hardie and Lee 2005, "RFM and CLV", equation 3)."""
    return _GammaGammaData(x, m_x).log_likelihood(params)


class _GammaGammaData:
    """x and m_x with what does not depend on the parameters taken once: the log-gammas per
    distinct x, the logs of x and m_x per customer (as _BgNbdData, bit for bit the formula)."""

    def __init__(self, x: np.ndarray, m_x: np.ndarray) -> None:
        self.x, self.m_x = np.asarray(x, float), np.asarray(m_x, float)
        self.ux, self.ix = np.unique(self.x, return_inverse=True)
        self.log_m_x, self.log_x = np.log(self.m_x), np.log(self.x)

    def log_likelihood(self, params: np.ndarray) -> np.ndarray:
        p, q, gamma = params
        ux, x = self.ux, self.x
        per_x = (
            special.gammaln(p * ux + q)
            - special.gammaln(p * ux)
            - special.gammaln(q)
            + q * np.log(gamma)
        )
        return (
            per_x[self.ix]
            + (p * x - 1) * self.log_m_x
            + p * x * self.log_x
            - (p * x + q) * np.log(gamma + x * self.m_x)
        )

    def gradient(self, params: np.ndarray) -> np.ndarray:
        """Each customer's log-likelihood's derivatives by p, q and gamma (rows x 3)."""
        p, q, gamma = params
        x = self.x
        spent = gamma + x * self.m_x
        shared = special.digamma(p * self.ux + q)[self.ix]
        d_p = x * (
            shared
            - special.digamma(p * self.ux)[self.ix]
            + self.log_m_x
            + self.log_x
            - np.log(spent)
        )
        d_q = shared - special.digamma(q) + np.log(gamma) - np.log(spent)
        d_gamma = q / gamma - (p * x + q) / spent
        return np.column_stack([d_p, d_q, d_gamma])


def fit_gamma_gamma(summary: pd.DataFrame) -> tuple[GammaGammaParams | None, dict[str, Any]]:
    """Gamma-Gamma parameters on the customers with repeat purchases of positive value; None
    when fewer than two such customers (nothing to fit)."""
    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    if len(repeat) < 2:
        return None, {"log_likelihood": None, "converged": False, "iterations": 0}
    (x, m_x), weights = _grouped(
        repeat["frequency"].to_numpy(float), repeat["monetary_value"].to_numpy(float)
    )

    data = _GammaGammaData(x, m_x)

    def neg_ll(log_params: np.ndarray) -> float:
        value = -np.sum(weights * data.log_likelihood(np.exp(log_params)))
        return float(value) if np.isfinite(value) else 1e300

    mean = float(np.average(m_x, weights=weights))
    result = _fit(
        neg_ll,
        np.array([1.0, 2.0, max(mean, 1e-3)]),
        _with_gradient(neg_ll, data.gradient, weights),
    )
    params = GammaGammaParams(*(float(v) for v in np.exp(result.x)))
    return params, {
        "log_likelihood": round(-float(result.fun), 4),
        "converged": bool(result.success),
        "iterations": result.nit_total,
    }


def expected_average_value(params: GammaGammaParams, x: np.ndarray, m_x: np.ndarray) -> np.ndarray:
    """E[M | x, m_x]: a customer's expected value per transaction, their mean repeat spend
    shrunk towards the population mean p * gamma / (q - 1) (the population mean itself for a
    customer without repeat purchases)."""
    x, m_x = np.asarray(x, float), np.asarray(m_x, float)
    p, q, gamma = params.p, params.q, params.gamma
    return (gamma + x * m_x) * p / (p * x + q - 1)


# --- the whole model ---------------------------------------------------------------------


def fit(summary: pd.DataFrame) -> FitResult:
    """Both models on an RFM summary, with diagnostics."""
    bgnbd, bg_diag = fit_bgnbd(summary)
    gamma_gamma, gg_diag = fit_gamma_gamma(summary)
    expected = expected_repeat_purchases_in_calibration(bgnbd, summary["T"].to_numpy(float))
    diagnostics = {
        "bgnbd": bg_diag,
        "gamma_gamma": gg_diag,
        "calibration_repeat_purchases_actual": round(float(summary["frequency"].sum()), 4),
        "calibration_repeat_purchases_expected": round(float(np.sum(expected)), 4),
    }
    return FitResult(
        bgnbd=bgnbd,
        gamma_gamma=gamma_gamma,
        customers=int(len(summary)),
        repeat_customers=int((summary["frequency"] > 0).sum()),
        diagnostics=diagnostics,
    )


def fit_transactions(frame: pd.DataFrame, calibration_end: dt.date) -> FitResult:
    """The `growth clv` fit: clean, summarise up to calibration_end, fit."""
    summary = rfm_summary(clean_transactions(frame), calibration_end)
    if summary.empty:
        raise TransactionsError(f"no transaction on or before {calibration_end}")
    return fit(summary)


def predict(result: FitResult, summary: pd.DataFrame, weeks: float) -> pd.DataFrame:
    """Per customer: purchases expected in the next `weeks`, p_alive, expected value per
    purchase and CLV over the horizon = purchases x value (undiscounted: a year's horizon)."""
    x = summary["frequency"].to_numpy(float)
    t_x = summary["recency"].to_numpy(float)
    T = summary["T"].to_numpy(float)
    purchases = expected_purchases(result.bgnbd, weeks, x, t_x, T)
    if result.gamma_gamma is not None and result.gamma_gamma.q > 1:
        value = expected_average_value(
            result.gamma_gamma, x, summary["monetary_value"].to_numpy(float)
        )
    else:
        value = np.full(len(summary), np.nan)
    return pd.DataFrame(
        {
            "predicted_purchases": purchases,
            "p_alive": p_alive(result.bgnbd, x, t_x, T),
            "expected_value": value,
            "clv": purchases * value,
        },
        index=summary.index,
    )
