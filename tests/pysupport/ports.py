"""Free ports for the servers a test starts, picked so that no two pickers
hand out the same one, in this process or any other: the C++ tests'
harness (tests/support/harness.cpp, the same rules), the Python tools, and
the shell tests and the stack fixture through tests/support/free-port.

A picked port is not bound until its server starts, seconds later for a
stack's server or a container's published port. So each port handed out
is held for HOLD_S by a file of its own in hold_dir(), its time the pick's,
and no picker hands out a held port. Ports are picked below the kernel's
ephemeral range: a port from it (what binding port 0 gives) can be taken by
any client's outgoing connection before the server binds it. Stacks take
ports from 15000 to 24000, a test's services from 24000: a stack that
starts beside a test never waits on a port the test picked, nor the
reverse (tests/stack_fixture.sh)."""

import fcntl
import os
import random
import socket
import time

HOLD_S = 900
STACK_FIRST, STACK_END = 15000, 24000


def hold_dir():
    """Where the held ports' files are: one directory a user, whatever a
    test sets TMPDIR to (tests/support/harness.cpp's hold() uses the
    same)."""
    return f"/tmp/millrace-ports-{os.getuid()}"


def _hold(port):
    """Holds `port` for HOLD_S unless a picker holds it now; whether it did.
    The file's lock makes the look and the hold one step."""
    path = hold_dir()
    os.makedirs(path, exist_ok=True)
    fd = os.open(os.path.join(path, str(port)), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        st = os.fstat(fd)
        if st.st_size > 0 and time.time() - st.st_mtime < HOLD_S:
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        return True
    finally:
        os.close(fd)


def _bindable(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def free_ports(count=1, for_stack=False):
    """The first of `count` consecutive ports that nothing binds now and no
    picker handed out in the last HOLD_S, now held: from 24000 up for a
    test's servers, below it `for_stack` (the module's text says why)."""
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        low = int(f.read().split()[0])
    if low <= STACK_END + 1000:
        raise RuntimeError(f"ephemeral ports start at {low}: no room below")
    first, end = (STACK_FIRST, STACK_END) if for_stack else (STACK_END, low)
    for _ in range(200):
        base = random.randrange(first, end - count + 1)
        block = range(base, base + count)
        if all(_bindable(p) for p in block) and all(_hold(p) for p in block):
            return base
    raise RuntimeError(f"no {count} free port(s) in a row between {first} and {end}")


def free_port(for_stack=False):
    """One port, as free_ports() picks them."""
    return free_ports(1, for_stack)
