"""The admin site: Django's, with the dashboard and a clear page for locked-out logins."""

from __future__ import annotations

from django.contrib import admin
from django.urls import path

from . import views


class ConsoleAdminSite(admin.AdminSite):
    site_header = "Paper Digest administration"
    site_title = "Paper Digest admin"
    index_title = "Administration"
    index_template = "admin/console/index.html"

    def get_urls(self):
        dashboard = self.admin_view(views.DashboardView.as_view(site=self))
        return [path("dashboard/", dashboard, name="dashboard"), *super().get_urls()]
