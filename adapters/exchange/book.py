"""One symbol's limit order book: price levels in a sorted key list, FIFO queues per level.

Each side keeps its level keys in an ascending list whose *last* element is the best price (bids are
keyed by price, asks by -price), so the common case, the best level emptying, is an O(1) pop.
Queues use lazy deletion: a cancelled or re-queued order is only unlinked from its level
(``order.level``/``order.prio`` no longer match the queue entry) and the stale entry is skipped when
it reaches the head, so cancel is O(1) apart from removing an emptied level (bisect).
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from decimal import Decimal

from .types import BUY, OS_NEW


class Order:
    """The venue's state of one order (mutable; reports are snapshots of it)."""

    __slots__ = (
        "account",
        "cl_ord_id",
        "cum_qty",
        "leaves",
        "level",
        "notional",
        "ord_type",
        "order_id",
        "order_qty",
        "price",
        "prio",
        "side",
        "status",
        "strategy",
        "symbol",
        "tif",
    )

    def __init__(
        self,
        order_id: str,
        cl_ord_id: str,
        symbol: str,
        side: str,
        qty: int,
        price: Decimal | None,
        ord_type: str,
        tif: str,
        account: str,
        strategy: str,
    ) -> None:
        self.order_id = order_id
        self.cl_ord_id = cl_ord_id
        self.symbol = symbol
        self.side = side
        self.order_qty = qty
        self.price = price
        self.ord_type = ord_type
        self.tif = tif
        self.account = account
        self.strategy = strategy
        self.cum_qty = 0
        self.leaves = qty
        self.notional = Decimal(0)
        self.status = OS_NEW
        self.level: Level | None = None
        self.prio = 0


class Level:
    __slots__ = ("count", "key", "orders", "price", "qty")

    def __init__(self, price: Decimal, key: Decimal) -> None:
        self.price = price
        self.key = key
        # (priority stamp, order); an entry is live only while order.level is self and the stamps match.
        self.orders: deque[tuple[int, Order]] = deque()
        self.qty = 0  # total leaves quantity of the live orders
        self.count = 0  # number of live orders

    def head(self) -> Order | None:
        """The live order with time priority, dropping stale entries on the way."""
        orders = self.orders
        while orders:
            prio, order = orders[0]
            if order.level is self and order.prio == prio:
                return order
            orders.popleft()
        return None

    def live_orders(self) -> list[Order]:
        return [o for p, o in self.orders if o.level is self and o.prio == p]


class BookSide:
    __slots__ = ("is_bid", "keys", "levels")

    def __init__(self, is_bid: bool) -> None:
        self.is_bid = is_bid
        self.keys: list[Decimal] = []  # ascending; keys[-1] is the best level
        self.levels: dict[Decimal, Level] = {}

    def best(self) -> Level | None:
        return self.levels[self.keys[-1]] if self.keys else None

    def add(self, order: Order, prio: int) -> None:
        """Queue ``order`` at the back of its price level."""
        price = order.price
        assert price is not None
        key = price if self.is_bid else price.copy_negate()  # exact, whatever the context
        level = self.levels.get(key)
        if level is None:
            level = self.levels[key] = Level(price, key)
            keys = self.keys
            if not keys or key > keys[-1]:
                keys.append(key)
            else:
                insort(keys, key)
        order.level = level
        order.prio = prio
        level.orders.append((prio, order))
        level.qty += order.leaves
        level.count += 1

    def remove(self, order: Order) -> None:
        """Unlink a live order (cancel, or re-queue after losing priority)."""
        level = order.level
        assert level is not None
        order.level = None
        level.qty -= order.leaves
        level.count -= 1
        if level.count == 0:
            self.drop(level)
        elif len(level.orders) > 2 * level.count + 32:
            # Many cancels behind the head: compact so the queue does not grow without bound.
            level.orders = deque(
                (p, o) for p, o in level.orders if o.level is level and o.prio == p
            )

    def drop(self, level: Level) -> None:
        """Remove an emptied level."""
        del self.levels[level.key]
        keys = self.keys
        if keys[-1] == level.key:
            keys.pop()
        else:
            del keys[bisect_left(keys, level.key)]

    def iter_levels(self) -> list[Level]:
        """Levels best first."""
        levels = self.levels
        return [levels[k] for k in reversed(self.keys)]

    def depth(self, n: int) -> list[tuple[Decimal, int]]:
        levels = self.levels
        return [(levels[k].price, levels[k].qty) for k in self.keys[: -n - 1 : -1]] if n > 0 else []


Top = tuple[Decimal | None, int, Decimal | None, int]
EMPTY_TOP: Top = (None, 0, None, 0)


class OrderBook:
    __slots__ = ("asks", "bids", "last_top", "symbol")

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.bids = BookSide(is_bid=True)
        self.asks = BookSide(is_bid=False)
        # top() as of the engine's last event on this book; only the engine changes the book, and
        # it records the top after each change, so this is also the top before the next one.
        self.last_top: Top = EMPTY_TOP

    def side(self, side: str) -> BookSide:
        return self.bids if side == BUY else self.asks

    def opposite(self, side: str) -> BookSide:
        return self.asks if side == BUY else self.bids

    def top(self) -> Top:
        """(bid, bid_size, ask, ask_size); a missing side is (None, 0)."""
        bids = self.bids
        asks = self.asks
        if bids.keys:
            b = bids.levels[bids.keys[-1]]
            if asks.keys:
                a = asks.levels[asks.keys[-1]]
                return (b.price, b.qty, a.price, a.qty)
            return (b.price, b.qty, None, 0)
        if asks.keys:
            a = asks.levels[asks.keys[-1]]
            return (None, 0, a.price, a.qty)
        return EMPTY_TOP
