import math

from ksent.metrics import classification_report, roc_auc


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
