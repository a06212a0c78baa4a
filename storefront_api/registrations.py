"""Storefront: producer self-registration (onboarding). The producer stays *pending* until the
organiser of its province verifies it; until then it can log in but not edit products or be listed."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields, validate

from core.api import REGISTRATION_RATE, rate_limit
from core.errors import Message
from core.catalogue.models import LEGAL_FORMS
from core.schemas import BaseSchema, OutputSchema
from core.accounts import registration

blp = Blueprint("storefront_registrations", __name__, url_prefix="/storefront/v1",
                description="Producer onboarding")


class RegistrationInSchema(BaseSchema):
    name = fields.String(required=True, validate=validate.Length(2, 300))
    legal_form = fields.String(required=True, validate=validate.OneOf(LEGAL_FORMS))
    tax_code = fields.String(allow_none=True, validate=validate.Length(max=20),
                             metadata={"description": "mã số thuế: 10 digits or 10-3, check digit verified"})
    registration_no = fields.String(allow_none=True, validate=validate.Length(max=40))
    commune_code = fields.String(required=True, validate=validate.Length(1, 20),
                                 metadata={"description": "current commune code (GET /storefront/v1/administrative-units)"})
    address = fields.String(allow_none=True, validate=validate.Length(max=500))
    contact_name = fields.String(required=True, validate=validate.Length(2, 200))
    phone = fields.String(required=True, validate=validate.Regexp(r"^\+?[0-9 .-]{8,20}$"))
    email = fields.Email(required=True)
    username = fields.String(required=True, validate=validate.Regexp(
        r"^[A-Za-z0-9][A-Za-z0-9._@-]{2,79}$", error=Message(
            "3–80 ký tự: chữ cái, chữ số, '.', '_', '@', '-'", "3–80 characters: letters, digits, '.', '_', '@', '-'")))
    password = fields.String(required=True, load_only=True, validate=validate.Length(8, 200))


class RegisteredProducerSchema(OutputSchema):
    id = fields.Integer()
    slug = fields.String()
    name = fields.String()
    legal_form = fields.String()
    tax_code = fields.String(allow_none=True)
    commune_code = fields.String()
    province_code = fields.String()
    status = fields.String()


class RegisteredUserSchema(OutputSchema):
    id = fields.Integer()
    username = fields.String()
    role = fields.String()


class RegistrationOutSchema(OutputSchema):
    producer = fields.Nested(RegisteredProducerSchema)
    user = fields.Nested(RegisteredUserSchema)
    message = fields.String()
    message_en = fields.String()


@blp.route("/producer-registrations")
class Registrations(MethodView):
    @rate_limit(REGISTRATION_RATE)
    @blp.arguments(RegistrationInSchema)
    @blp.response(201, RegistrationOutSchema)
    def post(self, data):
        """Register a producer and its account; it stays pending until the province's organiser verifies it."""
        data = dict(data)
        username, password = data.pop("username"), data.pop("password")
        producer, user = registration.register_producer(data, username, password)
        return {"producer": producer, "user": user,
                "message": "Đã nhận đăng ký. Sở Công Thương tỉnh sẽ xác minh trước khi sản phẩm được đăng bán.",
                "message_en": "Registration received. The provincial Department of Industry and Trade "
                              "verifies it before any product can be listed."}
