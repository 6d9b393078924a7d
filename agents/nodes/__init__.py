"""The agents of the generator graph (DESIGN §4): planner, validator, tool_runner, generator."""
