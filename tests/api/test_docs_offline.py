"""/docs and /redoc load everything from the app itself: they work on a machine with no internet."""

from __future__ import annotations

import re

import pytest


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_every_asset_of_the_docs_pages_is_served_by_the_app(client, path):
    r = client.get(path)
    assert r.status_code == 200
    refs = re.findall(r'(?:src|href)="([^"]+)"', r.text)
    assert len(refs) >= 2
    for ref in refs:
        assert ref.startswith("/"), f"{path} loads {ref} from another origin"
        asset = client.get(ref)
        assert asset.status_code == 200, f"{ref} answered {asset.status_code}"
        assert len(asset.content) > 100
    # No inline script: the bootstrap is a file, so the strict script policy holds.
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", r.text) == []


def test_the_openapi_document_the_pages_name_exists(client):
    body = client.get("/docs").text
    url = re.search(r'data-openapi="([^"]+)"', body).group(1)
    spec = client.get(url).json()
    assert spec["info"]["title"] == "Watchkeeper" and len(spec["paths"]) > 20


def test_every_reference_in_the_openapi_document_resolves(client):
    """ReDoc refuses the whole document over one dangling `$ref` (a hand-written request body
    schema once carried pydantic's `#/$defs/...`)."""
    spec = client.get("/openapi.json").json()
    refs: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.append(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
    assert refs
    dangling = []
    for ref in set(refs):
        assert ref.startswith("#/"), ref
        target = spec
        for part in ref[2:].split("/"):
            target = target.get(part) if isinstance(target, dict) else None
        if target is None:
            dangling.append(ref)
    assert dangling == []
