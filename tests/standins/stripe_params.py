"""Form decoding and parameter validation for the Stripe stand-in in `stripe_api`.

Stripe's v1 API takes form-encoded parameters in bracket notation
(`line_items[0][price_data][currency]=usd`). `validate_params` checks them against the
request TypedDicts that the installed `stripe` package generates from Stripe's OpenAPI
spec (`stripe.params.*`), so the accepted names follow the client version instead of a
hand-kept list. It checks names, required names, integers, booleans, decimals and
pure Literal values. It does not check enum values that the TypedDict also allows as
`str`, lengths or cross-field rules, which the handlers in `stripe_api` do where needed.
"""

from __future__ import annotations

import decimal
import functools
import re
import sys
import types
import typing
import urllib.parse
from dataclasses import dataclass
from typing import Any, Literal

import stripe
import typing_extensions
from stripe._request_options import RequestOptions

JsonObject = dict[str, Any]


# --------------------------------------------------------------------------- errors


class StripeApiError(Exception):
    """An HTTP error response in Stripe's shape: `{"error": {...}}` with a status code."""

    def __init__(
        self,
        status: int,
        error_type: str,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error: JsonObject = {"type": error_type, "message": message}
        if code is not None:
            self.error["code"] = code
        if param is not None:
            self.error["param"] = param


def invalid_request(
    message: str, *, code: str | None = None, param: str | None = None, status: int = 400
) -> StripeApiError:
    return StripeApiError(status, "invalid_request_error", message, code=code, param=param)


def missing_param(param: str) -> StripeApiError:
    return invalid_request(
        f"Missing required param: {param}.", code="parameter_missing", param=param
    )


def no_such(kind: str, object_id: str, *, param: str | None = None) -> StripeApiError:
    # Stripe returns 404 for an unknown id in the URL and 400 for one in a parameter.
    status = 404 if param is None else 400
    return invalid_request(
        f"No such {kind}: '{object_id}'", code="resource_missing", param=param, status=status
    )


# --------------------------------------------------------------------------- form decoding


def decode_form(encoded: str) -> JsonObject:
    """Decode a Stripe form body or query string into nested dicts.

    `a[b][0][c]=1` becomes `{"a": {"b": {"0": {"c": "1"}}}}`. Index keys stay strings
    until `validate_params` turns them into lists where the schema expects a list,
    because metadata keys may be digits too. `a[]=x` appends to a list.
    """
    root: JsonObject = {}
    for raw_key, value in urllib.parse.parse_qsl(encoded, keep_blank_values=True):
        parts = _split_form_key(raw_key)
        container: Any = root
        for position, part in enumerate(parts):
            is_last = position == len(parts) - 1
            next_part = None if is_last else parts[position + 1]
            if isinstance(container, list):
                if is_last:
                    container.append(value)
                else:
                    child: Any = [] if next_part == "" else {}
                    container.append(child)
                    container = child
                continue
            if is_last:
                if part == "":
                    continue
                container[part] = value
                continue
            existing = container.get(part)
            expects_list = next_part == ""
            if expects_list and not isinstance(existing, list):
                existing = []
                container[part] = existing
            elif not expects_list and not isinstance(existing, dict):
                existing = {}
                container[part] = existing
            container = existing
    return root


def _split_form_key(raw_key: str) -> list[str]:
    head, _, rest = raw_key.partition("[")
    parts = [head]
    if rest:
        parts.extend(re.findall(r"([^\[\]]*)\]", "[" + rest))
    return parts


# --------------------------------------------------------------------------- parameter schema
#
# The schema comes from the request TypedDicts that the installed `stripe` package generates
# from Stripe's OpenAPI spec, so it follows the client version instead of a hand-kept list.


@dataclass(frozen=True)
class _Scalar:
    kind: type | None  # None for a Literal
    literals: tuple[str, ...] = ()


@dataclass(frozen=True)
class _ListOf:
    item: Any


@dataclass(frozen=True)
class _MapOf:
    value: Any


@dataclass(frozen=True)
class _Object:
    typed_dict: type
    top_level: bool = False


@dataclass(frozen=True)
class _AnyOf:
    options: tuple[Any, ...]


_REQUEST_OPTION_KEYS = frozenset(RequestOptions.__annotations__)
_REQUIRED_WRAPPERS = {
    typing.NotRequired,
    typing.Required,
    typing_extensions.NotRequired,
    typing_extensions.Required,
}


def _resolve_annotation(annotation: Any, namespace: dict[str, Any]) -> Any:
    """Turn one TypedDict annotation into a schema node."""
    if isinstance(annotation, str):
        annotation = eval(annotation, namespace)  # noqa: S307 (annotation text from stripe)
    if isinstance(annotation, typing.ForwardRef):
        return _resolve_annotation(annotation.__forward_arg__, namespace)

    origin = typing.get_origin(annotation)
    arguments = typing.get_args(annotation)
    if origin in _REQUIRED_WRAPPERS:
        return _resolve_annotation(arguments[0], namespace)
    if origin is typing.Union or origin is types.UnionType:
        return _AnyOf(tuple(_resolve_annotation(option, namespace) for option in arguments))
    if origin is Literal or origin is typing_extensions.Literal:
        return _Scalar(None, tuple(str(option) for option in arguments))
    if origin is list:
        return _ListOf(_resolve_annotation(arguments[0], namespace))
    if origin is dict or (isinstance(origin, type) and issubclass(origin, stripe.StripeObject)):
        return _MapOf(_resolve_annotation(arguments[-1], namespace) if arguments else None)
    if typing_extensions.is_typeddict(annotation):
        return _Object(annotation)
    if annotation is Any:
        return _MapOf(None)
    if isinstance(annotation, type):
        return _Scalar(annotation)
    raise TypeError(f"Unsupported annotation in stripe params: {annotation!r}")


@functools.cache
def _object_fields(typed_dict: type, top_level: bool) -> dict[str, Any]:
    namespace = vars(sys.modules[typed_dict.__module__])
    fields: dict[str, Any] = {}
    for name, annotation in typed_dict.__annotations__.items():
        if top_level and name in _REQUEST_OPTION_KEYS:
            continue
        fields[name] = _resolve_annotation(annotation, namespace)
    return fields


def join_param(parent: str, key: str | int) -> str:
    return str(key) if not parent else f"{parent}[{key}]"


def validate_params(params: JsonObject, params_class: type) -> JsonObject:
    """Check decoded request parameters against a `stripe.params` TypedDict.

    Returns a copy with lists, integers, floats and booleans converted. Raises
    StripeApiError with Stripe's codes `parameter_unknown`, `parameter_missing` and
    `parameter_invalid_integer`.
    """
    result = _coerce(params, _Object(params_class, top_level=True), "")
    assert isinstance(result, dict)
    return result


def _coerce(value: Any, node: Any, param: str) -> Any:
    if node is None:
        return value
    if isinstance(node, _AnyOf):
        return _coerce_any_of(value, node, param)
    if isinstance(node, _Object):
        return _coerce_object(value, node, param)
    if isinstance(node, _ListOf):
        return _coerce_list(value, node, param)
    if isinstance(node, _MapOf):
        return _coerce_map(value, node, param)
    return _coerce_scalar(value, node, param)


def _is_index_dict(value: Any) -> bool:
    return isinstance(value, dict) and all(key.isdigit() for key in value)


def _coerce_any_of(value: Any, node: _AnyOf, param: str) -> Any:
    options = node.options
    if value == "" and any(isinstance(o, _Scalar) and "" in o.literals for o in options):
        return ""
    if isinstance(value, list) or (_is_index_dict(value) and value):
        for option in options:
            if isinstance(option, _ListOf):
                return _coerce(value, option, param)
    if isinstance(value, dict):
        for kind in (_Object, _MapOf):
            for option in options:
                if isinstance(option, kind):
                    return _coerce(value, option, param)
    if isinstance(value, str):
        scalars = [o for o in options if isinstance(o, _Scalar)]
        typed = [o for o in scalars if o.kind is not None]
        if typed:
            return _coerce_scalar(value, typed[0], param)
        if scalars:
            return _coerce_scalar(
                value, _Scalar(None, sum((o.literals for o in scalars), ())), param
            )
    return _coerce(value, options[0], param)


def _coerce_object(value: Any, node: _Object, param: str) -> JsonObject:
    if not isinstance(value, dict):
        raise invalid_request(
            f"Invalid object: {param} must be a hash of parameters, not {value!r}.",
            param=param or None,
        )
    fields = _object_fields(node.typed_dict, node.top_level)
    for key in value:
        if key not in fields:
            unknown = join_param(param, key)
            raise invalid_request(
                f"Received unknown parameter: {unknown}", code="parameter_unknown", param=unknown
            )
    required: frozenset[str] = getattr(node.typed_dict, "__required_keys__", frozenset())
    for key in sorted(required):
        if key in fields and key not in value:
            raise missing_param(join_param(param, key))
    return {key: _coerce(item, fields[key], join_param(param, key)) for key, item in value.items()}


def _coerce_list(value: Any, node: _ListOf, param: str) -> list[Any]:
    if _is_index_dict(value):
        value = [value[key] for key in sorted(value, key=int)]
    if not isinstance(value, list):
        raise invalid_request(f"Invalid array: {param} must be an array.", param=param)
    return [_coerce(item, node.item, f"{param}[{index}]") for index, item in enumerate(value)]


def _coerce_map(value: Any, node: _MapOf, param: str) -> Any:
    # An empty string unsets every key, which Stripe allows for metadata.
    if value == "":
        return ""
    if not isinstance(value, dict):
        raise invalid_request(f"Invalid hash: {param} must be a hash.", param=param)
    if isinstance(node.value, _Scalar) and node.value.kind is str:
        for key, item in value.items():
            if not isinstance(item, str):
                nested = join_param(param, key)
                raise invalid_request(
                    f"Invalid value for {nested}: {param} values must be strings.", param=nested
                )
    return dict(value)


def _coerce_scalar(value: Any, node: _Scalar, param: str) -> Any:
    if not isinstance(value, str):
        raise invalid_request(
            f"Invalid value for {param}: expected a single value, got a hash or array.",
            param=param,
        )
    if node.kind is None:
        if value not in node.literals:
            allowed = ", ".join(repr(option) for option in node.literals)
            raise invalid_request(
                f"Invalid {param}: must be one of {allowed}.", code="parameter_invalid", param=param
            )
        return value
    if node.kind is bool:
        if value not in ("true", "false"):
            raise invalid_request(f"Invalid boolean: {value}", param=param)
        return value == "true"
    if node.kind is int:
        try:
            return int(value)
        except ValueError:
            raise invalid_request(
                f"Invalid integer: {value}", code="parameter_invalid_integer", param=param
            ) from None
    if node.kind is float:
        try:
            return float(value)
        except ValueError:
            raise invalid_request(f"Invalid decimal: {value}", param=param) from None
    if node.kind is decimal.Decimal:
        try:
            decimal.Decimal(value)
        except decimal.InvalidOperation:
            raise invalid_request(f"Invalid decimal: {value}", param=param) from None
        return value
    return value
