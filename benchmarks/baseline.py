"""The linear baseline of issue #9, the one-minute alternative every ksent model is measured
against: character 1-4-grams (char_wb, sublinear TF) + logistic regression, C = 4, one core."""


def linear_pipeline(binary: bool = False, min_df: int = 1, analyzer: str = "char_wb", ngrams=(1, 4)):
    """An unfitted scikit-learn pipeline: `.fit(texts, labels)`, then `.predict_proba(texts)`. The
    defaults are the baseline; `binary` (each n-gram counted once), `min_df` (n-grams in fewer
    training texts left out), `analyzer` and `ngrams` are variants members.py measures."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(
        TfidfVectorizer(analyzer=analyzer, ngram_range=tuple(ngrams), sublinear_tf=True, binary=binary, min_df=min_df),
        LogisticRegression(C=4, max_iter=1000),
    )
