"""API documentation: Swagger UI at ``/docs`` and a plain page at ``/docs/plain``, both offline.

Swagger UI's files come from the ``swagger-ui-bundle`` package installed with
ocop-commerce (served under ``/docs/assets/``), never from a CDN: operators
run the API behind provincial firewalls. ``/docs/plain`` needs no JavaScript.

:func:`enrich_spec` completes every operation of the OpenAPI document once,
when the app is built: docstrings written in reStructuredText habits become
Markdown (Swagger UI renders CommonMark), every operation gets a description,
its roles, the error codes it may answer (each with the envelope), and
request/response examples filled with Vietnamese data.
"""
from __future__ import annotations

import copy
import json
import re
from html import escape

from flask import Response, abort, send_from_directory
from swagger_ui_bundle import swagger_ui_path

from core.api import HTTP_CODES

METHODS = ("get", "post", "put", "patch", "delete")
ASSETS = ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "favicon-32x32.png",
          "favicon-16x16.png")

# --- Markdown -----------------------------------------------------------------------------------
_ROLE = re.compile(r":(?:func|class|meth|mod|attr|data|obj|exc|ref|doc):`~?([^`]+)`")


def markdown_from_rest(text: str) -> str:
    """reST habits of the docstrings → Markdown: ``code`` → `code`, :func:`x` → `x`."""
    text = _ROLE.sub(lambda m: f"`{m[1]}`", text or "")
    return re.sub(r"``(.+?)``", r"`\1`", text)


def markdown_to_html(text: str) -> str:
    """The small Markdown subset the docstrings use (paragraphs, ``-`` lists, `code`, **bold**, links)."""
    blocks, html = re.split(r"\n\s*\n", (text or "").strip()), []
    for block in blocks:
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        if not lines:
            continue
        if all(line.startswith(("- ", "* ")) for line in lines):
            html.append("<ul>" + "".join(f"<li>{_inline(line[2:])}</li>" for line in lines) + "</ul>")
        else:
            html.append("<p>" + _inline(" ".join(lines)) + "</p>")
    return "".join(html)


def _inline(text: str) -> str:
    parts = re.split(r"(`[^`]+`)", text)
    out = []
    for part in parts:
        if part.startswith("`") and part.endswith("`") and len(part) > 1:
            out.append(f"<code>{escape(part[1:-1])}</code>")
        else:
            part = escape(part)
            part = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", part)
            part = re.sub(r"\[([^\]]+)\]\((/[^)\s]*|https?://[^)\s]+)\)", r"<a href='\2'>\1</a>", part)
            out.append(part)
    return "".join(out)


# --- Vietnamese example data --------------------------------------------------------------------
_EXAMPLE_STRINGS = [
    (r"(^|_)(full_)?name$|^author_name$", "Mật ong hoa nhãn Vĩnh Cửu"),
    (r"name_en$", "Vinh Cuu longan honey"),
    (r"(^|_)username$", "sct.dongnai"),
    (r"password", "ocop-demo-2026"),
    (r"email", "lan.nguyen@example.vn"),
    (r"phone", "0912345678"),
    (r"province(_code)?$", "75"),
    (r"commune(_code)?$|unit_code$|^code$", "26188"),
    (r"^sku$", "BL-BDX-1"),
    (r"gtin|barcode", "8930000000019"),
    (r"slug", "mat-ong-hoa-nhan-vinh-cuu"),
    (r"address|street", "Ấp Bình Lợi, Phường Tân Triều, Đồng Nai"),
    (r"description|note|reason|message$|comment|text$", "Sản phẩm OCOP 4 sao của HTX Bình Lợi."),
    (r"decision_no", "1234/QĐ-UBND"),
    (r"council", "Hội đồng đánh giá, phân hạng sản phẩm OCOP cấp tỉnh"),
    (r"^q$|query", "mật ong"),
    (r"token", "3q2+7w-ví-dụ-mã-truy-cập"),
    (r"url$", "https://ocop.dongnai.gov.vn/san-pham/mat-ong"),
    (r"currency", "VND"),
    (r"story", "Mật ong do các hộ nuôi ong ven hồ Trị An thu hoạch vào mùa hoa nhãn."),
    (r"(^|_)unit$", "hũ 500 g"),
    (r"product_set", "honey"),
    (r"channel", "online_store"),
    (r"gateway", "cod"),
    (r"delivery_method", "pickup"),
    (r"tax_code", "3600252847"),
    (r"legal_form", "cooperative"),
    (r"group", "food"),
    (r"status", "active"),
    (r"role", "organiser"),
]
_EXAMPLE_NUMBERS = [
    (r"price|amount|total|subtotal|budget|value|fee|paid", 126000),
    (r"quantity|qty|on_hand|allocated|available|requested|counted|delta", 2),
    (r"stars", 4),
    (r"score", 78.5),
    (r"(^|_)id$|_id$", 1),
    (r"page$", 1),
    (r"limit", 20),
    (r"percent", 15),
    (r"weight_g", 500),
]


