import math

import numpy as np
import pytest

from ksent.metrics import classification_report, paired_comparison, roc_auc


def test_report_hand_computed():
    y = [1, 1, 1, 0, 0, 0, 0, 1]
    p = [0.9, 0.8, 0.3, 0.6, 0.2, 0.1, 0.4, 0.7]
    r = classification_report(y, p)
    # predicted 1: idx 0,1,3,7 -> tp 3 (0,1,7), fp 1 (3); fn 1 (2); tn 3
    assert r["confusion_matrix"] == [[3, 1], [1, 3]]
    assert r["accuracy"] == 6 / 8 and r["precision"] == 3 / 4 and r["recall"] == 3 / 4 and r["f1"] == 3 / 4
    # positives 0.9 0.8 0.3 0.7 vs negatives 0.6 0.2 0.1 0.4: pairs won = 4+4+2+4 = 14 of 16
    assert r["roc_auc"] == 14 / 16
    assert r["n"] == 8


def test_auc_ties_count_half():
    assert roc_auc([0, 1], [0.5, 0.5]) == 0.5
    assert roc_auc([0, 0, 1], [0.1, 0.5, 0.5]) == 0.75
    assert math.isnan(roc_auc([1, 1], [0.2, 0.3]))


def test_paired_comparison_counts_the_rows_only_one_model_gets_right():
    y = np.array([1, 0] * 50)
    a = y.copy()
    b = y.copy()
    b[:6] = 1 - b[:6]  # B gets 6 rows wrong that A gets right
    r = paired_comparison(y, a, b)
    assert (r["only_a_right"], r["only_b_right"], r["accuracy_a"], r["accuracy_b"]) == (6, 0, 1.0, 0.94)
    assert r["a_minus_b"] == 6.0 and r["mcnemar_p"] == pytest.approx(2 / 2**6)  # exact: 6 of 6 one way
    assert 0 < r["ci95"][0] < 6 < r["ci95"][1]
    swapped = paired_comparison(y, b, a)
    assert swapped["a_minus_b"] == -6.0 and swapped["mcnemar_p"] == r["mcnemar_p"]
    assert paired_comparison(y, a, a)["mcnemar_p"] == 1.0 and paired_comparison(y, a, a)["ci95"] == [0.0, 0.0]


def test_paired_comparison_agrees_with_scipy():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 5000)
    for flips_a, flips_b in ((30, 12), (300, 240), (1000, 1000)):
        a, b = y.copy(), y.copy()
        a[rng.choice(5000, flips_a, replace=False)] ^= 1
        b[rng.choice(5000, flips_b, replace=False)] ^= 1
        r = paired_comparison(y, a, b)
        n01, n10 = r["only_a_right"], r["only_b_right"]
        if n01 + n10 < 50:
            expected = stats.binomtest(n01, n01 + n10).pvalue
        else:
            expected = stats.chi2.sf((abs(n01 - n10) - 1) ** 2 / (n01 + n10), 1)
        assert r["mcnemar_p"] == pytest.approx(expected, rel=1e-9)
        assert r["a_minus_b"] == pytest.approx((np.mean(a == y) - np.mean(b == y)) * 100)
    with pytest.raises(ValueError, match="same non-empty rows"):
        paired_comparison(y, y[:10], y)
