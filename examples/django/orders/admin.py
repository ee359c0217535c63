from django.contrib import admin

from orders.models import Order, OrderLine, OutboxEvent


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    raw_id_fields = ["product"]


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["pk", "owner", "status", "created_at", "total"]
    list_filter = ["status"]
    list_select_related = ["owner"]
    search_fields = ["owner__email"]
    inlines = [OrderLineInline]

    def get_queryset(self, request):
        return super().get_queryset(request).with_total()

    @admin.display(ordering="total")
    def total(self, order: Order):
        return order.total


@admin.register(OrderLine)
class OrderLineAdmin(admin.ModelAdmin):
    list_display = ["order", "product", "quantity", "unit_price"]
    list_select_related = ["order", "product"]
    raw_id_fields = ["order", "product"]


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin):
    list_display = ["pk", "topic", "created_at", "dispatched_at"]
    list_filter = ["topic"]
    readonly_fields = ["created_at"]
