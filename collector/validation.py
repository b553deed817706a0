"""An OpenAPI document true to the collector's 422 answers.

A route may declare its own 422 body (``ErrorBody``: a message naming the field), but FastAPI
still answers a request that fails the route's declared parameters with its own shape,
``{"detail": [{"loc": [...], "msg": ..., "type": ...}]}`` (the field is the end of ``loc``).
Both happen on such routes, so the document says "either" (found by the API fuzzer in
tests/hardening: the published schema claimed only the first).
"""

from __future__ import annotations

from typing import Any

from fastapi.openapi.utils import validation_error_definition, validation_error_response_definition

FASTAPI_422 = "#/components/schemas/HTTPValidationError"


def document_validation_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Make every declared 422 body accept FastAPI's validation answer too (in place)."""
    changed = False
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            if not isinstance(operation, dict):
                continue
            answer = operation.get("responses", {}).get("422")
            if answer is None:
                continue
            for media in answer.get("content", {}).values():
                declared = media.get("schema")
                if not declared or declared.get("$ref") == FASTAPI_422 or "anyOf" in declared:
                    continue
                media["schema"] = {"anyOf": [declared, {"$ref": FASTAPI_422}]}
                changed = True
    if changed:
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.setdefault("HTTPValidationError", validation_error_response_definition)
        components.setdefault("ValidationError", validation_error_definition)
    return schema
