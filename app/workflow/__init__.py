"""Workflow spec v1: models, loading, expressions and static validation."""
