"""The collector's 422 answers (collector/validation.py): short excerpts, never an echo of the
input, at most ten errors, FastAPI's shape kept; the OpenAPI document says either body."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI, Query

from collector import validation


def test_an_excerpt_is_short_and_says_how_long_the_input_was() -> None:
    assert validation.excerpt("short") == "short"
    assert validation.excerpt("x" * 64) == "x" * 64
    long = validation.excerpt("y" * 20_000_000)
    assert long == "y" * 64 + "... (20000000 characters)"
    assert validation.excerpt(b"\x00ab" * 100) == "\x00ab" * 21 + "\x00... (300 characters)"
    assert validation.excerpt({"a": 1, "b": 2}) == "<dict of 2 items>"
    assert validation.excerpt([0] * 5000) == "<list of 5000 items>"
    assert validation.excerpt(12.5) == "12.5"


def test_short_errors_keep_fastapis_shape_cut_to_ten() -> None:
    errors: list[dict[str, Any]] = [
        {
            "loc": ("body", "reports", i, "x" * 500),
            "msg": "m" * 1000,
            "type": "t",
            "input": "z" * 99,
        }
        for i in range(25)
    ]
    errors.append({"loc": ("query", "q"), "msg": "missing", "type": "missing"})
    short = validation.short_errors(errors)
    assert len(short) == validation.MAX_ERRORS
    first = short[0]
    assert first["loc"] == ["body", "reports", 0, "x" * 100]
    assert len(first["msg"]) == validation.MAX_MESSAGE
    assert first["input"] == "z" * 64 + "... (99 characters)"
    assert validation.short_errors(errors[-1:]) == [
        {"loc": ["query", "q"], "msg": "missing", "type": "missing"}
    ]


async def test_an_installed_app_answers_422_with_the_short_errors() -> None:
    app = FastAPI()
    validation.install(app)

    @app.get("/items")
    async def items(limit: int = Query()) -> dict[str, int]:
        return {"limit": limit}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        bad = await client.get("/items", params={"limit": "n" * 5000})
        good = await client.get("/items", params={"limit": "3"})
    assert bad.status_code == 422
    assert bad.headers["X-Validation-Errors"] == "1"
    (error,) = bad.json()["detail"]
    assert error["loc"] == ["query", "limit"]
    assert error["input"] == "n" * 64 + "... (5000 characters)"
    assert len(bad.content) < 1000
    assert good.json() == {"limit": 3}


def test_declared_422_bodies_accept_fastapis_answer_too() -> None:
    declared = {"$ref": "#/components/schemas/ErrorBody"}
    schema: dict[str, Any] = {
        "paths": {
            "/a": {
                "post": {
                    "responses": {"422": {"content": {"application/json": {"schema": declared}}}}
                },
                "parameters": [],  # not an operation
            },
            "/b": {"get": {"responses": {"200": {}}}},
            "/c": {
                "get": {
                    "responses": {
                        "422": {
                            "content": {
                                "application/json": {"schema": {"$ref": validation.FASTAPI_422}}
                            }
                        }
                    }
                }
            },
        }
    }
    validation.document_validation_errors(schema)
    a = schema["paths"]["/a"]["post"]["responses"]["422"]["content"]["application/json"]
    assert a["schema"] == {"anyOf": [declared, {"$ref": validation.FASTAPI_422}]}
    c = schema["paths"]["/c"]["get"]["responses"]["422"]["content"]["application/json"]
    assert c["schema"] == {"$ref": validation.FASTAPI_422}
    assert {"HTTPValidationError", "ValidationError"} <= set(schema["components"]["schemas"])
    # Applying it twice changes nothing more.
    again = validation.document_validation_errors(schema)
    assert again["paths"]["/a"]["post"]["responses"]["422"]["content"]["application/json"] == a
    # A document without a declared 422 gets no components.
    assert validation.document_validation_errors({"paths": {"/b": {"get": {}}}}) == {
        "paths": {"/b": {"get": {}}}
    }
