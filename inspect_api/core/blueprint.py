"""The project's flask-smorest Blueprint: page numbers bounded, so `?page=9223372036854775808` is a
422 naming `page` (and the bound is in the description) instead of an overflow in the database
driver, a 500; and an error response documented without a body is documented with the one body
every error has (`Error`), as it is sent. Every feature's routes use this class
(tests/api/test_hostile_input.py checks).

A multipart/form-data body (text fields and files together) is read from one location, `multipart`,
with one schema: OpenAPI 3 describes such a body as one `requestBody`, and a second `form` location
beside `files` was described as Swagger 2's `in: formData`, which OpenAPI 3 does not have."""

from __future__ import annotations

import json

import flask_smorest
import marshmallow as ma
from webargs.flaskparser import FlaskParser
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import CombinedMultiDict, MultiDict

# Any page past the last one is an empty page; the bound only keeps OFFSET within 64 bits:
# (2**31 - 1) times the largest page size (200) is far below 2**63.
MAX_PAGE = 2**31 - 1


class Parser(FlaskParser):
    __location_map__ = dict(FlaskParser.__location_map__, multipart="load_multipart")

    def _raw_load_json(self, req):
        """A body nested deeper than the parser's recursion allows, or with a number too long for
        Python's int (over 4,300 digits), is malformed JSON here (400), not a 500."""
        try:
            return super()._raw_load_json(req)
        except json.JSONDecodeError:
            raise
        except (ValueError, RecursionError) as exc:
            raise json.JSONDecodeError(type(exc).__name__, "(request body)", 0) from exc  # webargs: "" is no body

    def load_multipart(self, req, schema):
        """The text fields and the files of a multipart body as one mapping. A text field the schema
        does not name is refused (the schema's `unknown`), a file it does not name is ignored (as webargs
        does for the `files` location)."""
        names = {field.data_key or name for name, field in schema.fields.items()}
        files = MultiDict([(k, v) for k, v in req.files.items(multi=True) if k in names])
        return MultiDictProxy(CombinedMultiDict([req.form, files]), schema)


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = Parser()
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {
        **flask_smorest.Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING, "multipart": "multipart/form-data"}

    def alt_response(self, status_code, response=None, *, schema=None, **kwargs):
        if response is None and schema is None and int(status_code) >= 400:
            from inspect_api.core.schemas import ErrorSchema

            schema = ErrorSchema
        return super().alt_response(status_code, response, schema=schema, **kwargs)

    def paginate(self, pager=None, **kwargs):
        decorator = super().paginate(pager, **kwargs)

        def bounded(func):
            wrapper = decorator(func)
            # flask-smorest builds the page schema inside paginate(); the same class parses every
            # request and is documented, so one validator added here does both.
            schema = wrapper._apidoc["pagination"]["parameters"]["schema"]
            schema._declared_fields["page"].validators.append(ma.validate.Range(min=1, max=MAX_PAGE))
            return wrapper

        return bounded
