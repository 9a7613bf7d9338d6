import random

from gridsim.engine.scheduler import EventQueue


def test_pops_in_time_order_with_fifo_ties():
    q = EventQueue()
    rnd = random.Random(3)
    items = [(rnd.choice([1.0, 2.0, 2.0, 3.5]), i) for i in range(200)]
    for t, i in items:
        q.push(t, 0, i)
    out = [q.pop() for _ in range(len(q))]
    assert [e[0] for e in out] == sorted(t for t, _ in items)
    # equal times come out in insertion order
    for t in (1.0, 2.0, 3.5):
        ids = [e[3] for e in out if e[0] == t]
        assert ids == sorted(ids)
    assert q.peek_time() == float("inf")


def test_payloads_never_compared():
    q = EventQueue()
    q.push(1.0, 0, {"a": 1}, object())
    q.push(1.0, 0, {"b": 2}, object())   # dicts/objects are not orderable: seq must decide
    assert q.pop()[3] == {"a": 1}
