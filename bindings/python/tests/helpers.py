"""Small synthetic shops shared by the binding tests."""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))


def small_events():
    """Four users, five items; item 'mug' is the most popular."""
    return [
        ("alice", "mug", "purchase", 1.0, 1700000000),
        ("alice", "tea", "view", 1.0, 1700000100),
        ("bob", "mug", "cart", 1.0, 1700000200),
        ("bob", "kettle", "purchase", 1.0, 1700000300),
        ("carol", "mug", "view", 1.0, 1700000400),
        ("carol", "tea", "purchase", 1.0, 1700000500),
        ("dave", "spoon", "view", 1.0, 1700000600),
        ("dave", "cup", "view", 1.0, 1700000700),
    ]


def shared_file(rel):
    """Path of a shared dataset file (AISLE_SHARED_DATA or ../shared/data), or None."""
    roots = [os.environ.get("AISLE_SHARED_DATA"), os.path.join(TOP, "..", "shared", "data"),
             os.path.join(TOP, "..", "..", "shared", "data")]
    for r in roots:
        if r and os.path.exists(os.path.join(r, rel)):
            return os.path.join(r, rel)
    return None


def grid_events(users=30, items=20, per_user=5):
    """A deterministic shop large enough for factor models: user u buys
    items (7u + 3j) mod `items`."""
    return [("u%d" % u, "i%d" % ((u * 7 + j * 3) % items), "purchase", 1.0, 1700000000 + u * 10 + j)
            for u in range(users) for j in range(per_user)]
