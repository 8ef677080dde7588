"""Builds the OpenAPI 3.1 document served at /api/v1/openapi.json from the live URL map and ROUTE_DOCS.

Every /api/v1 rule appears, including routes added by other blueprints (described by their docstring when
they do not use ``common.route``), so the document cannot miss a route.
"""
from __future__ import annotations

import re
from dataclasses import fields
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify

from contracts.errors import HTTP_STATUS, ErrorCode
from contracts.messages import CallInfo, CounterState, ServiceState
from queue_server.web.common import API_PREFIX, ROUTE_DOCS, route

bp = Blueprint("openapi", __name__)

_PY_TO_JSON = {"str": "string", "int": "integer", "bool": "boolean", "float": "number"}


def _dataclass_schema(cls: type) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for f in fields(cls):
        text = str(f.type)
        base = next((j for p, j in _PY_TO_JSON.items() if text.startswith(p)), "string")
        props[f.name] = {"type": [base, "null"] if "None" in text else base}
    return {"type": "object", "properties": props}


TICKET_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "examples": ["20261123-ho-tich-23"]},
        "number": {"type": "string", "examples": ["A023"]},
        "service": {"type": "string"}, "origin_service": {"type": "string"},
        "priority": {"type": ["string", "null"]},
        "status": {"enum": ["issued", "called", "serving", "done", "no_show", "transferred", "cancelled"]},
        "counter": {"type": ["string", "null"]},
        "issued_at": {"type": "string", "format": "date-time"},
        "called_at": {"type": ["string", "null"]}, "serving_at": {"type": ["string", "null"]},
        "done_at": {"type": ["string", "null"]}, "recalls": {"type": "integer"},
        "printed": {"type": ["boolean", "null"]}, "day": {"type": "string", "format": "date"},
    },
}


def build_document(app: Flask) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith(API_PREFIX):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule[len(API_PREFIX):]) or "/"
        doc = ROUTE_DOCS.get(rule.endpoint)
        view = app.view_functions[rule.endpoint]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            op: dict[str, Any] = {"operationId": rule.endpoint.replace(".", "_") + "_" + method.lower()}
            params = [{"name": a, "in": "path", "required": True, "schema": {"type": "string"}}
                      for a in sorted(rule.arguments)]
            if doc is None:
                op["summary"] = (view.__doc__ or rule.endpoint).strip().splitlines()[0]
                op["tags"] = [rule.endpoint.split(".")[0]]
                op["responses"] = {"200": {"description": "OK"}, "default": {"$ref": "#/components/responses/Error"}}
            else:
                op["summary"] = doc.summary
                op["tags"] = [doc.tag]
                if doc.role:
                    op["security"] = [{"bearer": []}]
                    op["description"] = f"Needs role {doc.role} or higher."
                elif doc.device_key:
                    op["security"] = [{"deviceKey": []}, {"bearer": []}, {}]
                    op["description"] = "X-Device-Key required when the center configures device keys."
                params += [{"name": q.name, "in": "query", "required": False, "description": q.description,
                            "schema": {"type": "integer" if q.kind is int else "string"}} for q in doc.query]
                if doc.body is not None and method in ("POST", "PUT", "PATCH"):
                    op["requestBody"] = {"required": any(f.required for f in doc.body.fields.values()),
                                         "content": {"application/json": {"schema": doc.body.schema()}}}
                media = "text/event-stream" if doc.stream else "application/json"
                op["responses"] = {str(doc.ok): {"description": doc.result or "OK",
                                                 "content": {media: {"schema": {"type": "string"} if doc.stream
                                                                     else {"type": ["object", "array"]}}}}}
                codes = [ErrorCode.BAD_REQUEST, *doc.errors]
                if doc.role:
                    codes += [ErrorCode.UNAUTHENTICATED, ErrorCode.FORBIDDEN]
                for status in sorted({HTTP_STATUS.get(c, 400) for c in codes}):
                    names = ", ".join(sorted({str(c) for c in codes if HTTP_STATUS.get(c, 400) == status}))
                    op["responses"][str(status)] = {"description": f"error code: {names}",
                                                    "content": {"application/json": {
                                                        "schema": {"$ref": "#/components/schemas/Error"}}}}
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
                                "deviceKey": {"type": "apiKey", "in": "header", "name": "X-Device-Key"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                    "type": "object", "required": ["code", "message"],
                    "properties": {"code": {"enum": [str(c) for c in ErrorCode]}, "message": {"type": "string"}}}}},
                "Ticket": TICKET_SCHEMA,
                "CounterState": _dataclass_schema(CounterState),
                "ServiceState": _dataclass_schema(ServiceState),
                "CallInfo": _dataclass_schema(CallInfo),
            },
            "responses": {"Error": {"description": "error", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Error"}}}}},
        },
    }


@route(bp, "/openapi.json", summary="This OpenAPI 3.1 document", result="OpenAPI document")
def openapi():  # type: ignore[no-untyped-def]
    return jsonify(build_document(current_app))
