import json
from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET, require_http_methods

from orders import services
from orders.models import Order


def api_login_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Like ``login_required``, but answers 401 with JSON instead of redirecting."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return JsonResponse({"error": "authentication_required"}, status=401)
        return view(request, *args, **kwargs)

    return wrapper


def _orders_for(request: HttpRequest):
    return Order.objects.for_user(request.user).with_total().prefetch_related("lines__product")


def _parse_items(request: HttpRequest) -> list[tuple[int, int]]:
    try:
        body = json.loads(request.body or b"{}")
        return [(int(item["product"]), item["quantity"]) for item in body["items"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise services.OrderError(
            'Expected {"items": [{"product": <id>, "quantity": <n>}, ...]}.'
        ) from exc


@require_http_methods(["GET", "POST"])
@api_login_required
def order_collection(request: HttpRequest) -> JsonResponse:
    if request.method == "GET":
        return JsonResponse({"results": [order.to_dict() for order in _orders_for(request)]})

    try:
        order = services.place_order(request.user, _parse_items(request))
    except services.InsufficientStock as exc:
        return JsonResponse(
            {
                "error": "insufficient_stock",
                "product": exc.product.slug,
                "requested": exc.requested,
                "available": exc.available,
            },
            status=409,
        )
    except services.ProductUnavailable as exc:
        return JsonResponse(
            {"error": "product_unavailable", "products": exc.product_ids}, status=400
        )
    except services.OrderError as exc:
        return JsonResponse({"error": "invalid_order", "detail": str(exc)}, status=400)
    return JsonResponse(_orders_for(request).get(pk=order.pk).to_dict(), status=201)


@require_GET
@api_login_required
def order_detail(request: HttpRequest, pk: int) -> JsonResponse:
    order = _orders_for(request).filter(pk=pk).first()
    if order is None:
        return JsonResponse({"error": "not_found"}, status=404)
    return JsonResponse(order.to_dict())


@require_http_methods(["POST"])
@api_login_required
def order_cancel(request: HttpRequest, pk: int) -> JsonResponse:
    order = Order.objects.for_user(request.user).filter(pk=pk).first()
    if order is None:
        return JsonResponse({"error": "not_found"}, status=404)
    try:
        services.cancel_order(order)
    except services.OrderNotCancellable as exc:
        return JsonResponse({"error": "not_cancellable", "detail": str(exc)}, status=409)
    return JsonResponse(_orders_for(request).get(pk=pk).to_dict())
