"""Reads of testimonials: the author's own, the desk's queue, and the published ones of the site."""

from django.db.models import Case, Count, IntegerField, Value, When

from tessera.accounts.selectors import organisations_administered

from .testimonials import Testimonial

QUEUE_LIMIT = 200
PUBLIC_FIELDS = ("public_id", "text", "name", "role", "company", "photo_version", "published_at")


def testimonials_of(*, user):
    return Testimonial.objects.filter(author=user).defer("photo").order_by("-created_at")


def testimonial_of(*, user, public_id: str) -> Testimonial | None:
    """The signed-in person's testimonial; None for anyone else's (a 404, with no hint it exists)."""
    if not user.is_authenticated:
        return None
    return Testimonial.objects.filter(author=user, public_id=public_id).defer("photo").first()


def testimonial_get(*, pk: int) -> Testimonial | None:
    return (
        Testimonial.objects.select_related("author", "organisation", "reviewer", "consent")
        .defer("photo")
        .filter(pk=pk)
        .first()
    )


def testimonial_queue(*, status: str = ""):
    """The desk's testimonials: those waiting for review first, then the newest."""
    testimonials = Testimonial.objects.select_related("author").defer("photo")
    if status in Testimonial.Status.values:
        testimonials = testimonials.filter(status=status)
    rank = Case(
        *(When(status=value, then=Value(i)) for i, value in enumerate(Testimonial.Status.values)),
        output_field=IntegerField(),
    )
    return testimonials.order_by(rank, "-created_at")[:QUEUE_LIMIT]


def testimonial_counts() -> dict:
    found = dict(Testimonial.objects.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    return {value: found.get(value, 0) for value in Testimonial.Status.values}


def testimonials_published(*, limit: int):
    """What the site shows: published, with the publication consent still in force, newest first."""
    return list(
        Testimonial.objects.filter(
            status=Testimonial.Status.PUBLISHED,
            consent__isnull=False,
            consent__answer=True,
            consent__withdrawn_at__isnull=True,
        )
        .only(*PUBLIC_FIELDS)
        .order_by("-published_at", "-pk")[: max(0, limit)]
    )


def testimonial_public_photo(*, public_id: str, version: str) -> bytes | None:
    """The photo of a published testimonial at this version; None once withdrawn, rejected or replaced."""
    photo = (
        Testimonial.objects.filter(
            public_id=public_id,
            photo_version=version,
            status=Testimonial.Status.PUBLISHED,
            consent__withdrawn_at__isnull=True,
        )
        .exclude(photo_version="")
        .values_list("photo", flat=True)
        .first()
    )
    return bytes(photo) if photo else None


def testimonial_photo(*, testimonial: Testimonial) -> bytes:
    return bytes(Testimonial.objects.filter(pk=testimonial.pk).values_list("photo", flat=True).first() or b"")


def organisations_spoken_for(*, user):
    """The organisations the person may speak for: those they administer."""
    return organisations_administered(user=user).order_by("name")
