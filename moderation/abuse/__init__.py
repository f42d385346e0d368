"""The abuse model's wing: insults, threats and identity attacks, scored by a model the
newsroom owns (Perspective API, which newsrooms used for this, closes at the end of 2026).
`datasets` reads the Wikipedia talk comments and the marked toxic spans; `classifier` builds,
scores and explains (which words made the score); `evaluation` judges a model. Like spam/,
these import scikit-learn and the web side never imports them."""

# v1 - NBSVM-scaled word + character TF-IDF, logistic regression. Here, not in classifier, so
# the admin can check an artifact's format without importing scikit-learn.
MODEL_FORMAT_VERSION = 1
RETRAIN = "retrain it: python manage.py train_abuse_model (make run does when none loads)"
ARTIFACT = {"format_version": MODEL_FORMAT_VERSION, "retrain": RETRAIN}  # artifact_checked's


def active_model():
    """The active abuse.classifier.AbuseModel, or None (then nothing is held for abuse)."""
    from moderation.abuse import classifier  # the door to scikit-learn, opened at run time

    return classifier.load_active_model()


def shadow_model():
    """The abuse candidate scoring beside the active abuse model (spam.shadow), or None."""
    from moderation.abuse import classifier

    return classifier.load_shadow_model()
