"""The SCIM 2.0 endpoint (RFC 7644) at /scim/v2/: Users, Groups and the three discovery documents.

Each view reads the request (scim2-models validates it), makes one service call, and answers the resource
as Tessera keeps it. An id of another organisation answers 404, exactly like an id that does not exist.
"""

from scim2_models import (
    Context,
    Group,
    ListResponse,
    NotFoundException,
    PatchOp,
    ResponseParameters,
)

from ..services import scim as services
from . import selectors
from .filters import filter_q
from .http import base_url, paging, read, scim_endpoint, scim_response
from .resources import PROVIDER, UserResource, group_resource, user_resource


def _parameters(request, model) -> ResponseParameters | None:
    attributes = request.GET.get("attributes")
    excluded = request.GET.get("excludedAttributes")
    if not attributes and not excluded:
        return None
    return ResponseParameters[model].model_validate(
        {"attributes": attributes, "excludedAttributes": excluded}
    )


def _dump(resource, request, *, model, context=Context.RESOURCE_QUERY_RESPONSE) -> dict:
    return resource.model_dump(scim_ctx=context, response_parameters=_parameters(request, model))


def _listing(request, rows, *, model, build) -> dict:
    """A ListResponse page of the rows `rows` selects, each made a resource by `build`."""
    kind = "Group" if model is Group else "User"
    q = filter_q(request.GET["filter"], resource=kind) if request.GET.get("filter") else None
    rows = rows(request.organisation, q)
    start, count = paging(request)
    total = rows.count()
    page = [build(row) for row in rows[start - 1 : start - 1 + count]] if count else []
    listing = ListResponse[model](
        total_results=total, start_index=start, items_per_page=len(page), resources=page
    )
    payload = listing.model_dump(
        scim_ctx=Context.SEARCH_RESPONSE, response_parameters=_parameters(request, model)
    )
    payload.setdefault("Resources", [])
    return payload


def _not_found(kind: str, scim_id: str) -> NotFoundException:
    return NotFoundException(detail=f"{kind} {scim_id} not found")


@scim_endpoint("GET", "POST", "PUT", "PATCH", "DELETE")
def unknown(request):
    """A path SCIM does not define here (/Bulk, /Me, /.search...): a SCIM 404, not a web page."""
    raise NotFoundException(detail=f"{request.path} is not an endpoint of this service")


# --- discovery -----------------------------------------------------------------------------------------


def _discovery_list(resources, context) -> dict:
    items = list(resources)
    listing = ListResponse[type(items[0])](
        total_results=len(items), start_index=1, items_per_page=len(items), resources=items
    )
    return listing.model_dump(scim_ctx=context)


@scim_endpoint("GET")
def service_provider_config(request):
    return scim_response(PROVIDER.config.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))


@scim_endpoint("GET")
def resource_types(request, name: str = ""):
    if not name:
        return scim_response(_discovery_list(PROVIDER.resource_types, Context.SEARCH_RESPONSE))
    found = next(
        (item for item in PROVIDER.resource_types if str(item.id).casefold() == name.casefold()), None
    )
    if found is None:
        raise _not_found("ResourceType", name)
    return scim_response(found.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))


@scim_endpoint("GET")
def schemas(request, urn: str = ""):
    if not urn:
        return scim_response(_discovery_list(PROVIDER.schemas, Context.SEARCH_RESPONSE))
    found = next((item for item in PROVIDER.schemas if str(item.id).casefold() == urn.casefold()), None)
    if found is None:
        raise _not_found("Schema", urn)
    return scim_response(found.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))


# --- Users ---------------------------------------------------------------------------------------------


@scim_endpoint("GET", "POST")
def users(request):
    url = base_url(request)
    if request.method == "GET":
        return scim_response(
            _listing(
                request,
                selectors.scim_users,
                model=UserResource,
                build=lambda row: user_resource(row, base_url=url),
            )
        )
    resource = read(UserResource, request, Context.RESOURCE_CREATION_REQUEST)
    created = user_resource(
        services.scim_user_create(organisation=request.organisation, resource=resource), base_url=url
    )
    return scim_response(
        created.model_dump(scim_ctx=Context.RESOURCE_CREATION_RESPONSE),
        status=201,
        location=created.meta.location,
    )


@scim_endpoint("GET", "PUT", "PATCH", "DELETE")
def user(request, scim_id: str):
    external_user = selectors.scim_user(request.organisation, scim_id)
    if external_user is None:
        raise _not_found("User", scim_id)
    if request.method == "DELETE":
        services.scim_user_delete(external_user=external_user)
        return scim_response(status=204)
    if request.method == "PUT":
        resource = read(UserResource, request, Context.RESOURCE_REPLACEMENT_REQUEST)
        external_user = services.scim_user_replace(external_user=external_user, resource=resource)
        context = Context.RESOURCE_REPLACEMENT_RESPONSE
    elif request.method == "PATCH":
        patch = read(PatchOp[UserResource], request, Context.RESOURCE_PATCH_REQUEST)
        external_user = services.scim_user_patch(external_user=external_user, patch=patch)
        context = Context.RESOURCE_PATCH_RESPONSE
    else:
        context = Context.RESOURCE_QUERY_RESPONSE
    resource = user_resource(external_user, base_url=base_url(request))
    return scim_response(_dump(resource, request, model=UserResource, context=context))


# --- Groups --------------------------------------------------------------------------------------------


def _members_wanted(request) -> bool:
    """Whether the answer carries members: Entra asks for groups with excludedAttributes=members."""
    excluded = {part.strip().casefold() for part in request.GET.get("excludedAttributes", "").split(",")}
    return not excluded & {"members", f"{str(Group.__schema__).casefold()}:members"}


@scim_endpoint("GET", "POST")
def groups(request):
    url, members = base_url(request), _members_wanted(request)
    if request.method == "GET":
        return scim_response(
            _listing(
                request,
                selectors.scim_groups,
                model=Group,
                build=lambda row: group_resource(row, base_url=url, members=members),
            )
        )
    resource = read(Group, request, Context.RESOURCE_CREATION_REQUEST)
    created = group_resource(
        services.scim_group_create(organisation=request.organisation, resource=resource), base_url=url
    )
    return scim_response(
        created.model_dump(scim_ctx=Context.RESOURCE_CREATION_RESPONSE),
        status=201,
        location=created.meta.location,
    )


@scim_endpoint("GET", "PUT", "PATCH", "DELETE")
def group(request, scim_id: str):
    external_group = selectors.scim_group(request.organisation, scim_id)
    if external_group is None:
        raise _not_found("Group", scim_id)
    if request.method == "DELETE":
        services.scim_group_delete(group=external_group)
        return scim_response(status=204)
    if request.method == "PATCH":
        patch = read(PatchOp[Group], request, Context.RESOURCE_PATCH_REQUEST)
        services.scim_group_patch(group=external_group, patch=patch)
        return scim_response(status=204)
    context = Context.RESOURCE_QUERY_RESPONSE
    if request.method == "PUT":
        resource = read(Group, request, Context.RESOURCE_REPLACEMENT_REQUEST)
        external_group = services.scim_group_replace(group=external_group, resource=resource)
        context = Context.RESOURCE_REPLACEMENT_RESPONSE
    resource = group_resource(external_group, base_url=base_url(request), members=_members_wanted(request))
    return scim_response(_dump(resource, request, model=Group, context=context))
