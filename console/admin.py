"""The audit log's admin (django-auditlog's own), with a filter by who made each change."""

from __future__ import annotations

from auditlog.admin import LogEntryAdmin
from auditlog.models import LogEntry
from django.contrib import admin
from django.contrib.auth import get_user_model


class ActorFilter(admin.SimpleListFilter):
    title = "who"
    parameter_name = "actor"

    def lookups(self, request, model_admin):
        staff = get_user_model().objects.filter(is_staff=True).order_by("username")
        return [("none", "No one signed in (sign-ups, the pipeline)")] + [
            (str(user.pk), user.get_username()) for user in staff
        ]

    def queryset(self, request, queryset):
        if self.value() == "none":
            return queryset.filter(actor__isnull=True)
        if self.value():
            return queryset.filter(actor_id=self.value())
        return queryset


class AuditLogAdmin(LogEntryAdmin):
    list_filter = [ActorFilter, *LogEntryAdmin.list_filter]


admin.site.unregister(LogEntry)
admin.site.register(LogEntry, AuditLogAdmin)
