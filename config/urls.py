from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from config import settings_page, views
from config.roles import viewer_allowed
from links import views as links_views

urlpatterns = [
    path("", links_views.home, name="home"),
    path("", include("links.urls")),
    path("catalog/", include("catalog.urls")),
    path("orders/", include("links.order_urls")),
    path("customers/", include("links.customer_urls")),
    path("webhooks/", include("webhooks.urls")),
    path("settings/", settings_page.settings_page, name="settings"),
    path("settings/webhook/", settings_page.settings_webhook_register, name="settings-webhook"),
    path("settings/sync/", settings_page.settings_sync, name="settings-sync"),
    path("settings/role/", settings_page.settings_role, name="settings-role"),
    path("settings/unlock/", settings_page.settings_unlock, name="settings-unlock"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    # Viewers log out too (a POST, which the role rule would refuse them otherwise).
    path("accounts/logout/", viewer_allowed(auth_views.LogoutView.as_view()), name="logout"),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
]

if settings.STRIPE_SANDBOX_MODE:
    # Mounted only in sandbox mode: never beside a real Stripe key. The dashboard reaches these URLs
    # over HTTP through the Stripe SDK, never by import.
    urlpatterns.append(path("sandbox/", include("sandbox.urls")))

if settings.PAYLINKS_BENCH_FLOOR:
    # The benchmarks' floor (bench/, docs/performance.md): mounted only when asked for.
    urlpatterns.append(path("bench/floor", views.bench_floor, name="bench-floor"))
