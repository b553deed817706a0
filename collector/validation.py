"""The collector's 422 answers: short (never an echo of the input), and an OpenAPI document true
to them.

A route may declare its own 422 body (``ErrorBody``: a message naming the field), but FastAPI
still answers a request that fails the route's declared parameters with its own shape,
``{"detail": [{"loc": [...], "msg": ..., "type": ...}]}`` (the field is the end of ``loc``).
Both happen on such routes, so the document says "either" (found by the API fuzzer in
tests/hardening: the published schema claimed only the first).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import validation_error_definition, validation_error_response_definition
from fastapi.responses import JSONResponse

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


# A 422 names what is wrong with a short excerpt of what was sent, never the whole of it:
# FastAPI's own answer echoes each bad input, 20 MB in, 20 MB out (issue 20).
MAX_ERRORS = 10
MAX_EXCERPT = 64
MAX_MESSAGE = 300


def excerpt(value: object) -> str:
    """At most ``MAX_EXCERPT`` characters saying what a bad input was."""
    if isinstance(value, dict | list | tuple | set):
        return f"<{type(value).__name__} of {len(value)} items>"
    if isinstance(value, bytes | bytearray):
        text = bytes(value[: MAX_EXCERPT + 1]).decode("latin-1")
        size = len(value)
    else:
        text = value if isinstance(value, str) else repr(value)
        size = len(text)
    if size <= MAX_EXCERPT:
        return text[:MAX_EXCERPT]
    return f"{text[:MAX_EXCERPT]}... ({size} characters)"


def short_errors(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """FastAPI's validation errors with ``input`` cut to an excerpt, the first ten only."""
    out = []
    for error in errors[:MAX_ERRORS]:
        item: dict[str, Any] = {
            "loc": [part if isinstance(part, int) else str(part)[:100] for part in error["loc"]],
            "msg": str(error["msg"])[:MAX_MESSAGE],
            "type": str(error["type"])[:100],
        }
        if "input" in error:
            item["input"] = excerpt(error["input"])
        out.append(item)
    return out


def install(app: FastAPI) -> None:
    """Answer request validation errors with :func:`short_errors` (same shape as FastAPI's)."""

    async def _short(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = exc.errors()
        return JSONResponse(
            {"detail": short_errors(list(errors))},
            status_code=422,
            headers={"X-Validation-Errors": str(len(errors))},
        )

    app.add_exception_handler(RequestValidationError, _short)
