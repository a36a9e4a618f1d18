"""The partitioned-network testbed: a deterministic discrete-event simulation of a trading setup.

``run_scenario(name, seed, out_dir)`` writes one capture (JSONL) per host and ``manifest.json``;
``SCENARIOS`` names and documents the scenarios (see ``scenarios.py``).
"""

from adapters.testbed.scenarios import SCENARIOS, Scenario, UnknownScenario
from adapters.testbed.world import World, run_scenario

__all__ = ["SCENARIOS", "Scenario", "UnknownScenario", "World", "run_scenario"]
