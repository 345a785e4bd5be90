"""Deterministic simulator of the provincial one-stop system and the national portal (loopback HTTP).

SIMULATED DATA ONLY: fictional ward, procedures' timings and applicants.
"""

from cchc.simulator.excel_export import EXCEL_HEADERS, export_excel
from cchc.simulator.server import Faults, SimulatorServer, make_server, running
from cchc.simulator.ward import (
    DEFAULT_OFFICERS,
    DEFAULT_PROCEDURES,
    DEFAULT_UNITS,
    PERSONAL_KEYS,
    PROVINCIAL_FIELD_MAP,
    Officer,
    Procedure,
    SyntheticWard,
    Unit,
)

__all__ = [
    "DEFAULT_OFFICERS",
    "DEFAULT_PROCEDURES",
    "DEFAULT_UNITS",
    "EXCEL_HEADERS",
    "PERSONAL_KEYS",
    "PROVINCIAL_FIELD_MAP",
    "Faults",
    "Officer",
    "Procedure",
    "SimulatorServer",
    "SyntheticWard",
    "Unit",
    "export_excel",
    "make_server",
    "running",
]
