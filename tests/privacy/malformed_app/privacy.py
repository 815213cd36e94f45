"""A declaration with a string where a tuple is expected: `data_subjects` would read letter by letter."""

from tessera.privacy.register import Activity, LegalBasis, Retention

activities = [
    Activity(
        name="malformed_app.newsletter",
        title="Newsletter",
        purpose="Send news",
        legal_basis=LegalBasis.CONSENT,
        data_subjects="Subscribers",
        data_categories=("Email address",),
        fields={"accounts.User": ["email"]},
        recipients=("Staff",),
        retention=Retention(description="Until withdrawal"),
        security_measures=("TLS",),
    )
]
