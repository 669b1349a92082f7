"""The benchmarks' floor (config/views.py): mounted only when asked for, and doing only what it says."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from django.urls import Resolver404, resolve

from config.views import bench_floor

pytestmark = pytest.mark.django_db


def test_the_floor_is_not_mounted_by_default():
    with pytest.raises(Resolver404):
        resolve("/bench/floor")


def test_floor_answers_without_touching_the_database(django_assert_num_queries):
    with django_assert_num_queries(0):
        response = bench_floor(RequestFactory().get("/bench/floor"))

    assert response.status_code == 200
