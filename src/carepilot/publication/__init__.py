"""Publication: open data, quality accounts, dashboard views and patient choice.

Everything here is built on the indicator results table (shared results contract)
after disclosure control. Functions return data, HTML fragments, Vega-Lite specs
or files; the web app mounts them behind thin routes. See ``docs/publication.md``.
"""
