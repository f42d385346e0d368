"""The spam model's wing. `versions` reads and switches the model directory (files only);
`features`, `model`, `datasets`, `evaluation` and `training` import scikit-learn. Nothing on
the web side imports those: a process loads a model when it first asks for one here, at run
time (the worker, the Akismet door; tests/test_settings.py checks the web side never does)."""


def active_model():
    """The active spam.classifier.SpamModel, or None (comments are then held)."""
    from moderation.spam import classifier  # the one door to scikit-learn, opened at run time

    return classifier.load_active_model()


def shadow_model():
    """The candidate scoring beside the active model (spam.shadow), or None."""
    from moderation.spam import classifier

    return classifier.load_shadow_model()
