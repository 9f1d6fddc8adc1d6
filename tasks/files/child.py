"""The confined renderer: `python -m tasks.files.child KIND MAX_PAGES`, the file on stdin.

It limits itself (CPU, memory, files) before it reads the file, then writes one reply
(`protocol.Reply`) to stdout and exits 0; a death by signal is the parent's to read.
"""

from __future__ import annotations

import sys

from tasks.files.limits import MAX_DOWNLOAD_BYTES, confine


def main(argv: list[str]) -> int:
    confine()
    from tasks.files.convert import convert  # after the limits: the readers load under them
    from tasks.files.protocol import Reply, encode

    kind, max_pages = argv[0], int(argv[1])
    data = sys.stdin.buffer.read(MAX_DOWNLOAD_BYTES + 1)
    too_big = len(data) > MAX_DOWNLOAD_BYTES
    reply = Reply(reason="too_big") if too_big else convert(kind, data, max_pages)
    sys.stdout.buffer.write(encode(reply))
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
