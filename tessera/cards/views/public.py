"""The public card: cookie-free, language from Accept-Language, nothing from third parties."""

import hashlib
from functools import wraps

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods

from tessera.core import pow
from tessera.core.csrf import form_token_make
from tessera.core.http import cookie_free
from tessera.core.ratelimit import ip_hash, limit_hit, too_many_requests

from .. import fastpath, formats, services
from ..analytics import stat_count, view_counter
from ..forms import ExchangeForm
from ..models import CardTemplate
from ..selectors import (
    card_is_public,
    card_page_version,
    card_public_get,
    card_public_profile,
    card_template_for,
)

EXCHANGE_IP_LIMIT = (5, 600)


def accept_language(view):
    """Outside i18n_patterns LocaleMiddleware picks the default language; public cards follow the browser."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        language = translation.get_language_from_request(request, check_path=False)
        with translation.override(language):
            request.LANGUAGE_CODE = language
            response = view(request, *args, **kwargs)
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()
        response.headers.setdefault("Content-Language", language)
        patch_vary_headers(response, ["Accept-Language"])
        return response

    return wrapped


def _not_found(request):
    response = render(request, "cards/public_404.html", status=404)
    patch_vary_headers(response, ["Accept-Language"])
    return response


def _card_or_404(slug):
    card = card_public_get(slug)
    if card is None:
        raise Http404
    return card


def _page_headers(response, *, shared: bool = False) -> None:
    # Accept-Encoding: the fast path (fastpath.py) answers the same URL gzip-encoded to clients that accept it.
    patch_vary_headers(response, ["Accept-Language", "Accept-Encoding"] if shared else ["Accept-Language"])
    # The shared page may be kept if revalidated (ETag), so a deactivated card is gone on the next visit.
    response["Cache-Control"] = "no-cache" if shared else "no-store"
    # Still no referrer to other sites, but the form's POST carries its Origin (not "null") for the CSRF check.
    response["Referrer-Policy"] = "same-origin"


def _page(request, card, *, form=None, status=200, sent=False, tokens: bool = True):
    """The card page; with `tokens`, the form carries this visitor's form token and challenge."""
    template = card_template_for(card)
    response = render(
        request,
        "cards/public_card.html",
        {
            "card": card,
            "profile": card_public_profile(card, template),
            "template_style": template,
            "form": form
            or ExchangeForm(
                initial={"challenge": pow.challenge_issue(scope=f"card:{card.slug}") if tokens else ""}
            ),
            "form_token": form_token_make() if tokens else "",
            "pow_bits": pow.difficulty() if tokens else "",
            "sent": sent,
            "share_url": formats.card_url(card, "link"),
        },
        status=status,
    )
    _page_headers(response)
    return response


PAGE_CACHE_SECONDS = 3600


@cookie_free
@accept_language
@require_http_methods(["GET", "HEAD"])
def card_page(request, slug):
    """The hot path: the same bytes for every visitor of a card version and language.

    The exchange form's token and challenge come from card_exchange_challenge when the visitor opens the
    form. One query, then the page from the cache; tessera.cards.fastpath keeps the response in front of
    Django for the next visitors.
    """
    found = card_page_version(slug)
    if found is None:
        return _not_found(request)
    card_id, version = found
    if request.method == "GET":
        counter = view_counter(
            source=request.GET.get("s", ""),
            referer=request.META.get("HTTP_REFERER", ""),
            host=request.get_host(),
        )
        stat_count(card_id=card_id, counter=counter)
    key = f"cards:page:{slug}:{version}:{translation.get_language()}"
    cached = cache.get(key)
    if cached is None:
        card = card_public_get(slug)
        if card is None:
            return _not_found(request)
        html = _page(request, card, tokens=False).content
        cached = (html, f'"{hashlib.sha256(html).hexdigest()[:32]}"')
        cache.set(key, cached, PAGE_CACHE_SECONDS)
    html, etag = cached
    response = HttpResponse(html)
    _page_headers(response, shared=True)
    response["ETag"] = etag
    fastpath.page_mark(request, card_id=card_id)
    response = get_conditional_response(request, etag=etag, response=response)
    _page_headers(response, shared=True)  # a 304 updates the stored headers: keep them the same
    return response


