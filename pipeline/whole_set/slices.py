"""Slice discovery: conjunctions of simple facts about the texts ("long", "has the word boring") under which a
classifier errs far more often than overall, found in the manner of SliceLine (Sagadeeva and Boehm, SIGMOD 2021).

A slice is a conjunction of 1 to `max_level` predicates, never two of the same feature, with at least `min_size`
rows. Its score is errors - size * base_rate: the errors it holds beyond what the overall error rate predicts, so a
large slice with a moderately raised rate can beat a tiny one with a high rate. The search is exact: it returns
what enumerating every conjunction would, and is made fast by SliceLine's pruning (a slice cannot hold more errors
than any of its parents, so most children can be ruled out before they are counted) and by counting with matrix
products: the number of rows two predicates share is an entry of X^T X.

Scores are compared exactly, as the integer errors * N - size * total_errors (N times the score), so that ties and
the sign of a score never depend on rounding.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

CHUNK_ROWS = 65_536  # rows per matrix product: memory stays bounded whatever N, and float32 counts stay exact
BITS_BATCH_BYTES = 32 << 20  # memory for one batch of candidates counted by AND and popcount
COLUMNS = [
    "rank",
    "level",
    "predicates",
    "description",
    "size",
    "errors",
    "error_rate",
    "ci_low",
    "ci_high",
    "mean_loss",
    "score",
    "rows",
]

# Rough seconds per unit of work, to choose per group of candidates between a Gram matrix over the rows of their
# shared prefix and AND + popcount of packed bits. Either gives the same counts; only the time differs.
_SECONDS_PER_ROW_UNPACKED = 2e-9
_SECONDS_PER_BYTE_GATHERED = 1e-9
_SECONDS_PER_CELL = 1.3e-11  # one row's share of one cell of a Gram matrix
_SECONDS_PER_WORD_ANDED = 3.5e-9
# The fixed cost of one matrix product: small where the cores are free, but a multi-threaded BLAS waiting for cores
# that other processes hold can take milliseconds, so small groups go to AND + popcount, which never waits.
_SECONDS_PER_PRODUCT = 1e-3


@dataclass(frozen=True)
class Predicate:
    """A yes/no fact about each row. Predicates of one `feature` (e.g. bins of one length) are never combined."""

    feature: str
    name: str  # machine-readable and unique, e.g. "length_tokens in [312, 1240]" or "word:boring"
    text: str  # in words, for a page, e.g. 'has the word "boring"'
    mask: np.ndarray = field(repr=False, compare=False)  # bool, one per row


def wilson(successes: ArrayLike, n: ArrayLike, z: float = 1.96) -> tuple[float, float] | tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a proportion: unlike the normal approximation it stays inside [0, 1] and is sensible
    for small slices and rates near 0 or 1. Vectorised; n = 0 gives (0, 1)."""
    k = np.asarray(successes, dtype=float)
    m = np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / m
        z2 = z * z
        denominator = 1 + z2 / m
        centre = (p + z2 / (2 * m)) / denominator
        half = z * np.sqrt(p * (1 - p) / m + z2 / (4 * m * m)) / denominator
        low = np.where(m > 0, np.clip(centre - half, 0.0, 1.0), 0.0)
        high = np.where(m > 0, np.clip(centre + half, 0.0, 1.0), 1.0)
    if low.ndim == 0:
        return float(low), float(high)
    return low, high


