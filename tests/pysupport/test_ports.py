"""unit.test-ports: a port one picker handed out is not handed out by
another, in this process or another, until its hold ends
(tests/pysupport/ports.py)."""

import os
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from pysupport import ports  # noqa: E402

FREE_PORT = os.path.join(os.path.dirname(HERE), "support", "free-port")


def held_elsewhere(port):
    """Whether another process finds `port` held (it would not hand it out)."""
    code = f"import sys; sys.path.insert(0, {os.path.dirname(HERE)!r}); " \
           f"from pysupport import ports; sys.exit(0 if ports._hold({port}) else 3)"
    rc = subprocess.run([sys.executable, "-c", code], timeout=30).returncode
    if rc not in (0, 3):
        raise AssertionError(f"the other process failed ({rc})")
    return rc == 3


class Ports(unittest.TestCase):
    def test_a_port_handed_out_is_held_for_every_other_picker(self):
        port = ports.free_port()
        self.assertGreaterEqual(port, ports.STACK_END)
        self.assertFalse(ports._hold(port), "held again in the same process")
        self.assertTrue(held_elsewhere(port), "handed out again by another process")

    def test_a_block_is_held_whole(self):
        first = int(subprocess.run([FREE_PORT, "--stack", "--count", "4"], check=True,
                                   capture_output=True, text=True, timeout=30).stdout)
        self.assertTrue(ports.STACK_FIRST <= first and first + 4 <= ports.STACK_END)
        for port in range(first, first + 4):
            self.assertFalse(ports._hold(port), f"{port} of the block is not held")

    def test_a_hold_ends(self):
        port = ports.free_port()
        path = os.path.join(ports.hold_dir(), str(port))
        past = time.time() - ports.HOLD_S - 1
        os.utime(path, (past, past))
        self.assertFalse(held_elsewhere(port), "still held past its hold")
        self.assertFalse(ports._hold(port), "the other process's new hold is not kept")


if __name__ == "__main__":
    unittest.main()
