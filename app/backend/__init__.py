"""Backend target: a data model (file or plain English) → a FastAPI + SQLAlchemy 2.0 service."""
