from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_save


class LinksConfig(AppConfig):
    name = "links"

    def ready(self) -> None:
        # A link's search text holds the names of the products it sells: a derived column, kept in step
        # like a cache whenever a product is saved (the catalog does not know about links).
        post_save.connect(_product_saved, sender="catalog.Product", dispatch_uid="links-search-text")


def _product_saved(sender, instance, **kwargs) -> None:
    from links.services import link_search_text_refresh_for_product

    link_search_text_refresh_for_product(product_id=instance.pk, name=instance.name)
