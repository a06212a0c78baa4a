"""Every ``$ref`` in /openapi.json resolves inside the document (a dangling one, #/components/schemas/ImageUrl, did not)."""
from __future__ import annotations


def _refs(node, where="#"):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield where, value
            else:
                yield from _refs(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _refs(value, f"{where}/{index}")


def _resolve(spec, ref: str):
    assert ref.startswith("#/"), f"external reference {ref}"
    node = spec
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def test_every_ref_resolves(client):
    spec = client.get("/openapi.json").get_json()
    refs = list(_refs(spec))
    assert len(refs) > 50
    dangling = sorted({f"{ref} (at {where})" for where, ref in refs if _resolve(spec, ref) is None})
    assert not dangling, dangling


def test_the_image_operation_documents_its_json_body(client):
    spec = client.get("/openapi.json").get_json()
    body = spec["paths"]["/admin/v1/products/{product_id}/images"]["post"]["requestBody"]["content"]
    schema = _resolve(spec, body["application/json"]["schema"]["$ref"])
    assert set(schema["properties"]) == {"url", "alt"} and schema["required"] == ["url"]
