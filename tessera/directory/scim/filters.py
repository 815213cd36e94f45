"""SCIM filters (RFC 7644 §3.4.2.2) turned into database queries.

scim2-models parses the filter (quoted strings and escapes, attribute names and operators in any case); this
module walks the tree it gives and answers a Q for the subset the endpoint serves: `eq` on userName,
externalId, displayName and id, joined by `and` or `or`. Anything else is refused as invalidFilter.
"""

import uuid

from django.db.models import Q
from scim2_models import Group, InvalidFilterException, ScimFilter, User
from scim2_models.path import CompareOperator, Comparison, LogicalExpr, LogicalOperator

# {resource: {attribute (case-folded): (lookup, case-insensitive?)}}
_FIELDS = {
    "User": {
        "username": ("user_name", True),
        "externalid": ("external_id", False),
        "displayname": ("scim_values__display_name", True),
        "id": ("scim_id", False),
    },
    "Group": {
        "displayname": ("display_name", True),
        "externalid": ("external_id", False),
        "id": ("scim_id", False),
    },
}
_SCHEMAS = {"User": str(User.__schema__).casefold(), "Group": str(Group.__schema__).casefold()}


def filter_q(text: str, *, resource: str) -> Q:
    """The query a filter stands for on the `resource` ("User" or "Group") rows; InvalidFilterException else."""
    try:
        tree = ScimFilter(text).ast
    except (ValueError, TypeError) as exc:
        raise InvalidFilterException(detail=str(exc)) from exc
    return _node(tree, resource)


def _node(node, resource: str) -> Q:
    if isinstance(node, LogicalExpr) and node.op in (LogicalOperator.and_, LogicalOperator.or_):
        parts = [_node(term, resource) for term in node.terms]
        combined = parts[0]
        for part in parts[1:]:
            combined = combined & part if node.op == LogicalOperator.and_ else combined | part
        return combined
    if isinstance(node, Comparison) and node.op == CompareOperator.eq:
        return _comparison(node, resource)
    raise InvalidFilterException(
        detail="Only `eq` on userName, externalId, displayName or id, joined by `and` or `or`, is supported"
    )


def _comparison(node: Comparison, resource: str) -> Q:
    path = node.attr_path
    if path.sub_attr is not None or (path.uri is not None and path.uri.casefold() != _SCHEMAS[resource]):
        raise InvalidFilterException(detail=f"Filtering on {path} is not supported")
    field = _FIELDS[resource].get(path.attr.casefold())
    if field is None:
        raise InvalidFilterException(detail=f"Filtering on {path.attr} is not supported")
    if not isinstance(node.value, str):
        raise InvalidFilterException(detail=f"{path.attr} is compared with a string")
    lookup, case_insensitive = field
    if lookup == "scim_id":
        try:
            return Q(scim_id=uuid.UUID(node.value))
        except ValueError:
            return Q(pk__in=[])  # not an id this service gives: matches nothing
    if lookup == "user_name":
        return Q(user_name=node.value.lower())  # kept lower-case
    return Q(**{f"{lookup}__iexact" if case_insensitive else lookup: node.value})
