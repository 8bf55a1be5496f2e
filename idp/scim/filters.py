"""SCIM filters (RFC 7644 3.4.2.2) as SQL: scim2-filter-parser parses, we map its syntax
tree onto columns. Unknown attributes and operators are `invalidFilter` (400)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from scim2_filter_parser import ast
from scim2_filter_parser.lexer import SCIMLexer
from scim2_filter_parser.parser import SCIMParser, SCIMParserError
from sqlalchemy import and_, exists, false, func, literal, not_, or_, true

from idp.scim.names import CORE_GROUP, CORE_USER, ENTERPRISE_USER, ScimError

MAX_FILTER = 2000
SCHEMAS = {CORE_USER.lower(), ENTERPRISE_USER.lower(), CORE_GROUP.lower()}


class Attribute:
    """A filterable attribute: its column, how it compares, what `pr` means."""

    def __init__(self, column, kind: str = "text", *, case_exact: bool = False, present=None):
        self.column, self.kind, self.case_exact = column, kind, case_exact
        self.present = present


def parse(text: str):
    """The filter's syntax tree (invalidFilter when it does not parse)."""
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_FILTER:
        raise ScimError(400, "The filter is empty or too long.", "invalidFilter")
    try:
        tree = SCIMParser().parse(SCIMLexer().tokenize(text))
    except (SCIMParserError, ValueError, TypeError, IndexError) as exc:
        raise ScimError(400, f"The filter does not parse: {exc}", "invalidFilter") from None
    if tree is None:
        raise ScimError(400, "The filter does not parse.", "invalidFilter")
    return tree


def to_sql(text: str, attributes: dict[str, Attribute]):
    """A WHERE clause for `text`; `attributes` maps lower-case paths (`emails.value`)."""
    return _Compiler(attributes).filter(parse(text), prefix=None)


class _Compiler:
    def __init__(self, attributes: dict[str, Attribute]):
        self.attributes = attributes

    def filter(self, node, prefix):
        if isinstance(node, ast.Filter):
            inner_prefix = prefix
            if node.namespace is not None:  # emails[type eq "work"]: paths inside are emails.*
                inner_prefix = self._path(node.namespace, prefix)
            clause = self.filter(node.expr, inner_prefix)
            return not_(clause) if node.negated else clause
        if isinstance(node, ast.LogExpr):
            left, right = self.filter(node.expr1, prefix), self.filter(node.expr2, prefix)
            return and_(left, right) if node.op.lower() == "and" else or_(left, right)
        if isinstance(node, ast.AttrExpr):
            return self.comparison(node, prefix)
        raise ScimError(400, "The filter is not supported.", "invalidFilter")

    def _path(self, path: ast.AttrPath, prefix) -> str:
        if path.uri and path.uri.lower() not in SCHEMAS:
            raise ScimError(400, f"Unknown schema {path.uri!r} in the filter.", "invalidFilter")
        if isinstance(path.attr_name, ast.Filter):
            raise ScimError(400, "The filter is not supported.", "invalidFilter")
        name = path.attr_name.lower()
        if path.sub_attr is not None:
            name = f"{name}.{path.sub_attr.value.lower()}"
        return f"{prefix}.{name}" if prefix else name

    def comparison(self, node: ast.AttrExpr, prefix):
        if isinstance(node.attr_path.attr_name, ast.Filter):
            # emails[type eq "work"].value eq "x": the bracket's condition AND the comparison
            inner = node.attr_path.attr_name
            outer = self._path(inner.namespace, prefix)
            selector = self.filter(ast.Filter(inner.expr, inner.negated, None), outer)
            sub = node.attr_path.sub_attr
            path = f"{outer}.{sub.value.lower()}" if sub else outer
            return and_(selector, self._compare(path, node))
        return self._compare(self._path(node.attr_path, prefix), node)

    def _compare(self, path: str, node: ast.AttrExpr):
        attribute = self.attributes.get(path) or self.attributes.get(f"{path}.value")
        if attribute is None:
            raise ScimError(400, f"Cannot filter on {path!r}.", "invalidFilter")
        op = node.value.lower()
        if op == "pr":
            return attribute.present if attribute.present is not None else \
                attribute.column.is_not(None)
        value = node.comp_value.value if node.comp_value is not None else None
        return _COMPARE.get(attribute.kind, _text)(attribute, op, value)


def _text(attribute: Attribute, op: str, value):
    if not isinstance(value, str):
        raise ScimError(400, "Compare text with a string.", "invalidFilter")
    if attribute.case_exact:
        return _text_clause(attribute.column, op, value)
    lowered = _text_clause(func.lower(attribute.column), op, value.lower())
    if value.isascii() or op in {"gt", "ge", "lt", "le"}:
        return lowered
    # SQLite's lower() (and PostgreSQL's under the C locale) folds ASCII only: a name such
    # as "Ventes Île-de-France" also matches as sent, so a directory finds what it created.
    exact = _text_clause(attribute.column, op, value)
    return and_(lowered, exact) if op == "ne" else or_(lowered, exact)


def _text_clause(column, op: str, value: str):
    if op in {"eq", "ne"}:
        return column == value if op == "eq" else or_(column != value, column.is_(None))
    if op in {"co", "sw", "ew"}:
        method = {"co": column.contains, "sw": column.startswith, "ew": column.endswith}[op]
        return method(value, autoescape=True)
    if op in {"gt", "ge", "lt", "le"}:
        return _ordered(column, op, value)
    raise ScimError(400, f"Unknown operator {op!r}.", "invalidFilter")


def _ordered(column, op: str, value):
    return {"gt": column > value, "ge": column >= value, "lt": column < value,
            "le": column <= value}[op]


def _boolean(attribute: Attribute, op: str, value):
    if op not in {"eq", "ne"} or str(value).lower() not in {"true", "false"}:
        raise ScimError(400, "Compare a boolean with eq or ne and true or false.",
                        "invalidFilter")
    wanted = str(value).lower() == "true"
    return attribute.column.is_(wanted if op == "eq" else not wanted)


def _datetime(attribute: Attribute, op: str, value):
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ScimError(400, f"{value!r} is not a date-time.", "invalidFilter") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if op in {"eq", "ne"}:
        return attribute.column == moment if op == "eq" else attribute.column != moment
    if op not in {"gt", "ge", "lt", "le"}:
        raise ScimError(400, f"{op!r} does not apply to a date-time.", "invalidFilter")
    return _ordered(attribute.column, op, moment)


def _identifier(attribute: Attribute, op: str, value):
    if op not in {"eq", "ne"}:
        raise ScimError(400, f"{op!r} does not apply to an id.", "invalidFilter")
    try:
        key = uuid.UUID(str(value))
    except ValueError:
        return false() if op == "eq" else true()
    if attribute.kind == "member":  # a membership test rather than a column
        clause = attribute.column(key)
        return clause if op == "eq" else not_(clause)
    return attribute.column == key if op == "eq" else attribute.column != key


def _constant(attribute: Attribute, op: str, value):
    """A value we always hold (an email's type is "work")."""
    return _text(Attribute(literal(attribute.column)), op, value)


_COMPARE = {"text": _text, "bool": _boolean, "datetime": _datetime, "id": _identifier,
            "member": _identifier, "constant": _constant}


def has_member(member_model, group_column):
    """`members.value eq "<id>"` on groups: a callable the id comparison uses."""
    def clause(user_id):
        return exists().where(member_model.group_id == group_column,
                              member_model.user_id == user_id)
    return clause
