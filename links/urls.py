from __future__ import annotations

from django.urls import path

from links import views

app_name = "links"

urlpatterns = []