def _example_for(name: str, schema: dict, components: dict, depth: int = 0):
    if depth > 6:
        return None
    if "$ref" in schema:
        target = components.get(schema["$ref"].rsplit("/", 1)[-1], {})
        return _example_for(name, target, components, depth + 1)
    for key in ("allOf", "oneOf", "anyOf"):
        if schema.get(key):
            return _example_for(name, schema[key][0], components, depth + 1)
    if "example" in schema:
        return schema["example"]
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "object" or "properties" in schema:
        return {prop: _example_for(prop, sub, components, depth + 1)
                for prop, sub in (schema.get("properties") or {}).items()}
    if kind == "array":
        return [_example_for(name.rstrip("s"), schema.get("items") or {}, components, depth + 1)]
    if kind == "integer" or kind == "number":
        for pattern, value in _EXAMPLE_NUMBERS:
            if re.search(pattern, name):
                return value
        minimum = schema.get("minimum")
        return minimum if minimum is not None else 1
    if kind == "boolean":
        return name in ("active", "is_active", "enabled")
    fmt = schema.get("format")
    if fmt == "date-time":
        return "2026-11-23T09:30:00+07:00"
    if fmt == "date":
        return "2026-11-23"
    if fmt == "email":
        return "lan.nguyen@example.vn"
    if fmt in ("url", "uri"):
        return "https://ocop.dongnai.gov.vn/san-pham/mat-ong"
    for pattern, value in _EXAMPLE_STRINGS:
        if re.search(pattern, name):
            return value
    return "Đồng Nai"


def example(schema: dict, components: dict):
    """A Vietnamese example value for a JSON schema (names decide: prices in VND, codes of Đồng Nai …)."""
    return _example_for("", schema or {}, components)


# --- the error codes of an operation ------------------------------------------------------------
_ERROR_SCHEMA = {"type": "object", "properties": {"error": {"type": "object", "properties": {
    "code": {"type": "string"}, "message": {"type": "string", "description": "tiếng Việt"},
    "message_en": {"type": "string", "description": "English"},
    "details": {"type": "object", "description": "validation: {field: [{message, message_en}]}"}}}}}


def _not_found_code(path: str) -> str:
    params = re.findall(r"\{([^}]+)\}", path)
    if not params:
        return "route.not_found"
    param = params[-1]
    if param.endswith("_id") or param == "code":
        noun = param.removesuffix("_id") if param != "code" else path.split("/{")[0].rsplit("/", 1)[-1]
    else:
        noun = path.split("/{" + param)[0].rsplit("/", 1)[-1]
    noun = noun.replace("-", "_")
    noun = re.sub(r"ies$", "y", noun) if noun.endswith("ies") else noun.removesuffix("s")
    return f"{noun}.not_found"


def error_codes(path: str, method: str, op: dict) -> dict[str, list[str]]:
    """HTTP status → the error codes this operation may answer (generic ones; services add their own)."""
    codes: dict[str, list[str]] = {}
    if op.get("security"):
        codes["401"] = ["auth.required", "auth.invalid_token"]
        codes["403"] = ["auth.forbidden"]
    if "{" in path:
        codes["404"] = [_not_found_code(path)]
    if op.get("requestBody") or op.get("parameters") or method in ("post", "put", "patch"):
        codes["422"] = ["validation.invalid"]
    if op.get("requestBody"):
        codes["400"] = ["request.bad"]
        codes["415"] = ["request.unsupported_media_type"]
    for status in op.get("responses", {}):
        if status.isdigit() and int(status) >= 400 and status not in codes:
            codes[status] = [HTTP_CODES.get(int(status), ("http.error",))[0]]
    return dict(sorted(codes.items()))


