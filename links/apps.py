from __future__ import annotations

from django.apps import AppConfig


class LinksConfig(AppConfig):
    name = "links"
