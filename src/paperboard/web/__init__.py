"""The website: an app factory, typed dependencies, one module of routes per page group, templates and static files.

Routes only translate HTTP into calls of the plain services in `paperboard.catalog` (and, later, the other service
packages) and render their results with the templates; they hold no business logic of their own.
"""
