"""The attribution game's Shapley values: the closed form with Gauss-Legendre quadrature equals the
definition over every coalition, and has the properties the compensation paper relies on."""
import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from licensing.shapley import explained, largest_remainder, shapley_values

scores_lists = st.lists(st.floats(min_value=0, max_value=1, allow_nan=False), min_size=1, max_size=10)


def worth(scores, coalition):
    return 1 - math.prod(1 - scores[i] for i in coalition)


def brute_force(scores):
    n = len(scores)
    values = []
    for i in range(n):
        others = [j for j in range(n) if j != i]
        total = 0.0
        for size in range(n):
            weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
            for coalition in itertools.combinations(others, size):
                total += weight * (worth(scores, coalition + (i,)) - worth(scores, coalition))
        values.append(total)
    return values


@settings(max_examples=200, deadline=None)
@given(scores_lists)
def test_the_closed_form_equals_the_definition_over_every_coalition(scores):
    assert np.allclose(shapley_values([scores])[0], brute_force(scores), rtol=0, atol=1e-12)


@settings(max_examples=200, deadline=None)
@given(scores_lists)
def test_the_values_add_up_to_what_the_coalition_of_all_explains(scores):
    assert abs(shapley_values([scores])[0].sum() - explained([scores])[0]) < 1e-12


@settings(max_examples=100, deadline=None)
@given(st.floats(min_value=0, max_value=1), scores_lists)
def test_equal_scores_get_equal_values_and_a_zero_score_gets_nothing(score, others):
    values = shapley_values([[score, score, 0.0, *others]])[0]
    assert abs(values[0] - values[1]) < 1e-12
    assert values[2] == 0


@settings(max_examples=100, deadline=None)
@given(scores_lists, st.floats(min_value=0, max_value=1))
def test_a_higher_own_score_never_lowers_ones_value(scores, higher):
    raised = [max(scores[0], higher), *scores[1:]]
    assert shapley_values([raised])[0][0] >= shapley_values([scores])[0][0] - 1e-12


def test_outputs_with_fewer_players_pad_with_null_players_that_change_nothing():
    padded = shapley_values([[0.62, 0.3, 0.0, 0.0], [0.9, 0.0, 0.0, 0.0]])
    assert np.allclose(padded[0, :2], shapley_values([[0.62, 0.3]])[0], atol=1e-15)
    assert np.allclose(padded[1], [0.9, 0, 0, 0])


def test_two_hundred_players_stay_exact_where_dividing_out_a_factor_would_not():
    scores = np.full(200, 0.999)
    scores[0] = 1.0
    values = shapley_values([scores])[0]
    assert abs(values.sum() - explained([scores])[0]) < 1e-12
    assert values[0] > values[1] > 0


def test_scores_outside_zero_to_one_are_refused():
    with pytest.raises(ValueError, match="from 0 to 1"):
        shapley_values([[0.5, 1.2]])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=10**7, allow_nan=False), min_size=1, max_size=50))
def test_largest_remainder_cents_add_up_exactly_and_never_stray_a_cent_from_the_share(amounts):
    total = round(sum(amounts))
    scaled = [a * total / sum(amounts) for a in amounts] if sum(amounts) else [0.0] * len(amounts)
    total = round(sum(scaled))
    cents = largest_remainder(scaled, total)
    assert int(cents.sum()) == total
    assert all(abs(c - a) < 1 + 1e-6 for c, a in zip(cents, scaled))


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=1, max_value=240), st.floats(min_value=0, max_value=1), st.integers(0, 2 ** 32 - 1))
def test_dividing_out_ones_own_factor_agrees_with_products_of_all_the_others(players, low, seed):
    """Hundreds of scores near 1 underflow the full product at the nodes near u = 1: there the values come
    from products of the others, and everywhere they agree with taking those products throughout."""
    from licensing.shapley import _leave_one_out_by_prefixes, _nodes

    scores = np.random.default_rng(seed).uniform(low, 1, (3, players))
    u, w = _nodes(players)
    factors = 1.0 - u[:, None, None] * scores[None, :, :]
    by_prefixes = np.stack([_leave_one_out_by_prefixes(node) for node in factors])
    reference = scores * np.tensordot(w, by_prefixes, axes=(0, 0))
    assert np.allclose(shapley_values(scores), reference, rtol=1e-12, atol=1e-15)
