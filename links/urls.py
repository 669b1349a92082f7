from __future__ import annotations

from django.urls import path

from links import views

app_name = "links"

urlpatterns = [
    path("links/", views.link_list, name="list"),
    path("links/new/", views.link_create, name="create"),
    path("links/<uuid:public_id>/", views.link_detail, name="detail"),
    path("links/<uuid:public_id>/edit/", views.link_edit, name="edit"),
    path("links/<uuid:public_id>/active/", views.link_set_active, name="set-active"),
    path("links/<uuid:public_id>/qr.<str:kind>", views.link_qr, name="qr"),
    path("settings/", views.settings_page, name="settings"),
    path("settings/webhook/", views.settings_webhook_register, name="settings-webhook"),
    path("settings/sync/", views.settings_sync, name="settings-sync"),
    path("settings/role/", views.settings_role, name="settings-role"),
    path("settings/unlock/", views.settings_unlock, name="settings-unlock"),
]
