"""The linear baseline of issue #9, the one-minute alternative every ksent model is measured
against: character 1-4-grams (char_wb, sublinear TF) + logistic regression, C = 4, one core."""


def linear_pipeline():
    """An unfitted scikit-learn pipeline: `.fit(texts, labels)`, then `.predict_proba(texts)`."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(
        TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True),
        LogisticRegression(C=4, max_iter=1000),
    )
