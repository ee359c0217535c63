"""Data migration: the categories every shop starts with.

It runs once, when the schema is built; every database cloned from a migrated template
has these rows without running anything again.
"""

from django.db import migrations

DEFAULT_CATEGORIES = [
    ("uncategorized", "Uncategorized"),
    ("books", "Books"),
    ("electronics", "Electronics"),
    ("home-garden", "Home & Garden"),
]


def add_default_categories(apps, schema_editor):
    Category = apps.get_model("catalog", "Category")
    db_alias = schema_editor.connection.alias
    for slug, name in DEFAULT_CATEGORIES:
        Category.objects.using(db_alias).update_or_create(slug=slug, defaults={"name": name})


def remove_default_categories(apps, schema_editor):
    Category = apps.get_model("catalog", "Category")
    db_alias = schema_editor.connection.alias
    slugs = [slug for slug, _ in DEFAULT_CATEGORIES]
    Category.objects.using(db_alias).filter(slug__in=slugs, products__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(add_default_categories, remove_default_categories),
    ]
