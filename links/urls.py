from __future__ import annotations

from django.urls import path

from links import views

app_name = "links"

urlpatterns = [
    path("links/", views.link_list, name="list"),
    path("links/bulk/", views.link_bulk, name="bulk"),
    path("links/new/", views.link_create, name="create"),
    path("links/<uuid:public_id>/", views.link_detail, name="detail"),
    path("links/<uuid:public_id>/edit/", views.link_edit, name="edit"),
    path("links/<uuid:public_id>/active/", views.link_set_active, name="set-active"),
    path("links/<uuid:public_id>/qr.<str:kind>", views.link_qr, name="qr"),
]
