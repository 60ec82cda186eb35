"""One way to derive a seed from several numbers: an epoch's batch order is drawn from (seed, epoch) and a
step's dropout from (seed, epoch, step, process), so a run resumed at any step draws what the uninterrupted
run drew there."""

from __future__ import annotations

PRIMES = (1_000_003, 100_003, 101)  # one per number mixed in after the seed


def mixed_seed(seed: int, *parts: int) -> int:
    """``((seed * 1_000_003 + parts[0]) * 100_003 + parts[1]) * 101 + parts[2]``, as far as ``parts`` go."""
    value = int(seed)
    for prime, part in zip(PRIMES, parts, strict=False):
        value = value * prime + int(part)
    return value
