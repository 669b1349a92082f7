"""Staff roles (groups made by migration 0004): who may read, change, or also manage settings and users.

A staff member in none of the role groups keeps the editor's rights, so that an install that had staff
before roles existed goes on working; put such users in "Viewers" to make them read-only.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

# The groups keep these English names in the database; pages translate them ({% translate group.name %}).
VIEWERS, EDITORS, ADMINS = gettext_noop("Viewers"), gettext_noop("Editors"), gettext_noop("Admins")
ROLE_GROUPS = (VIEWERS, EDITORS, ADMINS)
SETTINGS_PERMISSION = "catalog.manage_settings"
# Methods that change nothing: viewers may use them on every staff view.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _roles(user) -> frozenset[str]:
    """The user's role groups, read once per request (one query, kept on the user object)."""
    if not hasattr(user, "_paylinks_roles"):
        user._paylinks_roles = frozenset(
            user.groups.filter(name__in=ROLE_GROUPS).values_list("name", flat=True)
        )
    return user._paylinks_roles


def user_can_edit(user) -> bool:
    if user.is_superuser:
        return True
    roles = _roles(user)
    # Staff without a role are editors (see the module docstring).
    return not roles or bool(roles & {EDITORS, ADMINS})


def user_can_manage_settings(user) -> bool:
    return user.is_superuser or ADMINS in _roles(user)


# The role rule is applied to every staff view by config.middleware.StaffRequiredMiddleware; views only
# carry marks for the exceptions, in the way of Django's ``login_not_required``.


def viewer_allowed(view):
    """Viewers may also POST (or PUT, PATCH, DELETE) to this view: for what changes nothing of the shop's
    (logging out), never for a view that saves."""
    view.viewer_allowed = True
    return view


def settings_required(view):
    """The whole view, every method, needs the admin's rights (settings, webhooks, roles)."""
    view.settings_required = True
    return view


def role_refusal(*, user, view, method: str) -> str:
    """Why ``user`` (signed-in staff) may not call ``view`` with ``method``; "" when they may."""
    if getattr(view, "settings_required", False) and not user_can_manage_settings(user):
        return _("This page needs the Admins role.")
    if method not in SAFE_METHODS and not getattr(view, "viewer_allowed", False) and not user_can_edit(user):
        return _(
            "Creating and changing things needs the Editors role: your account has the Viewers role, "
            "which can look but not change."
        )
    return ""


def role_admin_names() -> list[str]:
    """Who can give a role (the 403 page names them): active superusers and members of Admins."""
    from django.contrib.auth import get_user_model
    from django.db.models import Q

    model = get_user_model()
    users = model.objects.filter(is_active=True, is_staff=True)
    users = users.filter(Q(is_superuser=True) | Q(groups__name=ADMINS)).distinct()
    return [user.get_username() for user in users.order_by(model.USERNAME_FIELD)[:10]]


def staff_with_roles() -> list:
    """Every staff member by username, each with ``role_groups``: the role groups it is in (the settings
    page's table)."""
    from django.contrib.auth import get_user_model
    from django.db.models import Prefetch

    User = get_user_model()
    role_groups = Prefetch(
        "groups",
        queryset=User.groups.field.related_model.objects.filter(name__in=ROLE_GROUPS),
        to_attr="role_groups",
    )
    return list(User.objects.filter(is_staff=True).order_by("username").prefetch_related(role_groups))


def staff_role_set(*, user, role: str) -> None:
    """Give ``user`` exactly one role group (or none: "" keeps the editor's rights, see above)."""
    from django.contrib.auth.models import Group
    from django.db import transaction

    with transaction.atomic():
        if role and not Group.objects.filter(name=role).exists():
            roles_ensure()  # a database flushed since the migration (tests), or groups deleted by hand
        user.groups.remove(*Group.objects.filter(name__in=ROLE_GROUPS))
        if role:
            user.groups.add(Group.objects.get(name=role))


_CATALOG_AND_LINKS = [
    ("catalog", "product"),
    ("catalog", "price"),
    ("catalog", "shippingrate"),
    ("catalog", "coupon"),
    ("catalog", "promotioncode"),
    ("links", "paymentlink"),
    ("links", "paymentlinklineitem"),
    ("links", "order"),
]
_EDIT = [
    f"{app}.{action}_{model}" for app, model in _CATALOG_AND_LINKS for action in ("view", "add", "change")
]
ROLE_PERMISSIONS = {
    VIEWERS: [f"{app}.view_{model}" for app, model in _CATALOG_AND_LINKS],
    EDITORS: _EDIT,
    ADMINS: [
        *_EDIT,
        "auth.view_user",
        "auth.add_user",
        "auth.change_user",
        "auth.view_group",
        SETTINGS_PERMISSION,
    ],
}


def roles_ensure(*, group_model=None, permission_model=None, content_type_model=None) -> None:
    """Create the role groups and give them their permissions (idempotent). Migration 0004 passes its
    historical models; at run time the real ones are used."""
    if group_model is None:
        from django.contrib.auth.models import Group as group_model
        from django.contrib.auth.models import Permission as permission_model
        from django.contrib.contenttypes.models import ContentType as content_type_model
    product_type = content_type_model.objects.get_or_create(app_label="catalog", model="product")[0]
    permission_model.objects.get_or_create(
        codename="manage_settings",
        content_type=product_type,
        defaults={"name": "Can manage Paylinks settings (Stripe, webhooks, roles)"},
    )
    for name, perms in ROLE_PERMISSIONS.items():
        group = group_model.objects.get_or_create(name=name)[0]
        for perm in perms:
            app_label, codename = perm.split(".")
            permission = permission_model.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if permission is not None:
                group.permissions.add(permission)
