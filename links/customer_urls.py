from __future__ import annotations

from django.urls import path

from links import customer_views as views

app_name = "customers"

urlpatterns = [
    # /customers/
    path("", views.customer_list, name="list"),
    path("<int:customer_id>/", views.customer_detail, name="detail"),
]
