"""Growable struct-of-arrays store of people (customers, prospects, marketplace guests)."""

from __future__ import annotations

import numpy as np

from .io import NAT, NEVER

# field -> (dtype, fill value for new rows)
FIELDS: dict[str, tuple[str, object]] = {
    "born": ("int32", 0),  # day index the person first appeared (negative: before start)
    "reg_t": ("int64", NAT),  # CRM registration time; NAT = no customer_id yet
    "home": ("int8", 0),  # home SDK platform (prospects only browse there)
    "geo": ("int16", 0),
    "gender": ("int8", 2),
    "byear": ("int16", 1990),
    "reg_ch": ("int8", 0),
    "tier": ("int8", 0),
    "spend": ("int32", 0),  # cumulative paid yuan, drives member tier
    "wecom": ("bool", False),
    "optout": ("bool", False),
    "deleted": ("bool", False),
    "emitted": ("bool", False),  # has appeared in the customers change feed
    "lt_t": ("int64", NAT),  # last attributable touch (time, kind, campaign)
    "lt_k": ("int8", 0),
    "lt_c": ("int32", -1),
    "next_t": ("int64", NAT),  # next planned purchase; NAT = churned / not a buyer
    "cycle": ("float32", 40.0),  # personal mean repurchase gap, days
    "mkt_pref": ("float32", 0.5),  # probability a purchase happens on a marketplace
    "mkt_store": ("int8", 0),
    "member": ("bool", False),  # marketplace account bound to the CRM id
    "referrer": ("int32", -1),
    "ret_p": ("float32", 0.0),  # daily return probability of an unregistered prospect
    "heavy": ("bool", False),  # in the CRM segment messaged every day (fatigue)
    "first_paid": ("int64", NEVER),  # truth: first paid order (with customer_id) as loaded
}


class Persons:
    def __init__(self, capacity: int) -> None:
        self.n = 0
        self.cap = max(capacity, 1024)
        for name, (dt, fill) in FIELDS.items():
            setattr(self, name, np.full(self.cap, fill, dtype=dt))

    def _grow(self, need: int) -> None:
        if need <= self.cap:
            return
        new_cap = max(need, int(self.cap * 1.5))
        for name, (dt, fill) in FIELDS.items():
            old = getattr(self, name)
            arr = np.full(new_cap, fill, dtype=dt)
            arr[: self.n] = old[: self.n]
            setattr(self, name, arr)
        self.cap = new_cap

    def add(self, k: int, **values: object) -> np.ndarray:
        """Appends k people; returns their indices. Unset fields take their fill value."""
        self._grow(self.n + k)
        idx = np.arange(self.n, self.n + k, dtype=np.int64)
        self.n += k
        for name, v in values.items():
            getattr(self, name)[idx] = v
        return idx

    def registered(self) -> np.ndarray:
        return self.reg_t[: self.n] != NAT
