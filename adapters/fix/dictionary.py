"""FIX field values and message layouts as DeltaTrace names them (the mapping's data, no logic).

Enumerations follow the FIX 4.2/4.4/5.0SP2 specifications; names are the capture format's payload
values (docs/capture-format.md). ``SESSION_FIELDS`` and ``REJECTS`` list, per MsgType, the optional
fields a payload carries: (tag, payload name, integer?). The tables are ``Final``: compiled, a
Final module constant is read as a C static, not looked up in the module's dict on every use.
"""

from __future__ import annotations

from typing import Final

SIDES: Final = {
    "1": "BUY",
    "2": "SELL",
    "3": "BUY_MINUS",
    "4": "SELL_PLUS",
    "5": "SELL_SHORT",
    "6": "SELL_SHORT_EXEMPT",
    "7": "UNDISCLOSED",
    "8": "CROSS",
    "9": "CROSS_SHORT",
}
ORD_TYPES: Final = {
    "1": "MARKET",
    "2": "LIMIT",
    "3": "STOP",
    "4": "STOP_LIMIT",
    "5": "MARKET_ON_CLOSE",
    "K": "MARKET_WITH_LEFTOVER_AS_LIMIT",
    "P": "PEGGED",
}
TIFS: Final = {
    "0": "DAY",
    "1": "GTC",
    "2": "OPG",
    "3": "IOC",
    "4": "FOK",
    "5": "GTX",
    "6": "GTD",
    "7": "AT_CLOSE",
}
EXEC_TYPES: Final = {
    "0": "NEW",
    "1": "PARTIAL_FILL",
    "2": "FILL",
    "3": "DONE_FOR_DAY",
    "4": "CANCELED",
    "5": "REPLACED",
    "6": "PENDING_CANCEL",
    "7": "STOPPED",
    "8": "REJECTED",
    "9": "SUSPENDED",
    "A": "PENDING_NEW",
    "B": "CALCULATED",
    "C": "EXPIRED",
    "D": "RESTATED",
    "E": "PENDING_REPLACE",
    "F": "TRADE",
    "G": "TRADE_CORRECT",
    "H": "TRADE_CANCEL",
    "I": "ORDER_STATUS",
}
ORD_STATUS: Final = {
    **EXEC_TYPES,
    "1": "PARTIALLY_FILLED",
    "2": "FILLED",
    "D": "ACCEPTED_FOR_BIDDING",
}
MD_ENTRY_TYPES: Final = {
    "0": "BID",
    "1": "OFFER",
    "2": "TRADE",
    "3": "INDEX_VALUE",
    "4": "OPENING_PRICE",
    "5": "CLOSING_PRICE",
    "6": "SETTLEMENT_PRICE",
    "7": "TRADING_SESSION_HIGH",
    "8": "TRADING_SESSION_LOW",
    "9": "VWAP",
    "B": "TRADE_VOLUME",
    "C": "OPEN_INTEREST",
}
MD_ACTIONS: Final = {"0": "NEW", "1": "CHANGE", "2": "DELETE"}
# Where an MD entry's price and size go in the MDTick payload.
MD_SLOTS: Final = {"0": ("bid", "bid_size"), "1": ("ask", "ask_size"), "2": ("last", "last_size")}
SESSION_TYPES: Final = frozenset({"A", "0", "1", "2", "4", "5"})
# Session payload fields per message: (tag, name, is_int).
SESSION_FIELDS: Final[dict[str, tuple[tuple[str, str, bool], ...]]] = {
    "A": (
        ("98", "encrypt_method", True),
        ("108", "heart_bt_int", True),
        ("141", "reset_seq_num_flag", False),
        ("1137", "default_appl_ver_id", False),
    ),
    "0": (("112", "test_req_id", False),),
    "1": (("112", "test_req_id", False),),
    "2": (("7", "begin_seq_no", True), ("16", "end_seq_no", True)),
    "4": (("36", "new_seq_no", True), ("123", "gap_fill_flag", False)),
    "5": (("58", "text", False),),
}
REJECTS: Final[dict[str, tuple[str, tuple[tuple[str, str, bool], ...]]]] = {
    "9": (
        "CANCEL_REJECT",
        (
            ("39", "ord_status", False),
            ("102", "cxl_rej_reason", True),
            ("434", "cxl_rej_response_to", False),
            ("58", "text", False),
        ),
    ),
    "3": (
        "SESSION_REJECT",
        (
            ("45", "ref_seq_num", True),
            ("371", "ref_tag_id", True),
            ("372", "ref_msg_type", False),
            ("373", "session_reject_reason", True),
            ("58", "text", False),
        ),
    ),
    "j": (
        "BUSINESS_REJECT",
        (
            ("45", "ref_seq_num", True),
            ("372", "ref_msg_type", False),
            ("379", "business_reject_ref_id", False),
            ("380", "business_reject_reason", True),
            ("58", "text", False),
        ),
    ),
}
OLD_BEGIN_STRINGS: Final = frozenset({"FIX.4.0", "FIX.4.1", "FIX.4.2"})
ORDER_ACTIONS: Final = {"D": "new", "F": "cancel", "G": "replace"}
MD_TYPES: Final = frozenset({"W", "X"})
KEY_TAGS: Final[tuple[tuple[str, str], ...]] = (
    ("55", "symbol"),
    ("11", "cl_ord_id"),
    ("41", "orig_cl_ord_id"),
    ("37", "order_id"),
    ("17", "exec_id"),
)

# The standard header every message must carry (the framer quarantines one without, naming them).
REQUIRED_HEADER: Final = (8, 9, 35, 49, 56, 34, 52)
HEADER_NAMES: Final = {
    8: "BeginString",
    9: "BodyLength",
    35: "MsgType",
    49: "SenderCompID",
    56: "TargetCompID",
    34: "MsgSeqNum",
    52: "SendingTime",
}