def _error_example(code: str, status: str) -> dict:
    generic = HTTP_CODES.get(int(status), ("http.error", "Lỗi.", "Error."))
    message, message_en = generic[1], generic[2]
    details = {}
    if code == "validation.invalid":
        message, message_en = "Dữ liệu không hợp lệ ở: name.", "Invalid input in: name."
        details = {"name": [{"message": "Thiếu dữ liệu bắt buộc.", "message_en": "Missing data for required field."}]}
    elif code == "auth.invalid_token":
        message, message_en = ("Mã truy cập không hợp lệ, đã hết hạn hoặc đã bị thu hồi; hãy đăng nhập lại.",
                               "The access token is invalid, expired or revoked; log in again.")
    elif code.endswith(".not_found") and code != "route.not_found":
        message_en = f"{code.split('.')[0].replace('_', ' ').capitalize()} not found."
    return {"error": {"code": code, "message": message, "message_en": message_en, "details": details}}


# --- enriching the document ---------------------------------------------------------------------
def _roles_line(op: dict) -> str:
    description = op.get("description", "")
    if "Roles:" in description:
        return ""
    return "Roles: anyone (no token needed)." if not op.get("security") else "Roles: any signed-in user."


def enrich_spec(spec) -> None:
    """Complete every operation of ``spec`` (an apispec ``APISpec``, paths already added) in place."""
    document = spec.to_dict()  # its dicts are the spec's own: changes below are what /openapi.json answers
    components = document.get("components", {}).get("schemas", {})
    for name, response in document.get("components", {}).get("responses", {}).items():
        response["content"] = {"application/json": {  # flask-smorest's generic errors: our envelope instead
            "schema": copy.deepcopy(_ERROR_SCHEMA), "example": _error_example(
                "validation.invalid" if name == "UNPROCESSABLE_ENTITY" else "request.bad",
                "422" if name == "UNPROCESSABLE_ENTITY" else "400")}}
    for path, operations in document.get("paths", {}).items():
        for method, op in operations.items():
            if method not in METHODS:
                continue
            op["summary"] = markdown_from_rest(op.get("summary") or f"{method.upper()} {path}")
            description = markdown_from_rest(op.get("description", "")).strip()
            if not description or description.startswith("Roles:"):
                description = "\n\n".join(filter(None, [op["summary"], description]))
            roles = _roles_line(op)
            codes = error_codes(path, method, op)
            lines = [description, roles] if roles else [description]
            if codes:
                lines.append("**Errors** (envelope `{\"error\": {code, message, message_en, details}}`):\n\n"
                             + "\n".join(f"- {status}: " + ", ".join(f"`{c}`" for c in found)
                                         for status, found in codes.items()))
            else:
                lines.append("**Errors**: none of its own (no input, no token).")
            op["description"] = "\n\n".join(lines)
            op["x-error-codes"] = codes
            body = op.get("requestBody", {}).get("content", {})
            for media in body.values():
                if "schema" in media and "example" not in media and "examples" not in media:
                    media["example"] = example(media["schema"], components)
            responses = op.setdefault("responses", {})
            for status, response in list(responses.items()):
                if not (status.isdigit() and 200 <= int(status) < 300) or "$ref" in response:
                    continue
                for media in response.get("content", {}).values():
                    if "schema" in media and "example" not in media:
                        media["example"] = example(media["schema"], components)
            for status, found in codes.items():
                if status in responses and "$ref" not in responses[status] and responses[status].get("content"):
                    continue
                responses[status] = {
                    "description": f"{HTTP_CODES.get(int(status), ('', '', 'Error'))[2]} "
                                   f"({', '.join(found)})",
                    "content": {"application/json": {"schema": copy.deepcopy(_ERROR_SCHEMA),
                                                     "example": _error_example(found[0], status)}}}


