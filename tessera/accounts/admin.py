from allauth.account import admin as allauth_admin
from allauth.account.models import EmailAddress
from allauth.mfa import admin as allauth_mfa_admin
from allauth.mfa.models import Authenticator
from allauth.socialaccount import admin as allauth_social_admin
from allauth.socialaccount.models import SocialAccount, SocialToken
from django.contrib import admin
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, OuterRef
from django.utils.translation import gettext_lazy as _

from tessera.core.admin import ReadLoggedAdmin, ReadLoggedMixin

from .models import Membership, Organisation, OrganisationApiKey, User
from .services import api_key_revoke

SECOND_FACTORS = [Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]


class UserCreationForm(auth_forms.AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "full_name")

    def clean_email(self):
        email = User.objects.normalize_email(self.cleaned_data["email"]).lower()
        if User.objects.filter(email__iexact=email).exists():
            raise ValidationError(_("A user with this email address already exists."), code="unique")
        return email


class UserChangeForm(auth_forms.UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"

    def clean_email(self):
        email = User.objects.normalize_email(self.cleaned_data["email"]).lower()
        if User.objects.filter(email__iexact=email).exclude(pk=self.instance.pk).exists():
            raise ValidationError(_("A user with this email address already exists."), code="unique")
        return email


class OrganisationMembershipInline(admin.TabularInline):
    model = Membership
    fk_name = "organisation"
    extra = 0
    autocomplete_fields = ["user"]
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]


class UserMembershipInline(admin.TabularInline):
    model = Membership
    fk_name = "user"
    extra = 0
    autocomplete_fields = ["organisation"]
    fields = ["organisation", "role", "created_at"]
    readonly_fields = ["created_at"]


class ApiKeyInline(admin.TabularInline):
    """Keys are shown, never created here: a key's secret is given once, by the service that creates it."""

    model = OrganisationApiKey
    extra = 0
    can_delete = False
    fields = ["name", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(User)
class UserAdmin(ReadLoggedMixin, DjangoUserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    ordering = ["email"]
    search_fields = ["email", "full_name"]
    list_display = [
        "email",
        "full_name",
        "is_active",
        "is_staff",
        "has_second_factor",
        "date_joined",
        "last_login",
    ]
    list_filter = ["is_active", "is_staff", "is_superuser", "language"]
    readonly_fields = ["date_joined", "last_login", "last_activity_at", "age_confirmed_at"]
    inlines = [UserMembershipInline]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (_("Personal information"), {"fields": ["full_name", "language", "age_confirmed_at"]}),
        (
            _("Permissions"),
            {
                "fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"],
                "description": _(
                    "Staff members must set up an authenticator app or a passkey before they can open the back-office."
                ),
            },
        ),
        (_("Activity"), {"fields": ["date_joined", "last_login", "last_activity_at"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": ["email", "full_name", "usable_password", "password1", "password2"],
            },
        ),
    ]

    def get_queryset(self, request):
        second_factor = Authenticator.objects.filter(user=OuterRef("pk"), type__in=SECOND_FACTORS)
        return super().get_queryset(request).annotate(_has_second_factor=Exists(second_factor))

    @admin.display(description=_("two-factor"), boolean=True, ordering="_has_second_factor")
    def has_second_factor(self, obj) -> bool:
        return obj._has_second_factor


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "member_count", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["created_at"]
    inlines = [OrganisationMembershipInline, ApiKeyInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_member_count=Count("memberships"))

    @admin.display(description=_("members"), ordering="_member_count")
    def member_count(self, obj) -> int:
        return obj._member_count


@admin.register(Membership)
class MembershipAdmin(ReadLoggedAdmin):
    list_display = ["user", "organisation", "role", "created_at"]
    list_filter = ["role", "organisation"]
    list_select_related = ["user", "organisation"]
    search_fields = ["user__email", "user__full_name", "organisation__name"]
    autocomplete_fields = ["user", "organisation"]
    readonly_fields = ["created_at"]


@admin.register(OrganisationApiKey)
class OrganisationApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "organisation", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["organisation"]
    search_fields = ["name", "prefix", "organisation__name"]
    fields = ["organisation", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Revoke the selected keys"), permissions=["change"])
    def revoke(self, request, queryset):
        for api_key in queryset.filter(revoked_at__isnull=True):
            api_key_revoke(api_key=api_key)


class EmailAddressAdmin(ReadLoggedMixin, allauth_admin.EmailAddressAdmin):
    """allauth's, with its action behind the change permission: a verified address identifies a person
    (sign-in, rights requests), so a staff member who may only look must not verify one."""

    @admin.action(description=_("Mark selected email addresses as verified"), permissions=["change"])
    def make_verified(self, request, queryset):
        return super().make_verified(request, queryset)


if admin.site.is_registered(EmailAddress):
    admin.site.unregister(EmailAddress)
admin.site.register(EmailAddress, EmailAddressAdmin)


# allauth's own pages, with their reads logged like every page over personal data (tessera.core.admin).
class AuthenticatorAdmin(ReadLoggedMixin, allauth_mfa_admin.AuthenticatorAdmin):
    pass


class SocialAccountAdmin(ReadLoggedMixin, allauth_social_admin.SocialAccountAdmin):
    pass


for model, model_admin in ((Authenticator, AuthenticatorAdmin), (SocialAccount, SocialAccountAdmin)):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, model_admin)
# A provider's tokens are credentials: no back-office page shows them.
if admin.site.is_registered(SocialToken):
    admin.site.unregister(SocialToken)
