"""Drives the fake E2B with the official Python SDK, unchanged.

Optional, not run in CI. Needs `pip install e2b` (tried with 2.63.0);
`tests/sdk/run-python-smoke.sh` starts the fake and runs it, or by hand:

    cargo run -p hero-tests --bin fake-e2b -- --port 3000 &
    E2B_API_KEY=e2b_fake E2B_API_URL=http://127.0.0.1:3000 \
    E2B_SANDBOX_URL=http://127.0.0.1:3000 python3 tests/sdk/python_sdk_smoke.py

Exits non-zero, with the failing step, if the fake and the SDK disagree.
"""

import os
import sys
import time
import uuid

from e2b import Sandbox, SandboxQuery
from e2b.exceptions import TimeoutException
from e2b.sandbox.commands.command_handle import CommandExitException


def main() -> None:
    for name in ("E2B_API_KEY", "E2B_API_URL", "E2B_SANDBOX_URL"):
        if not os.environ.get(name):
            sys.exit(f"{name} must point at the fake (see the docstring)")

    tag = uuid.uuid4().hex
    sandbox = Sandbox.create(timeout=120, metadata={"suite": tag, "who": "a b&c"}, envs={"GLOBAL": "g"})
    print("created", sandbox.sandbox_id)

    result = sandbox.commands.run("echo hello; echo oops >&2; echo $GLOBAL $LOCAL", envs={"LOCAL": "l"})
    assert result.exit_code == 0, result
    assert result.stdout == "hello\ng l\n", repr(result.stdout)
    assert result.stderr == "oops\n", repr(result.stderr)

    streamed = []
    sandbox.commands.run("echo one; sleep 0.3; echo two", on_stdout=streamed.append)
    assert streamed == ["one\n", "two\n"], streamed

    try:
        sandbox.commands.run("exit 3")
        raise AssertionError("a failing command should raise")
    except CommandExitException as error:
        assert error.exit_code == 3, error

    try:
        sandbox.commands.run("sleep 10", timeout=1)
        raise AssertionError("a command past its timeout should raise")
    except TimeoutException:
        pass

    sandbox.files.write("/home/user/dir/a.txt", "text contents")
    sandbox.files.write("/home/user/dir/b.bin", b"\x00\x01binary")
    assert sandbox.files.read("/home/user/dir/a.txt") == "text contents"
    assert sandbox.files.read("/home/user/dir/b.bin", format="bytes") == b"\x00\x01binary"
    names = sorted(entry.name for entry in sandbox.files.list("/home/user/dir"))
    assert names == ["a.txt", "b.bin"], names
    info = sandbox.files.get_info("/home/user/dir/a.txt")
    assert info.size == len("text contents"), info
    assert sandbox.files.make_dir("/home/user/new") is True
    assert sandbox.files.make_dir("/home/user/new") is False
    assert sandbox.files.exists("/home/user/dir/a.txt")
    sandbox.files.rename("/home/user/dir/a.txt", "/home/user/new/moved.txt")
    assert sandbox.files.read("/home/user/new/moved.txt") == "text contents"
    sandbox.files.remove("/home/user/new")
    assert not sandbox.files.exists("/home/user/new")

    handle = sandbox.commands.run("sleep 30", background=True)
    pids = [process.pid for process in sandbox.commands.list()]
    assert handle.pid in pids, (handle.pid, pids)
    assert sandbox.commands.kill(handle.pid)

    info = sandbox.get_info()
    assert info.metadata["suite"] == tag, info
    assert sandbox.is_running()

    listed = Sandbox.list(query=SandboxQuery(metadata={"suite": tag, "who": "a b&c"})).next_items()
    assert [s.sandbox_id for s in listed] == [sandbox.sandbox_id], listed
    assert Sandbox.list(query=SandboxQuery(metadata={"suite": "other"})).next_items() == []

    peer = Sandbox.create(metadata={"suite": tag})
    pages = Sandbox.list(query=SandboxQuery(metadata={"suite": tag}), limit=1)
    seen = []
    while pages.has_next:
        page = pages.next_items()
        assert len(page) <= 1, page
        seen.extend(s.sandbox_id for s in page)
    assert sorted(seen) == sorted([sandbox.sandbox_id, peer.sandbox_id]), seen
    assert peer.kill() is True

    same = Sandbox.connect(sandbox.sandbox_id)
    assert same.commands.run("echo again").stdout == "again\n"

    sandbox.set_timeout(1)
    time.sleep(2.5)
    assert not sandbox.is_running(), "the sandbox should have expired"
    assert Sandbox.kill(sandbox.sandbox_id) is False

    other = Sandbox.create()
    assert other.kill() is True
    assert not other.is_running()
    print("the official SDK drove the fake: ok")


if __name__ == "__main__":
    main()
