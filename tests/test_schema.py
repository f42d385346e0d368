"""The OpenAPI schema builds cleanly, documents no private field in any output, and the docs
page loads its assets from this site, not a CDN."""

import re

import pytest
import yaml
from django.core.management import call_command

from harness.stack import PROJECT

PRIVATE_FIELDS = {"author_email", "ip_address", "user_agent"}


@pytest.fixture(scope="module")
def schema(tmp_path_factory):
    path = tmp_path_factory.mktemp("schema") / "schema.yml"
    # --fail-on-warn turns any drf-spectacular warning into a failure.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    return yaml.safe_load(path.read_text())


def test_every_public_endpoint_is_documented(schema):
    assert set(schema["paths"]) == {
        "/api/articles/",
        "/api/articles/{slug}/",
        "/api/articles/{slug}/comments/",
        "/api/articles/{slug}/comment-form/",
        "/api/articles/{slug}/comment-draft/",
        "/api/comments/{comment_id}/",
        "/api/comments/{comment_id}/report/",
    }
    comments = schema["paths"]["/api/articles/{slug}/comments/"]
    assert "202" in comments["post"]["responses"]
    assert {"400", "403", "404"} <= set(comments["post"]["responses"])


def test_only_the_input_mentions_private_fields(schema):
    components = schema["components"]["schemas"]
    for name, component in components.items():
        fields = set(component.get("properties", {}))
        if name == "CommentInput":
            assert fields & PRIVATE_FIELDS == {"author_email"}
        else:
            assert not fields & PRIVATE_FIELDS, name


def test_the_comment_thread_nests_replies(schema):
    public = schema["components"]["schemas"]["PublicComment"]
    assert public["properties"]["replies"]["items"]["$ref"].endswith("/PublicComment")


@pytest.mark.django_db
def test_the_docs_page_loads_no_third_party_assets(client):
    page = client.get("/api/docs/").content.decode()

    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets, "the page references its Swagger UI assets"
    assert all(a.startswith("/") for a in assets), assets
    assert "swagger-ui" in page


def test_the_schema_is_the_checked_in_contract(tmp_path):
    """docs/openapi.yaml is the API's contract: a change to it shows in review. After a
    deliberate change: python manage.py spectacular --file docs/openapi.yaml"""
    generated = tmp_path / "openapi.yaml"
    call_command("spectacular", "--file", str(generated))

    checked_in = (PROJECT / "docs" / "openapi.yaml").read_text()
    assert generated.read_text() == checked_in, "the API changed: regenerate docs/openapi.yaml"