@cookie_free
@require_GET
def card_exchange_challenge(request, slug):
    """This visitor's form token and single-use proof-of-work challenge, fetched by the page's script."""
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        return JsonResponse({}, status=403)
    if not card_is_public(slug):
        return JsonResponse({}, status=404)
    response = JsonResponse(
        {
            "token": form_token_make(),
            "challenge": pow.challenge_issue(scope=f"card:{slug}"),
            "bits": pow.difficulty(),
        }
    )
    response["Cache-Control"] = "no-store"
    return response


@cookie_free
@accept_language
@require_http_methods(["POST"])
def card_exchange(request, slug):
    card = card_public_get(slug)
    if card is None:
        return _not_found(request)
    # Every post counts for its sender's address (an IPv6 /64); the card's own limit counts only posts
    # with a valid proof of work (services.lead_capture), so junk cannot close the form to others.
    limit, period = EXCHANGE_IP_LIMIT
    verdict = limit_hit(scope="cards.exchange.ip", key=ip_hash(request), limit=limit, period=period)
    if not verdict.allowed:
        return too_many_requests(request, verdict.retry_after)
    form = ExchangeForm(request.POST)
    if form.is_valid():
        try:
            services.lead_capture(
                card=card,
                data=form.cleaned_data,
                challenge=form.cleaned_data["challenge"],
                nonce=form.cleaned_data["nonce"],
                language=translation.get_language() or "fr",
            )
        except services.ExchangeLimited as limited:
            return too_many_requests(request, limited.retry_after)
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                for message in messages:
                    form.add_error(name if name in form.fields else None, message)
        else:
            return _page(request, card, sent=True, tokens=False)
    # A fresh challenge: the old one may be spent.
    data = request.POST.copy()
    data["challenge"] = pow.challenge_issue(scope=f"card:{card.slug}")
    data["nonce"] = ""
    form.data = data
    return _page(request, card, form=form, status=400)


def _download(content: bytes, content_type: str, filename: str | None = None, *, cache: str = "no-cache"):
    response = HttpResponse(content, content_type=content_type)
    if filename:
        response["Content-Disposition"] = formats.content_disposition(filename)
    response["Cache-Control"] = cache
    return response


@cookie_free
@accept_language
@require_GET
def card_vcard(request, slug):
    card = _card_or_404(slug)
    stat_count(card_id=card.pk, counter="vcard_saves")
    return _download(formats.card_vcard(card), "text/vcard; charset=utf-8", formats.vcard_filename(card))


@cookie_free
@require_GET
def card_qr(request, slug, kind):
    card = _card_or_404(slug)
    content_type = "image/svg+xml" if kind == "svg" else "image/png"
    return _download(formats.card_qr(card, kind), content_type, cache="public, max-age=3600")


@cookie_free
@require_GET
def card_ndef(request, slug):
    card = _card_or_404(slug)
    return _download(formats.card_ndef(card), "application/octet-stream", f"{card.slug}.ndef")


@cookie_free
@require_GET
def card_photo(request, slug, version):
    card = _card_or_404(slug)
    if not card.photo_version or card.photo_version != version or card.visibility.get("photo") == "vcard":
        raise Http404
    response = _download(bytes(card.photo_small), "image/jpeg", cache="public, max-age=31536000, immutable")
    response["Cross-Origin-Resource-Policy"] = "cross-origin"  # shown in emails' signatures, on any origin
    return response


@cookie_free
@require_GET
def template_stylesheet(request, public_id, version):
    template = CardTemplate.objects.filter(public_id=public_id).first()
    if template is None:
        raise Http404
    css = render(request, "cards/template.css", {"t": template}, content_type="text/css; charset=utf-8")
    css["Cache-Control"] = "public, max-age=31536000, immutable"
    return css


@cookie_free
@require_GET
def template_logo(request, public_id, version):
    template = CardTemplate.objects.filter(public_id=public_id).exclude(logo=b"").first()
    if template is None:
        raise Http404
    return _download(bytes(template.logo), "image/png", cache="public, max-age=31536000, immutable")
