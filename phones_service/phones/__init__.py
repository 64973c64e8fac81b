"""Phones resource: views, schemas and repository."""
