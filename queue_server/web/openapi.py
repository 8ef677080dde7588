"""Builds the OpenAPI 3.1 document served at /api/v1/openapi.json from the live URL map and ROUTE_DOCS.

Every /api/v1 rule appears. A route declared with ``common.route`` brings its guards, body, query, typed success
body (a schema from schemas.py) and refusals; a rule some other blueprint added without it is still listed (from
its docstring) so the document never misses a route, and the API test fails on it until it is declared.
"""
from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify

from contracts.errors import HTTP_STATUS, ErrorCode
from queue_server.web.common import API_PREFIX, ROUTE_DOCS, RouteDoc, route
from queue_server.web.schemas import COMPONENTS, ref

bp = Blueprint("openapi", __name__)

_ERROR_SCHEMA = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["code", "message"],
    "properties": {"code": {"enum": [str(c) for c in ErrorCode]}, "message": {"type": "string"},
                   "message_vi": {"type": "string", "description": "dossier and rating routes: a Vietnamese text"},
                   "retry_after_s": {"type": "integer", "description": "rate-limited look-ups"}}}}}


def _operation(doc: RouteDoc, method: str) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": doc.summary, "tags": [doc.tag]}
    if doc.role:
        op["security"] = [{"bearer": []}]
        op["description"] = f"Needs role {doc.role} or higher."
    elif doc.device_key:
        op["security"] = [{"deviceKey": []}, {"bearer": []}, {}]
        op["description"] = "X-Device-Key required when the center configures device keys."
    elif doc.signed:
        op["security"] = [{"signature": []}, {"bearer": []}]
        op["description"] = ("Signed by the main system (X-Motcua-Timestamp + X-Motcua-Signature, HMAC-SHA256) or "
                             "sent with one of its bearer tokens.")
    if doc.body is not None and method in ("POST", "PUT", "PATCH"):
        op["requestBody"] = {"required": any(f.required for f in doc.body.fields.values()),
                             "content": {"application/json": {"schema": doc.body.schema()}}}
    content: dict[str, Any]
    if doc.stream:
        content = {"text/event-stream": {"schema": {"type": "string"}}}
    elif doc.media:
        content = {doc.media: {"schema": {"type": "string", "format": "binary"}}}
    else:
        content = {"application/json": {"schema": doc.response or {"type": ["object", "array"]}}}
    op["responses"] = {str(doc.ok): {"description": doc.result or "OK", "content": content}}
    codes = [ErrorCode.BAD_REQUEST, *doc.errors]
    if doc.role or doc.signed:
        codes += [ErrorCode.UNAUTHENTICATED, ErrorCode.FORBIDDEN]
    if doc.device_key:
        codes.append(ErrorCode.UNAUTHENTICATED)
    if doc.rate_limited:
        codes.append(ErrorCode.RATE_LIMITED)
    for status in sorted({HTTP_STATUS.get(c, 400) for c in codes}):
        names = ", ".join(sorted({str(c) for c in codes if HTTP_STATUS.get(c, 400) == status}))
        op["responses"][str(status)] = {"description": f"error code: {names}",
                                        "content": {"application/json": {"schema": ref("Error")}}}
    return op


def build_document(app: Flask) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith(API_PREFIX):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule[len(API_PREFIX):]) or "/"
        doc = ROUTE_DOCS.get(rule.endpoint)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if doc is None:
                view = app.view_functions[rule.endpoint]
                op: dict[str, Any] = {"summary": (view.__doc__ or rule.endpoint).strip().splitlines()[0],
                                      "tags": [rule.endpoint.split(".")[0]],
                                      "responses": {"200": {"description": "OK"},
                                                    "default": {"$ref": "#/components/responses/Error"}}}
            else:
                op = _operation(doc, method)
            op["operationId"] = rule.endpoint.replace(".", "_") + "_" + method.lower()
            params = [{"name": a, "in": "path", "required": True, "schema": {"type": "string"}}
                      for a in sorted(rule.arguments)]
            if doc is not None:
                params += [{"name": q.name, "in": "query", "required": q.required, "description": q.description,
                            "schema": q.schema()} for q in doc.query]
            if params:
                op["parameters"] = params
            paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "motcua hub API", "version": "1.0.0",
                 "description": "Queue, kiosk and counter API of a Trung tâm Phục vụ hành chính công. "
                                "Errors are always {\"error\": {\"code\", \"message\"}}."},
        "servers": [{"url": API_PREFIX}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                "deviceKey": {"type": "apiKey", "in": "header", "name": "X-Device-Key"},
                                "signature": {"type": "apiKey", "in": "header", "name": "X-Motcua-Signature",
                                              "description": "HMAC-SHA256 over timestamp and body, see "
                                                             "docs/integration.md"}},
            "schemas": {"Error": _ERROR_SCHEMA, **COMPONENTS},
            "responses": {"Error": {"description": "error", "content": {"application/json": {
                "schema": ref("Error")}}}},
        },
    }


@route(bp, "/openapi.json", summary="This OpenAPI 3.1 document", result="OpenAPI document",
       response=ref("OpenApiDocument"))
def openapi():  # type: ignore[no-untyped-def]
    return jsonify(build_document(current_app))
