"""The execution engine: a workflow spec compiled into a durable LangGraph `StateGraph`."""
