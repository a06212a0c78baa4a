"""Storefront search: ``GET /storefront/v1/search`` and ``GET /storefront/v1/search/suggest``."""
from __future__ import annotations

from flask import Response, current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import ValidationError, fields, validate, validates_schema

from core.errors import Message
from core.catalogue.models import LEGAL_FORMS
from core.schemas import BaseSchema, OutputSchema, PageArgsSchema
from core.search import service
from core.search.backend import SORTS
from core.catalogue import groups
from core.text import find_control_character
from core.pricing.schemas import PromotionBadgeSchema, VnDateTime
from storefront_api.schemas import GroupRefSchema, UnitRefSchema

blp = Blueprint("storefront_search", __name__, url_prefix="/storefront/v1",
                description="Full-text search of listed OCOP products, with facets and autocomplete")


def _printable(value: str) -> None:
    """Refuse control characters in query strings too (BaseSchema's pre-load check sees only dict input)."""
    bad = find_control_character(value)
    if bad is not None:
        raise ValidationError(Message(f"Ký tự điều khiển U+{ord(bad):04X} không được phép.",
                                      f"Control character U+{ord(bad):04X} not allowed."))


class SearchArgsSchema(PageArgsSchema):
    q = fields.String(load_default="", validate=[validate.Length(max=200), _printable],
                      metadata={"description": "words to find, with or without Vietnamese diacritics"})
    group = fields.String(validate=validate.OneOf([g["code"] for g in groups.groups()]),
                          metadata={"description": "OCOP product group (Decision 148)"})
    stars = fields.Integer(validate=validate.Range(3, 5))
    province = fields.String(validate=validate.Length(1, 20), metadata={"description": "current province code"})
    legal_form = fields.String(validate=validate.OneOf(LEGAL_FORMS))
    min_price = fields.Integer(validate=validate.Range(min=0), metadata={"description": "lowest price ≥ (VND)"})
    max_price = fields.Integer(validate=validate.Range(min=0), metadata={"description": "lowest price ≤ (VND)"})
    in_stock = fields.Boolean()
    sort = fields.String(load_default="relevance", validate=validate.OneOf(SORTS))
    cursor = fields.String(validate=validate.Length(1, 1000),
                           metadata={"description": "opaque paging cursor from a previous `next` link"})

    @validates_schema
    def _price_range(self, data, **kwargs):
        low, high = data.get("min_price"), data.get("max_price")
        if low is not None and high is not None and low > high:
            raise ValidationError(Message("min_price không được lớn hơn max_price", "min_price must not exceed max_price"),
                                  "min_price")


class SuggestArgsSchema(BaseSchema):
    q = fields.String(required=True, validate=[validate.Length(1, 100), _printable])
    limit = fields.Integer(load_default=8, validate=validate.Range(1, 20))


class HighlightSchema(OutputSchema):
    name = fields.String(allow_none=True, metadata={"description": "HTML-escaped name with <mark> around matches"})
    snippet = fields.String(allow_none=True, metadata={"description": "matching excerpt of the description"})


class SearchProducerSchema(OutputSchema):
    slug = fields.String()
    name = fields.String()
    legal_form = fields.String()
    province = fields.Nested(UnitRefSchema, allow_none=True)


class SearchHitSchema(OutputSchema):
    slug = fields.String()
    name = fields.String()
    producer = fields.Nested(SearchProducerSchema)
    group = fields.Nested(GroupRefSchema)
    stars = fields.Integer()
    price_min = fields.Integer(allow_none=True, metadata={"description": "VND"})
    price_max = fields.Integer(allow_none=True, metadata={"description": "VND"})
    in_stock = fields.Boolean()
    image = fields.String(allow_none=True)
    highlight = fields.Nested(HighlightSchema)
    sale_price_min = fields.Integer(allow_none=True, metadata={"description": "lowest sale price now (VND), "
                                                                              "price resolver, online store"})
    sale_ends_at = VnDateTime(allow_none=True)
    promotions = fields.List(fields.Nested(PromotionBadgeSchema))


class FacetValueSchema(OutputSchema):
    value = fields.Raw()
    label = fields.String()
    label_en = fields.String()
    min_price = fields.Integer(allow_none=True)
    max_price = fields.Integer(allow_none=True)
    count = fields.Integer()


class FacetsSchema(OutputSchema):
    group = fields.List(fields.Nested(FacetValueSchema))
    stars = fields.List(fields.Nested(FacetValueSchema))
    province = fields.List(fields.Nested(FacetValueSchema))
    legal_form = fields.List(fields.Nested(FacetValueSchema))
    price = fields.List(fields.Nested(FacetValueSchema))
    in_stock = fields.List(fields.Nested(FacetValueSchema))


class QueryEchoSchema(OutputSchema):
    q = fields.String()
    corrected = fields.String(allow_none=True, metadata={"description": "the folded query actually used after typo correction"})


class SearchPageSchema(OutputSchema):
    results = fields.List(fields.Nested(SearchHitSchema))
    total = fields.Integer()
    next = fields.String(allow_none=True)
    facets = fields.Nested(FacetsSchema)
    query = fields.Nested(QueryEchoSchema)


class SuggestProducerSchema(OutputSchema):
    slug = fields.String()
    name = fields.String()


class SuggestionSchema(OutputSchema):
    slug = fields.String()
    name = fields.String()
    producer = fields.Nested(SuggestProducerSchema)
    highlight = fields.String(allow_none=True)


class SuggestPageSchema(OutputSchema):
    results = fields.List(fields.Nested(SuggestionSchema))
    total = fields.Integer()
    next = fields.String(allow_none=True)


def _json(data) -> Response:
    return Response(current_app.json.dumps(data), mimetype="application/json")


@blp.route("/search")
class Search(MethodView):
    @blp.arguments(SearchArgsSchema, location="query")
    @blp.response(200, SearchPageSchema)
    def get(self, args):
        """Search listed products (with or without diacritics, typo-tolerant).

        Filters: group, stars, province, legal form, lowest-price range, in stock.
        Sorts: relevance, price_asc, price_desc, stars, newest. Answers
        `{"results", "total", "next", "facets", "query"}`; facet counts are over
        all matches of the query and filters. Unlisted products never appear.
        """
        return _json(service.search(args))


@blp.route("/search/suggest")
class Suggest(MethodView):
    @blp.arguments(SuggestArgsSchema, location="query")
    @blp.response(200, SuggestPageSchema)
    def get(self, args):
        """Autocomplete: listed products whose name starts like `q` (diacritics optional)."""
        return _json(service.suggest(args))
