"""Server-rendered HTML pages (Jinja2 + htmx). Handlers call domain services and render
templates with Read schemas; they hold no business rules."""
