"""Flowwright: plain English in, validated LangGraph workflows and code out."""

__version__ = "0.1.0"
