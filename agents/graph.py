"""The generator graph (DESIGN §4): planner → validator ⇄ planner → tool_runner → generator →
validator → END.

The validator is one node used in two phases (plan, then artifacts), which keeps the graph the
same as the design's picture. Routing functions read only the state the nodes wrote, so a job
resumed from its checkpoint takes exactly the path it would have taken uninterrupted.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph

from agents.nodes.generator import generator_node, route_after_generator
from agents.nodes.planner import planner_node
from agents.nodes.tool_runner import route_after_tool_runner, tool_runner_node
from agents.nodes.validator import route_after_validator, validator_node
from agents.state import GenContext, GenState


@lru_cache(maxsize=1)
def builder() -> StateGraph:
    """The uncompiled graph (built once per process; compile it with a checkpointer)."""
    graph = StateGraph(GenState, context_schema=GenContext)
    graph.add_node("planner", planner_node)
    graph.add_node("validator", validator_node)
    graph.add_node("tool_runner", tool_runner_node)
    graph.add_node("generator", generator_node)
    graph.add_edge(START, "planner")
    graph.add_edge("planner", "validator")
    graph.add_conditional_edges(
        "validator",
        route_after_validator,
        {"planner": "planner", "tool_runner": "tool_runner", "end": END},
    )
    graph.add_conditional_edges(
        "tool_runner", route_after_tool_runner, {"generator": "generator", "end": END}
    )
    graph.add_conditional_edges(
        "generator", route_after_generator, {"validator": "validator", "end": END}
    )
    return graph


def compile_graph(checkpointer: BaseCheckpointSaver | None = None) -> Any:
    return builder().compile(checkpointer=checkpointer, name="flowwright-generator")


def mermaid() -> str:
    """The agent graph as Mermaid text (`draw_mermaid`, never the PNG web service)."""
    return compile_graph().get_graph().draw_mermaid()
