from __future__ import annotations

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class ConsoleAdminConfig(admin_apps.AdminConfig):
    """Django's admin, with this project's site (dashboard, audit log, login lockout page)."""

    default = False
    default_site = "console.site.ConsoleAdminSite"


class ConsoleConfig(AppConfig):
    default = True
    name = "console"
    verbose_name = "Admin console"

    def ready(self) -> None:
        # Registers the audited models with django-auditlog once every app is loaded.
        from . import audit  # noqa: F401
