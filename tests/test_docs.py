"""The docs name tests and scripts as proof of what they promise: each one named must exist."""

import re

import pytest

from harness.stack import PROJECT

DOCS = [PROJECT / "README.md", *sorted((PROJECT / "docs").glob("*.md"))]
# `tests/test_api.py::test_x`, then `::test_y` for another test of the same file.
REFERENCE = re.compile(r"`((?:tests|bench|harness)/[\w/]+\.py)?(?:::(\w+))?`")


def named_in(doc) -> list[tuple[str, str | None]]:
    named, current = [], None
    for path, test in REFERENCE.findall(doc.read_text()):
        current = path or current
        if current and (path or test):
            named.append((current, test or None))
    return named


@pytest.mark.parametrize("doc", DOCS, ids=[d.name for d in DOCS])
def test_every_test_and_script_the_docs_name_exists(doc):
    missing = []
    for path, test in named_in(doc):
        source = PROJECT / path
        if not source.is_file():
            missing.append(path)
        elif test and not re.search(rf"^def {test}\(", source.read_text(), re.MULTILINE):
            missing.append(f"{path}::{test}")

    assert not missing, f"{doc.name} names what does not exist: {missing}"


def test_the_docs_name_tests_at_all():
    # A changed format would make the test above pass on nothing.
    assert len(named_in(PROJECT / "docs" / "promises.md")) > 40
