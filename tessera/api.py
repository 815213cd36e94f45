from ninja import NinjaAPI

api = NinjaAPI(
    title="Tessera API",
    version="1",
    description="Meetings and cards for organisations. Authenticate with an organisation API key.",
    urls_namespace="api",
)


@api.get("/health", tags=["platform"], auth=None)
def health(request):
    return {"status": "ok"}


api.add_router("/meetings/", "tessera.meetings.api.router")
api.add_router("/cards/", "tessera.cards.api.router")
