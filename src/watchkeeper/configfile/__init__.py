"""Config-as-code: one watchkeeper.yaml validated by pydantic models (with file:line:column
errors), a generated JSON Schema, and a plan/apply that reconciles the objects the file owns.
An adapter like the CLI: it calls each domain's service layer and never touches their tables."""
