"""Data-driven attribution: the first-order Markov chain of customer journeys and its removal
effects (Anderl, Becker, von Wangenheim and Schumann 2016; the method of the ChannelAttribution
package), computed exactly by linear algebra on the transition matrix, not by simulation.

A journey is `start -> channel -> ... -> channel -> conversion | null`. From the transition
counts, P(i -> j) = n(i, j) / n(i, *). The chain's transient states are start and the channels;
conversion and null absorb. The probability of ending in conversion from each transient state
solves x = Q x + r (r: each state's one-step probability of converting), so the whole chain is
one linear system of (channels + 1) unknowns, whatever the number of journeys.

Removing a channel sends every transition into it to null (its x is 0). Its removal effect is
the share of conversions lost: 1 - P(conversion | removed) / P(conversion). Shares are the
removal effects normalised to sum to 1. The gmv chain is the same chain with r weighted by the
mean gmv of the conversions each state leads to (ChannelAttribution draws a conversion's value
from those that followed the same state): its removal effects share out gmv.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

START = "(start)"
CONVERSION = "(conversion)"
NULL = "(null)"
ABSORBING = (CONVERSION, NULL)


@dataclass(frozen=True)
class RemovalEffects:
    """The chain's results, per channel in sorted order."""

    channels: tuple[str, ...]
    conversion_probability: float
    # 1 - P(conversion without the channel) / P(conversion)
    removal_effects: dict[str, float]
    shares: dict[str, float]
    # the same for the gmv chain (conversions weighted by their value)
    value_removal_effects: dict[str, float]
    value_shares: dict[str, float]


def journey_transitions(
    journeys: Iterable[tuple[Sequence[str], bool, float]],
) -> dict[tuple[str, str], tuple[int, float]]:
    """Transition counts of journeys (channels in order, converted, value): each pair
    (from, to) with its count and the value of the converting journeys that made it. What the
    dbt model `mart_journey_transitions` counts in SQL, for tests and small inputs."""
    counts: Counter[tuple[str, str]] = Counter()
    values: Counter[tuple[str, str]] = Counter()
    for channels, converted, value in journeys:
        states = [START, *channels, CONVERSION if converted else NULL]
        for pair in zip(states, states[1:], strict=False):
            counts[pair] += 1
            if converted:
                values[pair] += value
    return {pair: (counts[pair], float(values[pair])) for pair in sorted(counts)}


def removal_effects(
    counts: Mapping[tuple[str, str], float],
    conversion_values: Mapping[str, float] | None = None,
    channels: Iterable[str] = (),
) -> RemovalEffects:
    """Removal effects and shares from transition counts {(from, to): n}.

    `conversion_values`: the value (gmv) summed over the conversions that followed each state
    {state: value}, i.e. the value of its transitions into conversion; without it the gmv
    chain is the conversion chain. `channels`: channels to report besides those the counts
    hold (a channel absent from the journeys has a removal effect and share of 0)."""
    channels = tuple(
        sorted({s for pair in counts for s in pair if s not in (START, *ABSORBING)} | set(channels))
    )
    index = {state: i for i, state in enumerate((START, *channels))}
    size = len(index)
    flows = np.zeros((size, size))
    out = np.zeros(size)
    to_conversion = np.zeros(size)
    value_to_conversion = np.zeros(size)
    for (source, target), n in counts.items():
        if source in ABSORBING or target == START:
            raise ValueError(f"not a transition of a journey: {source} -> {target}")
        if n < 0:
            raise ValueError(f"negative count for {source} -> {target}")
        i = index[source]
        out[i] += n
        if target == CONVERSION:
            to_conversion[i] += n
        elif target != NULL:
            flows[i, index[target]] += n
    if conversion_values is not None:
        for state, value in conversion_values.items():
            value_to_conversion[index[state]] += value
    else:
        value_to_conversion = to_conversion.copy()
    # a state never left (no counts) leads nowhere: it converts with probability 0
    scale = np.divide(1.0, out, out=np.zeros(size), where=out > 0)
    q = flows * scale[:, None]
    r = to_conversion * scale
    r_value = value_to_conversion * scale

    def absorbed(removed: int | None, rewards: np.ndarray) -> float:
        # x = Q x + r, with a removed channel's x pinned to 0 (it leads to null)
        a = np.eye(size) - q
        b = rewards.copy()
        if removed is not None:
            a[removed, :] = 0.0
            a[removed, removed] = 1.0
            b[removed] = 0.0
        return float(np.linalg.solve(a, b)[index[START]])

    def effects(rewards: np.ndarray) -> tuple[float, dict[str, float], dict[str, float]]:
        total = absorbed(None, rewards)
        if total <= 0:
            zero = dict.fromkeys(channels, 0.0)
            return total, zero, dict(zero)
        # clipped at 0: a removal cannot raise conversions in theory; rounding can
        effect = {c: max(0.0, 1.0 - absorbed(index[c], rewards) / total) for c in channels}
        whole = sum(effect.values())
        share = {c: (e / whole if whole > 0 else 0.0) for c, e in effect.items()}
        return total, effect, share

    probability, effect, share = effects(r)
    _, value_effect, value_share = effects(r_value)
    return RemovalEffects(
        channels=channels,
        conversion_probability=probability,
        removal_effects=effect,
        shares=share,
        value_removal_effects=value_effect,
        value_shares=value_share,
    )


def removal_effects_of_journeys(
    journeys: Iterable[tuple[Sequence[str], bool, float]],
    channels: Iterable[str] = (),
) -> RemovalEffects:
    """Removal effects of journeys (channels in order, converted, value)."""
    transitions = journey_transitions(journeys)
    counts = {pair: n for pair, (n, _) in transitions.items()}
    values: dict[str, float] = {}
    for (source, target), (_, value) in transitions.items():
        if target == CONVERSION:
            values[source] = values.get(source, 0.0) + value
    return removal_effects(counts, values, channels)
