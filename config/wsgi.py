from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()


def _require_collected_static_files() -> None:
    """With DEBUG off, pages link to the hashed names listed in collectstatic's manifest: without it,
    every page would answer 500. Refuse to start instead, and say what to run."""
    from django.conf import settings
    from django.contrib.staticfiles.storage import staticfiles_storage
    from django.core.exceptions import ImproperlyConfigured

    manifest = getattr(staticfiles_storage, "manifest_name", None)  # only the manifest storages have one
    if manifest and not staticfiles_storage.exists(manifest):
        raise ImproperlyConfigured(
            f"The static files are not collected ({settings.STATIC_ROOT / manifest} is missing): "
            "run `uv run manage.py collectstatic --noinput` with the same environment, then start again."
        )


_require_collected_static_files()
