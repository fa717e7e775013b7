"""Exact Shapley values of the attribution game, for any number of contributors, without sampling.

Per generated output, the players are the contributors its pipeline scored, each with a score
s_i in [0, 1] (for instance the CLIP similarity of the output to the contributor's style). The
worth of a coalition S is the chance that the output draws on at least one of their styles:

    v(S) = 1 - prod_{i in S} (1 - s_i)

Its Shapley values have a closed form,

    phi_i = s_i * integral_0^1 prod_{j != i} (1 - u s_j) du,

whose integrand is a polynomial of degree n - 1 in u, so Gauss-Legendre quadrature with
ceil(n / 2) nodes integrates it exactly. The leave-one-out products are the full product divided
by each one's own factor, except where the full product underflowed; there they come from prefix
and suffix products. Efficiency holds: the phi_i add up to v(N).
"""
import math
from functools import lru_cache

import numpy as np


def _nodes(n):
    """Gauss-Legendre nodes and weights on [0, 1], exact for polynomials of degree up to n - 1."""
    return _nodes_of_count(max(1, math.ceil(n / 2)))


@lru_cache(maxsize=256)
def _nodes_of_count(count):
    # Found once per count: a report is split in thousands of chunks, and finding 100 nodes (the eigenvalues
    # of a 100 x 100 matrix) took longer than the chunk's own products.
    points, weights = np.polynomial.legendre.leggauss(count)
    u, w = (points + 1) / 2, weights / 2
    u.flags.writeable = w.flags.writeable = False
    return u, w


def shapley_values(scores):
    """Shapley values of every player of every output.

    `scores` is an (outputs x players) array; an output with fewer players pads its row with
    zeros, which are null players (phi = 0) and change no one else's value. Returns an array of
    the same shape."""
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 2:
        raise ValueError("scores must be a 2-d array: one row per output, one column per player")
    if s.size == 0:
        return np.zeros_like(s)
    if np.any(s < 0) or np.any(s > 1) or not np.all(np.isfinite(s)):
        raise ValueError("every score must be a number from 0 to 1")
    u, w = _nodes(s.shape[1])
    # factors[k, o, j] = 1 - u_k s_oj, never 0: the nodes lie strictly inside (0, 1). Computed in place:
    # at hundreds of players these arrays are the whole cost, and fewer of them stay in the cache.
    factors = np.multiply.outer(u, s)
    np.subtract(1.0, factors, out=factors)
    full = np.prod(factors, axis=2, keepdims=True)
    # Dividing the full product by one's own factor is exact to a few ulps: the quotient divides out the very
    # float that was multiplied in. Only a product that underflowed (hundreds of scores near 1, at nodes near
    # u = 1) has lost its digits; those (node, output) rows take prefix and suffix products instead.
    lost = full[:, :, 0] < _UNDERFLOW
    others = _leave_one_out_by_prefixes(factors[lost]) if lost.any() else None
    leave_one_out = np.divide(full, factors, out=factors)
    if others is not None:
        leave_one_out[lost] = others
    return s * np.tensordot(w, leave_one_out, axes=(0, 0))


_UNDERFLOW = 1e-280  # far above the smallest normal float (2.2e-308), so the product kept all its digits


def _leave_one_out_by_prefixes(factors):
    """Per row of `factors`, the product of all the others of each entry, without dividing."""
    ones = np.ones((len(factors), 1))
    before = np.cumprod(np.concatenate([ones, factors[:, :-1]], axis=1), axis=1)
    after = np.cumprod(np.concatenate([ones, factors[:, :0:-1]], axis=1), axis=1)[:, ::-1]
    return before * after


def explained(scores):
    """v(N) per output: the share of its pool the scored contributors explain together."""
    s = np.asarray(scores, dtype=np.float64)
    return 1.0 - np.prod(1.0 - s, axis=1)


def largest_remainder(amounts, total_cents):
    """Whole cents for real-valued amounts (in cents) that add up to `total_cents` exactly: each gets
    the floor of its amount, and the cents left go one each to the largest remainders (ties to the
    earlier entry). Amounts must be non-negative."""
    exact = np.asarray(amounts, dtype=np.float64)
    if exact.size == 0:
        return np.zeros(0, dtype=np.int64)
    floors = np.floor(exact).astype(np.int64)
    left = int(total_cents) - int(floors.sum())
    if left < 0 or left > exact.size:
        raise ValueError(f"the amounts do not add up to {total_cents} cents")
    order = np.lexsort((np.arange(exact.size), -(exact - floors)))
    floors[order[:left]] += 1
    return floors
