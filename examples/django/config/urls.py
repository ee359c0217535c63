from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/products/", include("catalog.urls")),
    path("api/orders/", include("orders.urls")),
]
