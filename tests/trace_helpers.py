"""What the trace tests share: a traced workflow (a retried step, a secret input). Their
`trace_db` fixture (a fresh, migrated state database) is in conftest.py."""

from __future__ import annotations

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZGEifQ.c2lnbmF0dXJl"
WORKFLOW = """
flowwright: "1"
name: traced
inputs:
  label: {type: string, required: true}
  api_token: {type: string, required: true}
steps:
  - {id: first, tool: nap, params: {label: "{{ inputs.label }}"}}
  - id: retry
    tool: flaky
    params: {key: traced, failures: 1}
    retry: {max_attempts: 3, backoff_s: 0}
  - id: last
    tool: echo
    params:
      value: {label: "{{ steps.first.output.label }}", token: "{{ inputs.api_token }}"}
outputs: {label: "{{ steps.last.output.label }}"}
"""