def search(
    predicates: list[Predicate],
    errors: np.ndarray,
    loss: np.ndarray,
    min_size: int,
    max_level: int = 3,
    top_k: int = 20,
) -> pd.DataFrame:
    """The `top_k` slices with the highest score > 0, best first; ties go to fewer predicates, then to the names.

    A conjunction is left out when its error rate is not strictly above that of every sub-conjunction with one
    predicate fewer (the extra predicate adds no focus); in particular when it holds the same rows as one of them.
    Predicates within a slice are listed in the order of `predicates`.
    """
    err = _errors(errors)
    rows = len(err)
    loss = np.asarray(loss, dtype=float)
    if loss.shape != (rows,):
        raise ValueError(f"loss has shape {loss.shape}, expected ({rows},)")
    masks = [_mask(predicate, rows) for predicate in predicates]
    names = [predicate.name for predicate in predicates]
    if len(set(names)) != len(names):
        raise ValueError("predicate names must be unique")
    if max_level < 1:
        raise ValueError("max_level must be at least 1")
    if not predicates or rows == 0 or top_k <= 0:
        return pd.DataFrame(columns=COLUMNS)
    codes = pd.factorize(pd.Series([predicate.feature for predicate in predicates]))[0]
    max_level = min(max_level, int(codes.max()) + 1)  # no conjunction can be longer than the number of features
    found = _Search(masks, codes, names, err, max(int(min_size), 1), top_k).run(max_level)
    return _table(found, predicates, masks, err, loss)


def _errors(errors: np.ndarray) -> np.ndarray:
    array = np.asarray(errors)
    if array.ndim != 1:
        raise ValueError("errors must be one-dimensional")
    if array.dtype != bool:
        if not np.isin(array, (0, 1)).all():
            raise ValueError("errors must be 0 or 1 (or bool)")
        array = array.astype(bool)
    return array


def _mask(predicate: Predicate, rows: int) -> np.ndarray:
    mask = np.asarray(predicate.mask)
    if mask.shape != (rows,):
        raise ValueError(f"mask of {predicate.name!r} has shape {mask.shape}, expected ({rows},)")
    return mask if mask.dtype == bool else mask.astype(bool)


@dataclass
class _Level:
    """Slices of one level that may still have children worth counting, sorted by key (their predicates as
    digits in base P)."""

    keys: np.ndarray  # int64
    members: np.ndarray  # n x level, eligible predicate indices, ascending within a row
    sizes: np.ndarray  # int64
    errors: np.ndarray  # int64


class _Pool:
    """The best slices found so far, in the result's order, and the exact score a newcomer has to reach."""

    def __init__(self, top_k: int, names: list[str]):
        self.top_k = top_k
        self.names = names
        self.entries: list[tuple] = []  # (-numerator, level, names, predicates, size, errors)

    @property
    def floor(self) -> int:
        """Numerator of the top_k-th score, or 0 while fewer than top_k slices are known."""
        return -self.entries[-1][0] if len(self.entries) >= self.top_k else 0

    def offer(self, members: np.ndarray, sizes: np.ndarray, errors: np.ndarray, numerators: np.ndarray) -> None:
        """Merge valid slices (members as original predicate indices); a first cut by score in numpy, so that only
        a handful become Python tuples."""
        keep = numerators >= max(self.floor, 1)
        if keep.sum() > self.top_k:
            kth = np.partition(numerators[keep], -self.top_k)[-self.top_k]
            keep &= numerators >= kth
        for row in np.flatnonzero(keep):
            chosen = tuple(int(i) for i in members[row])
            self.entries.append(
                (
                    -int(numerators[row]),
                    len(chosen),
                    tuple(self.names[i] for i in chosen),
                    chosen,
                    int(sizes[row]),
                    int(errors[row]),
                )
            )
        self.entries.sort()
        del self.entries[self.top_k :]


