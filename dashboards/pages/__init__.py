"""The dashboard's pages. Each module has `PATH`, `TITLE`, `layout(data, role)` and `register(app, data)`.

A page grows as the models land: a section whose table is not published yet says so instead of breaking.
"""

from dashboards.pages import campaigns, executive, lookup, maturity, pipeline, profitability, quality, segments

PAGES = (executive, profitability, segments, campaigns, lookup, quality, maturity, pipeline)
