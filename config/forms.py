"""The forms of config's own page (settings: staff roles, sign-in lockouts), and the choice field that every
app's forms build on."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from config.lockouts import LOCKOUT_PARAMETERS


class SafeModelChoiceField(forms.ModelChoiceField):
    """A choice looked up by a column: a NUL character (which PostgreSQL cannot compare) is an
    invalid choice, not a database error."""

    def to_python(self, value):
        if isinstance(value, str) and "\x00" in value:
            raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class StaffRoleForm(forms.Form):
    user = SafeModelChoiceField(label=_("Staff member"), queryset=None, to_field_name="username")
    role = forms.ChoiceField(
        label=_("Role"),
        required=False,
        choices=[
            ("", _("No role (editor's rights)")),
            ("Viewers", _("Viewer: reads everything")),
            ("Editors", _("Editor: changes the catalog and links")),
            ("Admins", _("Admin: also settings and roles")),
        ],
    )

    def __init__(self, *args, **kwargs):
        from django.contrib.auth import get_user_model

        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = get_user_model().objects.filter(is_staff=True)


class LockoutUnlockForm(forms.Form):
    """One of the sign-in lockouts listed on the settings page: a username or an address."""

    parameter = forms.ChoiceField(choices=[(name, name) for name in LOCKOUT_PARAMETERS])
    value = forms.CharField(max_length=255)
