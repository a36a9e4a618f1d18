"""Exchange-gateway sandbox: a deterministic matching engine and a pre-trade risk gateway.

    engine = MatchingEngine("XSIM")
    gateway = RiskGateway(engine, RiskLimits(max_qty=1000, collar_bps=Decimal(500)))
    results, reports = gateway.submit(NewOrder("C1", "ACME", BUY, 100, Decimal("101.25")), ts_ns)
    ticks = engine.drain_market_data()

Pure Python, no Django; every value is a dataclass with ``to_payload()`` in the capture format.
"""

from .engine import SELF_MATCH_MODES, MatchingEngine
from .risk import RiskGateway
from .types import (
    BUY,
    DAY,
    FOK,
    IOC,
    LIMIT,
    MARKET,
    RULES,
    SELL,
    BookSnapshot,
    CancelRequest,
    ExecReport,
    MDUpdate,
    NewOrder,
    ReplaceRequest,
    RiskLimits,
    RiskResult,
    Trade,
)

__all__ = [
    "BUY",
    "DAY",
    "FOK",
    "IOC",
    "LIMIT",
    "MARKET",
    "RULES",
    "SELF_MATCH_MODES",
    "SELL",
    "BookSnapshot",
    "CancelRequest",
    "ExecReport",
    "MDUpdate",
    "MatchingEngine",
    "NewOrder",
    "ReplaceRequest",
    "RiskGateway",
    "RiskLimits",
    "RiskResult",
    "Trade",
]
