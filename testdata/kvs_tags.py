"""EBML pieces for the scripts that make test and bench inputs: KVS-style Tags elements."""


def size(n, width):
    """EBML size VINT of a fixed width, like KVS's 4-byte "10 00 00 xx"."""
    return ((1 << (7 * width)) | n).to_bytes(width, "big")


def el(ident, body, width=1):
    """One element: hex ID, size of `width` bytes, body."""
    return bytes.fromhex(ident) + size(len(body), width) + body


def simple(name, value):
    """A SimpleTag with a string value."""
    return el("67C8", el("45A3", name.encode()) + el("4487", value.encode()))


def tags(*pairs):
    """A Tags element holding one Tag with a SimpleTag per (name, value), 4-byte sizes."""
    return el("1254C367", el("7373", b"".join(simple(n, v) for n, v in pairs), 4), 4)
