from ninja import NinjaAPI, Schema

from tessera.core.api import answer_in_accepted_language, error_handlers_install

api = NinjaAPI(
    title="Tessera API",
    version="1",
    description=(
        "Meetings and cards for organisations. Authenticate with an organisation API key "
        "(`Authorization: Bearer tsk_…`). Answers are in English unless `Accept-Language` asks for French. "
        "Every error has the same body: `detail`, and `errors` per field when fields are at fault."
    ),
    urls_namespace="api",
)
error_handlers_install(api)
# Applied around the whole operation (authentication included), so every answer speaks one language.
api.add_decorator(answer_in_accepted_language, mode="view")


class HealthOut(Schema):
    status: str


@api.get("/health", tags=["platform"], auth=None, response=HealthOut)
def health(request):
    return {"status": "ok"}


api.add_router("/meetings/", "tessera.meetings.api.router")
api.add_router("/cards/", "tessera.cards.api.router")
api.add_router("/assistant/", "tessera.site.assistant.api.router")