class _Search:
    """State of one search: the predicates that can take part in pairs as X^T (a P x N bool matrix, for Gram
    matrices) and as packed bits (for AND + popcount), the exact score arithmetic, and the pool of the best slices."""

    def __init__(self, masks: list[np.ndarray], codes: np.ndarray, names: list[str], err, min_size: int, top_k: int):
        self.masks = masks
        self.codes = codes
        self.err = err
        self.n = len(err)
        self.total = int(err.sum())
        self.min_size = min_size
        self.pool = _Pool(top_k, names)
        self.next_level: list[tuple] = []  # survivors of the level being counted, in parts
        self.pending: list[tuple] = []  # candidates set aside for AND + popcount
        self.pending_count = 0
        self.max_level = 1

    def numerator(self, errors: np.ndarray, sizes: np.ndarray) -> np.ndarray:
        """N times the score, exactly."""
        return errors * self.n - sizes * self.total

    def bound(self, errors: np.ndarray) -> np.ndarray:
        """N times the highest score a child of a slice with these errors could have: it holds at most as many
        errors, and at least max(min_size, its errors) rows. Increasing in errors, so the bound of a child from its
        parents is the bound at their fewest errors."""
        return errors * self.n - np.maximum(errors, self.min_size) * self.total

    def run(self, max_level: int) -> list[tuple]:
        self.max_level = max_level
        level = self.level_one()
        for depth in range(2, max_level + 1):
            if level is None or len(level.keys) < 2:
                break
            level = self.level_two(level) if depth == 2 else self.extend(level, depth)
        return self.pool.entries

    def level_one(self) -> _Level | None:
        """Sizes and errors of every predicate in one pass: popcounts of the packed masks, alone and ANDed with the
        packed errors. The ones that can take part in a pair become the rows of X^T."""
        packed = _pack(self.masks, self.n)
        self.packed_err = _pack([self.err], self.n)[0]
        sizes = np.bitwise_count(packed).sum(axis=1, dtype=np.int64)
        errors = np.bitwise_count(packed & self.packed_err).sum(axis=1, dtype=np.int64)
        numerators = self.numerator(errors, sizes)
        large = sizes >= self.min_size
        everything = np.arange(len(self.masks))[:, None]
        self.pool.offer(everything[large], sizes[large], errors[large], numerators[large])
        if self.max_level < 2:
            return None
        eligible = np.flatnonzero(large & (self.bound(errors) >= self.pool.floor + 1))
        self.eligible = eligible
        self.p = len(eligible)
        if (self.p + 1) ** self.max_level >= 2**62:
            raise ValueError(f"max_level {self.max_level} is too high for {self.p} predicates")
        self.feature = self.codes[eligible]
        self.packed = packed[eligible]
        self.xt = np.stack([self.masks[i] for i in eligible]) if self.p else np.zeros((0, self.n), bool)
        self.wrong = np.flatnonzero(self.err)
        self.right = np.flatnonzero(~self.err)
        return _Level(np.arange(self.p, dtype=np.int64), np.arange(self.p)[:, None], sizes[eligible], errors[eligible])

    def level_two(self, singles: _Level) -> _Level | None:
        """Every pair at once: sizes are X^T X and errors X_e^T X_e over the rows with an error."""
        sizes, errors = self.gram(None, np.arange(self.p))
        first, second = np.triu_indices(self.p, 1)
        apart = self.feature[first] != self.feature[second]
        first, second = first[apart], second[apart]
        members = np.column_stack([first, second])
        self.finish(members, members, singles, sizes[first, second], errors[first, second])
        return self.survivors(2)

    def extend(self, parents: _Level, depth: int) -> _Level | None:
        """Children of depth `depth`: Apriori's join of two parents that share all but their last predicate, kept
        only where every parent survived; counted group by group (one group per shared prefix), best bound first."""
        prefixes = parents.keys // self.p
        starts = np.flatnonzero(np.r_[True, prefixes[1:] != prefixes[:-1]])
        ends = np.r_[starts[1:], len(prefixes)]
        groups = []
        for start, end in zip(starts, ends, strict=True):
            if end - start >= 2:  # a child needs two members; its bound is at most that of the second best
                second = np.partition(parents.errors[start:end], -2)[-2]
                groups.append((int(self.bound(second)), int(start), int(end)))
        groups.sort(key=lambda group: -group[0])
        for group_bound, start, end in groups:
            if group_bound < max(self.pool.floor, 1):
                break
            self.group(parents, depth, start, end)
        self.flush(parents)
        return self.survivors(depth)

    def group(self, parents: _Level, depth: int, start: int, end: int) -> None:
        """The children of one prefix: pairs of its members, with every parent found and a bound that can still
        reach the pool."""
        tails = parents.members[start:end, -1]
        prefix = parents.members[start, :-1]
        left, right = _pairs(end - start)
        keep = self.feature[tails[left]] != self.feature[tails[right]]  # (b, c) would not be found; skip the lookup
        left, right = left[keep], right[keep]
        b, c = tails[left], tails[right]
        rows = [start + left, start + right]  # the parents without the last, and without the one before
        found = np.ones(len(b), dtype=bool)
        for position in range(len(prefix)):
            rest = np.delete(prefix, position)
            key = (_key(rest, self.p) * self.p + b) * self.p + c
            at = np.minimum(np.searchsorted(parents.keys, key), len(parents.keys) - 1)
            found &= parents.keys[at] == key
            rows.append(at)
        parent_rows = np.column_stack(rows)
        bounds = self.bound(parents.errors[parent_rows].min(axis=1))
        keep = found & (bounds >= max(self.pool.floor, 1))
        if not keep.any():
            return
        parent_rows, b, c = parent_rows[keep], b[keep], c[keep]
        members = np.column_stack([np.broadcast_to(prefix, (len(b), len(prefix))), b, c])
        columns = np.union1d(b, c)
        estimate = int(parents.sizes[start:end].max())  # the prefix has at least as many rows as any member
        gram_seconds = (
            self.n * _SECONDS_PER_ROW_UNPACKED
            + estimate * (self.p * _SECONDS_PER_BYTE_GATHERED + len(columns) ** 2 * _SECONDS_PER_CELL)
            + 2 * -(-estimate // CHUNK_ROWS) * _SECONDS_PER_PRODUCT
        )
        bits_seconds = len(b) * self.packed.shape[1] * depth * _SECONDS_PER_WORD_ANDED
        if bits_seconds < gram_seconds:
            self.pending.append((members, parent_rows))
            self.pending_count += len(members)
            if self.pending_count * self.packed.shape[1] * 8 >= BITS_BATCH_BYTES:
                self.flush(parents)
            return
        sizes, errors = self.gram(prefix, columns)
        i, j = np.searchsorted(columns, b), np.searchsorted(columns, c)
        self.finish(members, parent_rows, parents, sizes[i, j], errors[i, j])

    def flush(self, parents: _Level) -> None:
        """Count the candidates set aside for AND + popcount, in batches of bounded memory."""
        if not self.pending:
            return
        members = np.concatenate([m for m, _ in self.pending])
        parent_rows = np.concatenate([r for _, r in self.pending])
        self.pending, self.pending_count = [], 0
        keep = self.bound(parents.errors[parent_rows].min(axis=1)) >= max(self.pool.floor, 1)
        members, parent_rows = members[keep], parent_rows[keep]
        batch = max(1, BITS_BATCH_BYTES // (self.packed.shape[1] * 8))
        for start in range(0, len(members), batch):
            chunk = members[start : start + batch]
            both = self.packed[chunk[:, 0]]
            for column in range(1, chunk.shape[1]):
                both &= self.packed[chunk[:, column]]
            sizes = np.bitwise_count(both).sum(axis=1, dtype=np.int64)
            both &= self.packed_err
            errors = np.bitwise_count(both).sum(axis=1, dtype=np.int64)
            self.finish(chunk, parent_rows[start : start + batch], parents, sizes, errors)

    def gram(self, prefix: np.ndarray | None, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows shared by each pair of `columns` within the rows of `prefix` (all rows when None), and errors among
        them: X^T X and X^T (X * err), summed as A_e^T A_e + A_c^T A_c over the rows with and without an error, so
        every row is multiplied once. In chunks of rows as float32 (exact: a chunk's counts are below 2^24)."""
        wrong, right = self.wrong, self.right
        if prefix is not None:
            both = self.packed[prefix[0]].copy()
            for i in prefix[1:]:
                both &= self.packed[i]
            inside = np.unpackbits(both.view(np.uint8), count=self.n, bitorder="little").view(bool)
            wrong, right = wrong[inside[wrong]], right[inside[right]]
        # Picking the rows of `columns` out of every gathered chunk costs more than it saves when nearly all are used.
        select = (self.p**2 - len(columns) ** 2) * _SECONDS_PER_CELL > self.p * _SECONDS_PER_BYTE_GATHERED
        counts = []
        for index in (wrong, right):
            total = np.zeros((len(columns), len(columns)) if select else (self.p, self.p))
            for start in range(0, len(index), CHUNK_ROWS):
                at = np.take(self.xt, index[start : start + CHUNK_ROWS], axis=1)
                at = (at[columns] if select else at).astype(np.float32)
                total += at @ at.T
            counts.append(np.rint(total if select else total[np.ix_(columns, columns)]).astype(np.int64))
        return counts[0] + counts[1], counts[0]

    def finish(self, members: np.ndarray, parent_rows: np.ndarray, parents: _Level, sizes, errors) -> None:
        """Keep the valid slices (large enough, score > 0, error rate strictly above every parent's) in the pool,
        and the ones whose children may still count for the next level."""
        numerators = self.numerator(errors, sizes)
        parent_sizes, parent_errors = parents.sizes[parent_rows], parents.errors[parent_rows]
        sharper = (errors[:, None] * parent_sizes > parent_errors * sizes[:, None]).all(axis=1)
        valid = (sizes >= self.min_size) & (numerators > 0) & sharper
        self.pool.offer(self.eligible[members[valid]], sizes[valid], errors[valid], numerators[valid])
        if members.shape[1] == self.max_level:
            return
        promising = (sizes >= self.min_size) & (self.bound(errors) >= self.pool.floor + 1)
        if promising.any():
            self.next_level.append((members[promising], sizes[promising], errors[promising]))

    def survivors(self, depth: int) -> _Level | None:
        """Slices of this level whose children may still reach the pool, as the final pool of the level sees it."""
        if depth == self.max_level:
            return None
        parts, self.next_level = self.next_level, []
        if not parts:
            empty = np.zeros(0, np.int64)
            return _Level(empty, np.zeros((0, depth), np.int64), empty, empty)
        members = np.concatenate([m for m, _, _ in parts])
        sizes = np.concatenate([s for _, s, _ in parts])
        errors = np.concatenate([e for _, _, e in parts])
        keep = self.bound(errors) >= self.pool.floor + 1
        members, sizes, errors = members[keep], sizes[keep], errors[keep]
        keys = _key(members, self.p)
        order = np.argsort(keys, kind="stable")
        return _Level(keys[order], members[order], sizes[order], errors[order])


@functools.cache
def _pairs(count: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions (i, j), i < j, of every pair among `count` members."""
    return np.triu_indices(count, 1)


def _pack(masks: list[np.ndarray], rows: int) -> np.ndarray:
    """Masks as rows of 64-bit words, bit r of a row being row r of the mask; the padding bits are 0."""
    packed = np.zeros((len(masks), -(-rows // 64) * 8), dtype=np.uint8)
    for row, mask in enumerate(masks):
        bits = np.packbits(mask, bitorder="little")
        packed[row, : len(bits)] = bits
    return packed.view(np.uint64)


def _key(members: np.ndarray, base: int):
    """Predicates (ascending) as the digits of one integer in base `base`: sorted keys sort slices lexicographically."""
    members = np.asarray(members, dtype=np.int64)
    key = np.zeros(members.shape[:-1], dtype=np.int64)
    for column in range(members.shape[-1]):
        key = key * base + members[..., column]
    return key


def _table(found: list[tuple], predicates: list[Predicate], masks, err: np.ndarray, loss: np.ndarray) -> pd.DataFrame:
    """The result, one row per slice, with the rows themselves and the Wilson interval of the error rate."""
    if not found:
        return pd.DataFrame(columns=COLUMNS)
    base_rate = float(err.mean())
    records = []
    for rank, (_, level, names, chosen, size, errors) in enumerate(found, start=1):
        inside = masks[chosen[0]].copy()
        for i in chosen[1:]:
            inside &= masks[i]
        rows = np.flatnonzero(inside).astype(np.int64)
        low, high = wilson(errors, size)
        records.append(
            {
                "rank": rank,
                "level": level,
                "predicates": list(names),
                "description": " and ".join(predicates[i].text for i in chosen),
                "size": size,
                "errors": errors,
                "error_rate": errors / size,
                "ci_low": low,
                "ci_high": high,
                "mean_loss": float(loss[rows].mean()),
                "score": errors - size * base_rate,
                "rows": rows,
            }
        )
    return pd.DataFrame.from_records(records, columns=COLUMNS)
