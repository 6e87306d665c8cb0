"""Errors of the OpenAI-compatible routes in OpenAI's JSON shape.

OpenAI clients read ``{"error": {"message", "type", "param", "code"}}`` and pick the exception
they raise from the status code alone (``openai.AuthenticationError`` for 401,
``openai.NotFoundError`` for 404, ...). Every error under ``/v1/`` has that shape, whoever raises
it: a route, a shared dependency (503 while loading, 503 when the pool is full), request
validation, or the API-key guard in front of the app. Other routes keep ``{"detail": ...}``.

Status codes: 400 a request the API cannot express (a body that is not JSON, a parameter value
this service does not support, such as ``temperature`` above 0); 401 a missing or wrong key; 404
an unknown model or route; 413 a body over the limit; 422 a well-formed request that breaks the
schema or a limit (no user message last, a question too long, ``max_tokens`` above the limit), as
``/ask`` answers; 503 not ready yet or busy, with ``Retry-After``.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException

PREFIX = "/v1/"
ERROR_CODES = {
    401: "invalid_api_key",
    404: "not_found",
    413: "request_too_large",
    422: "invalid_value",
    503: "service_unavailable",
}
"""``error.code`` by status when the raiser names none."""


class OpenAIError(HTTPException):
    """An error a ``/v1/`` route raises with the parameter it is about and OpenAI's error code."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status, message, headers)
        self.param = param
        self.code = code


class ErrorDetail(BaseModel):
    """The inside of an OpenAI error."""

    message: str
    type: str
    param: str | None
    code: str | None


class OpenAIErrorResponse(BaseModel):
    """Every error answered under ``/v1/``."""

    error: ErrorDetail


OPENAI_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": OpenAIErrorResponse, "description": "A value this service does not support"},
    401: {"model": OpenAIErrorResponse, "description": "Missing or wrong API key"},
    404: {"model": OpenAIErrorResponse, "description": "Unknown model"},
    413: {"model": OpenAIErrorResponse, "description": "Request body too large"},
    422: {"model": OpenAIErrorResponse, "description": "The request breaks its schema or limits"},
    503: {"model": OpenAIErrorResponse, "description": "Not ready or overloaded; see Retry-After"},
}
"""Declared on the ``/v1/`` routes instead of the app-wide ``{"detail"}`` shape."""


def error_body(
    status: int, message: str, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    """``{"error": {...}}`` for ``status``; the type and, unless given, the code follow from it.

    As OpenAI's own API does, every client error is an ``invalid_request_error`` (401 and 404
    included) and the code tells them apart.
    """
    detail = ErrorDetail(
        message=message,
        type="invalid_request_error" if status < 500 else "server_error",
        param=param,
        code=code or ERROR_CODES.get(status),
    )
    return OpenAIErrorResponse(error=detail).model_dump()


def is_openai(path: str) -> bool:
    """Whether ``path`` belongs to the OpenAI-compatible API."""
    return path.startswith(PREFIX)


async def http_error(request: Request, exc: Exception) -> Response:
    """An HTTP error in OpenAI's shape under ``/v1/``, FastAPI's ``{"detail"}`` elsewhere."""
    assert isinstance(exc, HTTPException)
    if not is_openai(request.url.path):
        return await http_exception_handler(request, exc)
    param = exc.param if isinstance(exc, OpenAIError) else None
    code = exc.code if isinstance(exc, OpenAIError) else None
    return JSONResponse(
        error_body(exc.status_code, str(exc.detail), param, code),
        status_code=exc.status_code,
        headers=exc.headers,
    )


def field_problems(exc: RequestValidationError) -> tuple[list[str], str]:
    """The fields at fault (``messages.0.role``) and one readable sentence listing every problem.

    Both error shapes, ``/v1/`` and the rest of the API, describe a schema failure this way.
    """
    errors = exc.errors()
    fields = [".".join(str(p) for p in err["loc"] if p != "body") for err in errors]
    message = "; ".join(
        f"{field or 'body'}: {err['msg']}" for field, err in zip(fields, errors, strict=True)
    )
    return fields, message


def validation_error(exc: RequestValidationError) -> JSONResponse:
    """A body that fails the schema: 400 when it is not JSON at all, 422 otherwise.

    ``param`` names the first field at fault, the message lists them all.
    """
    fields, message = field_problems(exc)
    status = 400 if any(err["type"] == "json_invalid" for err in exc.errors()) else 422
    return JSONResponse(error_body(status, message, fields[0] or None), status_code=status)
