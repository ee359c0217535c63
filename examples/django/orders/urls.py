from django.urls import path

from orders import views

app_name = "orders"

urlpatterns = [
    path("", views.order_collection, name="order-collection"),
    path("<int:pk>/", views.order_detail, name="order-detail"),
    path("<int:pk>/cancel/", views.order_cancel, name="order-cancel"),
]
