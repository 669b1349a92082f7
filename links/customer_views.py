"""The customers pages (staff only; viewers read them): the list, with its search and sorts, and one
customer with their totals, links and orders. The reads are in ``links/customers.py``."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from catalog.selectors import shop_currency
from config.pagination import COUNT_CAP, SEARCH_COUNT_CAP, CappedPaginator
from links import customers, disputes
from links.forms import CustomerFilterForm

CUSTOMERS_PER_PAGE = 50
ORDERS_PER_PAGE = 50


@require_GET
@vary_on_headers("HX-Request")
def customer_list(request: HttpRequest) -> HttpResponse:
    filters = CustomerFilterForm(request.GET)
    currency = shop_currency()
    query = filters.values["q"]
    cap = SEARCH_COUNT_CAP if query else COUNT_CAP
    rows = customers.customer_list(query=query, sort=filters.sort, currency=currency, count_cap=cap)
    page = CappedPaginator(rows, CUSTOMERS_PER_PAGE, cap=cap).get_page(request.GET.get("page"))
    customers.customers_page_details(customers=page.object_list, currency=currency)
    context = {"page": page, "filters": filters, "query": filters.query(), "currency": currency}
    template = "links/customer_list.html" + ("#customer-table" if request.htmx else "")
    return render(request, template, context)


@require_GET
@vary_on_headers("HX-Request")
def customer_detail(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = customers.customer_get(customer_id=customer_id)
    # The orders list's states for each order (authorised, refunded, disputed), in the page's one query.
    orders = disputes.orders_with_open_dispute(customers.customer_orders(customer=customer))
    page = CappedPaginator(orders, ORDERS_PER_PAGE).get_page(request.GET.get("page"))
    links, links_more = customers.customer_links(customer=customer)
    context = {
        "customer": customer,
        "spends": customers.customer_spends(customer=customer, currency=shop_currency()),
        "links": links,
        "links_more": links_more,
        "page": page,
    }
    template = "links/customer_detail.html" + ("#customer-orders" if request.htmx else "")
    return render(request, template, context)
