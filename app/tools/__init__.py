"""The tool catalog: built-in tools (DESIGN §3), user tools and planning-only catalogs."""
