"""The abuse model's wing: insults, threats and identity attacks, scored by a model the
newsroom owns (Perspective API, which newsrooms used for this, closes at the end of 2026).
`datasets` reads the Wikipedia talk comments and the marked toxic spans; `classifier` builds,
scores and explains (which words made the score); `evaluation` judges a model. Like spam/,
these import scikit-learn and the web side never imports them."""


def active_model():
    """The active abuse.classifier.AbuseModel, or None (then nothing is held for abuse)."""
    from moderation.abuse import classifier  # the door to scikit-learn, opened at run time

    return classifier.load_active_model()
