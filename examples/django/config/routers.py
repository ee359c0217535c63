"""The analytics app lives in the "analytics" database, and nothing else does."""

ANALYTICS_APPS = {"analytics"}


class AnalyticsRouter:
    def db_for_read(self, model, **hints):
        return "analytics" if model._meta.app_label in ANALYTICS_APPS else None

    def db_for_write(self, model, **hints):
        return self.db_for_read(model, **hints)

    def allow_relation(self, obj1, obj2, **hints):
        in_analytics = {o._meta.app_label in ANALYTICS_APPS for o in (obj1, obj2)}
        return None if len(in_analytics) == 1 else False

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if app_label in ANALYTICS_APPS:
            return db == "analytics"
        return db != "analytics"
