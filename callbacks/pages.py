"""The one list of pages: the navigation, the router and ``create_app`` iterate it.

A page is declared once: its path and label (the sidebar), a description (Home), its
layout (``components/<page>.py``) and its ``register(app, services)``
(``callbacks/<page>.py``). Adding a page: write those two modules and add one entry here
(docs/development.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from callbacks import basket, cleaning, data, home, ml, profile, rfm, system
from components import basket as basket_page
from components import data as data_page
from components import home as home_page
from components import ml as ml_page
from components import profile as profile_page
from components import rfm as rfm_page
from components import system as system_page
from dashboard.data import SAMPLES


@dataclass(frozen=True)
class Page:
    """One page of the app.

    Attributes:
        path: URL path, also the navigation link's id.
        label: The navigation link's text.
        description: One line about the page (Home's workflow list).
        layout: ``services -> component``, the page body.
        register: ``(app, services) -> None`` functions that wire its callbacks.
    """

    path: str
    label: str
    description: str
    layout: Callable
    register: tuple[Callable, ...]


PAGES: tuple[Page, ...] = (
    Page(
        "/",
        "Home",
        "What is loaded and where to start",
        lambda services: home_page.layout(samples=SAMPLES),
        (home.register,),
    ),
    Page(
        "/data",
        "Data",
        "Upload, optimize, sample and preview",
        lambda services: data_page.layout(
            max_upload_mb=services.settings.max_upload_mb, samples=SAMPLES
        ),
        (data.register,),
    ),
    Page(
        "/profile",
        "Profile",
        "Quality, statistics, distributions, correlations",
        lambda services: profile_page.layout(),
        (profile.register, cleaning.register),
    ),
    Page(
        "/ml",
        "Machine Learning",
        "Compare classification and regression models",
        lambda services: ml_page.layout(),
        (ml.register,),
    ),
    Page(
        "/rfm",
        "Customer Value",
        "RFM scores, segments, clusters, lifetime value",
        lambda services: rfm_page.layout(),
        (rfm.register,),
    ),
    Page(
        "/basket",
        "Market Basket",
        "Products bought together: itemsets and rules",
        lambda services: basket_page.layout(),
        (basket.register,),
    ),
    Page(
        "/system",
        "System",
        "Memory, stored items, jobs, cleanup",
        lambda services: system_page.layout(),
        (system.register,),
    ),
)
