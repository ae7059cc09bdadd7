"""How the params of a sharded optimizer are cut into one contiguous shard per rank (pure
Python, no MPI: every rank computes the same layout from the param sizes alone).

The params, each flattened in its memory order and concatenated in param order (across groups),
form one space of ``total`` elements. Rank ``r`` owns ``[bounds[r], bounds[r + 1])``, cut
near ``r * total / world`` at the nearest allowed point: a param boundary, or inside a param at
a multiple of :data:`ALIGN` elements from its start. ``ALIGN`` (16,384) is the block of the
native gradient-norm reduction, so a shard's part of a gradient norm is a run of the blocks
one process would sum (the global norm has one process's bits); it is also a multiple of the
256-element blocks of int8 state (a shard holds whole quantization blocks, with the same
scales as one process) and of every cache line.
"""

from __future__ import annotations

import bisect
from typing import NamedTuple

from .. import _native

__all__ = ["ALIGN", "Piece", "shard_bounds", "shard_layout"]

#: Inside a param, shards are cut at multiples of this many elements from its start.
ALIGN: int = int(_native.reduce_block)


class Piece(NamedTuple):
    """Elements ``[start, stop)`` (memory order) of param ``param`` (its index across groups)."""

    param: int
    start: int
    stop: int


def _snap(x: int, starts: list[int], sizes: list[int]) -> int:
    """The allowed cut nearest to ``x`` (ties to the lower one)."""
    i = bisect.bisect_right(starts, x) - 1
    while i > 0 and sizes[i] == 0:
        i -= 1
    begin, end = starts[i], starts[i] + sizes[i]
    if x >= end:
        return end
    lo = begin + (x - begin) // ALIGN * ALIGN
    hi = min(lo + ALIGN, end)
    return lo if x - lo <= hi - x else hi


def shard_bounds(sizes: list[int], world: int) -> list[int]:
    """``world + 1`` cut points in the concatenated param space, from 0 to the total."""
    if world < 1:
        raise ValueError(f"world must be >= 1, got {world}")
    starts, total = [], 0
    for n in sizes:
        starts.append(total)
        total += n
    if total == 0:
        return [0] * (world + 1)
    bounds = [0] + [_snap(r * total // world, starts, sizes) for r in range(1, world)] + [total]
    assert all(a <= b for a, b in zip(bounds, bounds[1:])), bounds
    return bounds


def shard_layout(sizes: list[int], world: int) -> list[list[Piece]]:
    """Per rank, its pieces in param order. Every element is in exactly one piece; a param of
    size 0 is one empty piece of the rank whose shard holds its position (the last rank's if at
    the end), so every param has a place where its step count lives."""
    bounds = shard_bounds(sizes, world)
    pieces: list[list[Piece]] = [[] for _ in range(world)]
    start = 0
    for i, n in enumerate(sizes):
        stop = start + n
        if n == 0:
            r = next((r for r in range(world) if start < bounds[r + 1]), world - 1)
            pieces[r].append(Piece(i, 0, 0))
            continue
        # the ranks whose shard intersects [start, stop)
        r = bisect.bisect_right(bounds, start) - 1
        while r < world and bounds[r] < stop:
            a, b = max(start, bounds[r]), min(stop, bounds[r + 1])
            if a < b:
                pieces[r].append(Piece(i, a - start, b - start))
            r += 1
        start = stop
    return pieces
