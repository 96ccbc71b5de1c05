"""A separate Python process that never imports rnn_zoo, kept for a test worker's lifetime.

Checks that an export stands alone (a SavedModel loaded and called by TensorFlow only)
need another interpreter. Starting one per check costs a TensorFlow import each, about
5 s; this module starts one per test worker and runs each check's code there, as
``python -c CODE ARGS...`` would, with its own ``sys.argv``, working directory and
``__main__`` namespace. After each call it verifies that ``rnn_zoo`` is still absent from
its modules, and dies if not, so no check can pass on rnn_zoo's Python code. A call that
kills the process (an abort) is answered with the signal's negative return code, and the
next call starts a new process.
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
import tempfile

SERVER = r"""
import contextlib, io, json, os, sys, traceback
replies = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)  # anything written to file descriptor 1 must not reach the replies
for line in sys.stdin:
    request = json.loads(line)
    stdout, stderr = io.StringIO(), io.StringIO()
    returncode = 0
    sys.argv = ["-c", *request["argv"]]
    os.chdir(request["cwd"])
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            exec(compile(request["code"], "<string>", "exec"), {"__name__": "__main__"})
    except SystemExit as stopped:
        code = stopped.code
        returncode = code if isinstance(code, int) else (0 if code is None else 1)
    except BaseException:
        traceback.print_exc(file=stderr)
        returncode = 1
    imported = "rnn_zoo" in sys.modules
    if imported:
        stderr.write("rnn_zoo was imported into the clean process\n")
        returncode = 1
    reply = {"returncode": returncode, "stdout": stdout.getvalue(), "stderr": stderr.getvalue(),
             "ending": imported}
    replies.write(json.dumps(reply) + "\n")
    replies.flush()
    if imported:
        sys.exit(1)
"""


class CleanPython:
    """The worker's clean process, started on first use."""

    def __init__(self):
        self.process: subprocess.Popen | None = None
        self.stderr = None  # the process's own stderr: read back if it dies

    def start(self) -> subprocess.Popen:
        self.stderr = tempfile.TemporaryFile("w+")
        return subprocess.Popen(
            [sys.executable, "-c", SERVER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
            cwd=tempfile.gettempdir(),
        )

    def call(self, code: str, argv: list[str], cwd: str) -> dict:
        if self.process is None or self.process.poll() is not None:
            self.process = self.start()
        request = {"code": code, "argv": argv, "cwd": cwd}
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if line:
            reply = json.loads(line)
            if reply["ending"]:  # it ends itself: the next call starts a new one
                self.process.wait(timeout=30)
                self.process = None
            return reply
        returncode = self.process.wait()
        self.process = None
        self.stderr.seek(0)
        return {"returncode": returncode, "stdout": "", "stderr": self.stderr.read()}

    def close(self):
        if self.process is not None and self.process.poll() is None:
            self.process.stdin.close()
            self.process.wait(timeout=30)


_CLEAN = CleanPython()
atexit.register(_CLEAN.close)


def run_clean(
    code: str, *argv, cwd=None, check: bool = False, text: bool = True
) -> subprocess.CompletedProcess:
    """Runs ``code`` as ``python -c code *argv`` would, in the worker's clean process.

    Args:
        code: Python source; ``sys.argv[1:]`` are ``argv`` as strings.
        *argv: The script's arguments.
        cwd: Its working directory. Defaults to the system's temporary directory.
        check: Raise ``subprocess.CalledProcessError`` on a nonzero return code.
        text: Give stdout and stderr as ``str``; ``bytes`` (as ``capture_output``
            without ``text``) if False.

    Returns:
        A ``subprocess.CompletedProcess`` with the code's printed output.
    """
    arguments = [str(argument) for argument in argv]
    reply = _CLEAN.call(code, arguments, str(cwd or tempfile.gettempdir()))
    stdout, stderr = reply["stdout"], reply["stderr"]
    if not text:
        stdout, stderr = stdout.encode(), stderr.encode()
    command = ["python", "-c", code, *arguments]
    done = subprocess.CompletedProcess(command, reply["returncode"], stdout, stderr)
    if check:
        done.check_returncode()
    return done
