"""Server-rendered pages, one module per page group, each exposing a `router`."""
