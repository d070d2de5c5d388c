"""The one way a step takes a seeded sample of its rows (the texts t-SNE is fitted on, the baseline's training texts,
the training dynamics kept): the same inputs and seed give the same rows."""

from __future__ import annotations

import numpy as np


def seeded_sample(n: int, size: int, seed: int) -> np.ndarray:
    """Positions 0 to n - 1, in order: all of them up to `size` (0: no limit), else a seeded sample of `size`."""
    if size <= 0 or n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))
