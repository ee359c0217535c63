from django.contrib import admin

from reviews.models import Review


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ["product", "author", "rating", "created_at"]
    list_filter = ["rating"]
    list_select_related = ["product", "author"]
    raw_id_fields = ["author", "product"]