# --- pages --------------------------------------------------------------------------------------
_SWAGGER_PAGE = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>ocop-commerce API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
</head><body>
<noscript><p>Trang này cần JavaScript. / This page needs JavaScript:
<a href="/docs/plain">tài liệu dạng đơn giản / plain API docs</a>.</p></noscript>
<p style="font-family:sans-serif;margin:.5rem 1rem">ocop-commerce API · <a href="/openapi.json">/openapi.json</a>
· <a href="/docs/plain">bản đơn giản / plain page</a></p>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/init.js"></script>
</body></html>"""

# a file, not an inline script: the page works under a Content-Security-Policy without 'unsafe-inline' scripts
_INIT_JS = """window.ui = SwaggerUIBundle({
  url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true, docExpansion: "list",
  defaultModelsExpandDepth: 0, defaultModelExpandDepth: 3, displayRequestDuration: true,
  presets: [SwaggerUIBundle.presets.apis], layout: "BaseLayout"
});
"""

_STYLE = ("body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem}"
          "code,pre{background:#f3f3f3;padding:.1rem .3rem}pre{padding:.5rem;overflow:auto;font-size:.85rem}"
          ".m{font-weight:bold;display:inline-block;width:4.5rem}section{border-top:1px solid #ddd;padding:.5rem 0}"
          "small{color:#555}details{margin:.3rem 0}")


def plain_page(document: dict) -> str:
    """All operations on one page without JavaScript: description, parameters, body and answer examples."""
    parts = [f"<!doctype html><html lang=vi><meta charset=utf-8><title>ocop-commerce API</title><style>{_STYLE}</style>",
             "<h1>ocop-commerce API</h1><p>Swagger UI: <a href='/docs'>/docs</a> · "
             "OpenAPI: <a href='/openapi.json'>/openapi.json</a>. Errors: "
             "<code>{\"error\": {\"code\", \"message\", \"message_en\", \"details\"}}</code>.</p>"]
    for path, operations in sorted(document.get("paths", {}).items()):
        for method, op in operations.items():
            if method not in METHODS:
                continue
            parts.append(f"<section id='{escape(method + path)}'><span class=m>{method.upper()}</span>"
                         f"<code>{escape(path)}</code> {_inline(op.get('summary', ''))}"
                         f"{markdown_to_html(op.get('description', ''))}")
            params = op.get("parameters") or []
            if params:
                parts.append("<p>Parameters: " + ", ".join(
                    f"<code>{escape(str(p.get('name')))}</code> <small>({escape(str(p.get('in')))}"
                    f"{', required' if p.get('required') else ''})</small>" for p in params) + "</p>")
            for media in (op.get("requestBody") or {}).get("content", {}).values():
                if "example" in media:
                    parts.append("<details><summary>Request body (example)</summary><pre>"
                                 f"{escape(json.dumps(media['example'], ensure_ascii=False, indent=2))}</pre></details>")
            for status, response in op.get("responses", {}).items():
                for media in (response.get("content") or {}).values():
                    if "example" in media and status.isdigit() and int(status) < 300:
                        parts.append(f"<details><summary>Answer {escape(status)} (example)</summary><pre>"
                                     f"{escape(json.dumps(media['example'], ensure_ascii=False, indent=2))}"
                                     "</pre></details>")
            parts.append("</section>")
    return "".join(parts)


def register_docs(app, api) -> None:
    """``/docs`` (Swagger UI from the installed package), ``/docs/assets/…``, ``/docs/plain``; enriches the spec."""
    enrich_spec(api.spec)

    @app.get("/docs")
    def docs():
        """Interactive API documentation (Swagger UI, served from the installed package)."""
        return Response(_SWAGGER_PAGE, mimetype="text/html")

    @app.get("/docs/assets/<name>")
    def docs_asset(name):
        """Swagger UI's files (from the ``swagger-ui-bundle`` package) and its start script."""
        if name == "init.js":
            return Response(_INIT_JS, mimetype="text/javascript")
        if name not in ASSETS:
            abort(404)
        return send_from_directory(str(swagger_ui_path), name, max_age=86400)

    @app.get("/docs/plain")
    def docs_plain():
        """API documentation as one HTML page without JavaScript."""
        return Response(plain_page(api.spec.to_dict()), mimetype="text/html")
