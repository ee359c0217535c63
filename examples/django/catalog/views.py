from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from catalog.models import Product


@require_GET
def product_list(request: HttpRequest) -> JsonResponse:
    products = Product.objects.active().select_related("category")
    category = request.GET.get("category")
    if category:
        products = products.filter(category__slug=category)
    if request.GET.get("in_stock") in {"1", "true"}:
        products = products.in_stock()
    return JsonResponse({"results": [product.to_dict() for product in products]})


@require_GET
def product_detail(request: HttpRequest, slug: str) -> JsonResponse:
    product = (
        Product.objects.active().select_related("category").with_rating().filter(slug=slug).first()
    )
    if product is None:
        return JsonResponse({"error": "not_found"}, status=404)
    data = product.to_dict()
    data["description"] = product.description
    data["review_count"] = product.review_count
    data["average_rating"] = (
        None if product.average_rating is None else round(float(product.average_rating), 2)
    )
    return JsonResponse(data)
