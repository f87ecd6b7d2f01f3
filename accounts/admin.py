from __future__ import annotations

from django.contrib import admin

from .models import InterestProfile, Subscriber


class InterestProfileInline(admin.StackedInline):
    model = InterestProfile
    can_delete = False
    filter_horizontal = ()
    raw_id_fields = ("seed_papers",)


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = ("email", "status", "created_at", "confirmed_at", "next_digest_at")
    list_filter = ("status",)
    search_fields = ("email",)
    readonly_fields = ("consent_at", "consent_ip", "consent_user_agent", "consent_source")
    inlines = (InterestProfileInline,)
