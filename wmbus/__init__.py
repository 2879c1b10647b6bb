"""wmbus: see docs."""
