from ksent.explain.core import *  # noqa: F403  (temporary: being split by job)
from ksent.explain.core import Explanation, analyse, explain_review, lstm_steps, plot, table  # noqa: F401
