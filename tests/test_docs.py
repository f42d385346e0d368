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


# [text](target) and [text]: target, outside code blocks; external addresses and mail aside.
LINK = re.compile(r"\]\(([^)\s]+)\)|^\[[^\]]+\]:\s*(\S+)", re.MULTILINE)
MARKDOWN = [
    *DOCS,
    PROJECT / "datasets" / "README.md",
    *sorted((PROJECT / "bench").glob("*.md")),
]


def relative_links(doc) -> list[str]:
    text = re.sub(r"```.*?```", "", doc.read_text(), flags=re.DOTALL)
    targets = [a or b for a, b in LINK.findall(text)]
    return [t for t in targets if not re.match(r"[a-z][a-z0-9+.-]*:", t)]


@pytest.mark.parametrize("doc", MARKDOWN, ids=[d.name for d in MARKDOWN])
def test_every_relative_link_in_the_readme_and_docs_resolves(doc):
    broken = []
    for target in relative_links(doc):
        path, _, anchor = target.partition("#")
        resolved = (doc.parent / path).resolve() if path else doc  # "#x": this page's heading
        if not resolved.exists():
            broken.append(target)
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(target)

    assert not broken, f"{doc.relative_to(PROJECT)} links to what is not there: {broken}"


def anchors(doc) -> set[str]:
    """GitHub's anchors for a file's headings: lowercased, punctuation dropped, spaces to -."""
    headings = re.findall(r"^#+\s+(.+)$", doc.read_text(), re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_the_link_check_sees_links():
    assert len(relative_links(PROJECT / "README.md")) > 10
