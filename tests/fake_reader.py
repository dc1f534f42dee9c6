"""A misbehaving mail reader for the analyser tests: speaks the frame protocol of
inbox_bot.adapters.reader, then does what argv[1] says with every mail ("hang", "crash",
"garbage"). No pytest import: it runs as its own process."""

from __future__ import annotations

import os
import signal
import struct
import sys
import time


def read_frame() -> bytes | None:
    head = sys.stdin.buffer.read(8)
    if len(head) < 8:
        return None
    return sys.stdin.buffer.read(struct.unpack(">Q", head)[0])


def main() -> None:
    mode = sys.argv[1]
    read_frame()  # the context
    while (mail := read_frame()) is not None and mail:
        if mode == "hang" or (mode == "hang-on-poison" and b"POISON" in mail):
            while True:
                time.sleep(60)  # a parser that never returns
        if mode == "crash":
            os.kill(os.getpid(), signal.SIGSEGV)
        payload = b"not a pickle"
        sys.stdout.buffer.write(struct.pack(">Q", len(payload)) + payload)
        sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
