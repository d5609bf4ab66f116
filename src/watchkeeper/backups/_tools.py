"""Running the backup tools: a subprocess with a timeout (its whole process group is killed
when it runs over), stdout and stderr captured together and capped (the head and the tail are
kept), and every secret value scrubbed from what is kept."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence

OUTPUT_HEAD = 8 * 1024
OUTPUT_TAIL = 56 * 1024
_PROBLEM_WORDS = ("does not match", "error", "invalid", "damaged", "missing", "not found", "failed")


@dataclasses.dataclass(frozen=True)
class Result:
    argv: tuple[str, ...]
    returncode: int | None  # None: killed at the timeout
    output: str
    seconds: float
    stdout_bytes: bytes = b""  # only when asked for (restic --json), capped like the output

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def why(self) -> str:
        """One line saying how the program failed."""
        name = os.path.basename(self.argv[0])
        if self.returncode is None:
            return f"{name} ran past the timeout ({self.seconds:.0f}s) and was stopped"
        lines = [line.strip() for line in self.output.splitlines() if line.strip()]
        last = lines[-1] if lines else "no output"
        # restic and pg_restore end with a summary ("Fatal: repository contains errors"); the
        # line that says what is wrong comes earlier.
        first = next((line for line in lines[:-1] if any(k in line.lower() for k in _PROBLEM_WORDS)), None)
        return f"{name} exited with code {self.returncode}: {last[:300]}" + (f"; first problem: {first[:300]}" if first else "")


class _Capped:
    """Keeps the first OUTPUT_HEAD and the last OUTPUT_TAIL bytes of a stream."""

    def __init__(self) -> None:
        self.head = bytearray()
        self.tail = bytearray()
        self.dropped = 0

    def feed(self, chunk: bytes) -> None:
        room = OUTPUT_HEAD - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        self.tail += chunk
        if len(self.tail) > OUTPUT_TAIL:
            cut = len(self.tail) - OUTPUT_TAIL
            self.dropped += cut
            del self.tail[:cut]

    def text(self) -> str:
        middle = f"\n[… {self.dropped} bytes of output left out …]\n".encode() if self.dropped else b""
        return (bytes(self.head) + middle + bytes(self.tail)).decode("utf-8", "replace")


def scrub(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 3:
            text = text.replace(secret, "<redacted>")
    return text


def run(argv: Sequence[str], *, timeout: float, env: Mapping[str, str] | None = None, cwd: str | None = None,
        secrets: Sequence[str] = (), keep_stdout: int = 0) -> Result:
    """Run `argv` (no shell) and wait at most `timeout` seconds. With `keep_stdout`, stdout is
    kept apart (up to that many bytes, for JSON output) and only stderr goes to `output`."""
    full_env = {**os.environ, **(env or {})}
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE if keep_stdout else subprocess.STDOUT,
            env=full_env, cwd=cwd, start_new_session=True,
        )
    except OSError as exc:
        return Result(tuple(argv), 127, f"cannot start {argv[0]}: {exc.strerror or exc}", 0.0)
    out = _Capped()
    raw = bytearray()

    def pump_out() -> None:
        assert proc.stdout is not None
        for chunk in iter(lambda: proc.stdout.read1(65536), b""):
            if keep_stdout:
                if len(raw) < keep_stdout:
                    raw.extend(chunk[: keep_stdout - len(raw)])
            else:
                out.feed(chunk)

    def pump_err() -> None:
        assert proc.stderr is not None
        for chunk in iter(lambda: proc.stderr.read1(65536), b""):
            out.feed(chunk)

    threads = [threading.Thread(target=pump_out, daemon=True)]
    if keep_stdout:
        threads.append(threading.Thread(target=pump_err, daemon=True))
    for t in threads:
        t.start()
    try:
        code: int | None = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        code = None
    for t in threads:
        t.join(timeout=5)
    return Result(tuple(argv), code, scrub(out.text(), secrets), time.monotonic() - started, bytes(raw))
