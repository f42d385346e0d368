"""What counts as a link in a comment: one pattern for the spam model's features and the
link-limit rule, so they agree. Kept apart from spam/features.py, which loads scikit-learn."""

import re

# A bare domain counts only from its first label: never the part of an email after "@".
URL = re.compile(
    r"(?:https?://|www\.)\S+"
    r"|(?<![@\w.-])(?:[\w-]+\.)+(?:com|net|org|ly|tk|info|biz|gl)\b\S*",
    re.I,
)
