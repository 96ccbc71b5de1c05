"""The clean process that stand-alone export checks run in behaves as ``python -c`` would."""

from __future__ import annotations

import signal
import subprocess

import pytest
from clean_python import run_clean


def test_code_gets_its_arguments_and_working_directory_and_prints(tmp_path):
    done = run_clean("import os, sys; print(sys.argv[1:], os.getcwd())", "a", 2, cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout.strip() == f"['a', '2'] {tmp_path}"


def test_an_exception_is_a_return_code_of_one_with_its_traceback():
    done = run_clean("raise ValueError('bad value')")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == "ValueError: bad value"
    with pytest.raises(subprocess.CalledProcessError):
        run_clean("raise SystemExit(3)", check=True)


def test_code_that_imports_rnn_zoo_fails_and_the_next_call_is_clean_again():
    done = run_clean("import rnn_zoo")
    assert done.returncode == 1 and "rnn_zoo was imported" in done.stderr
    assert run_clean("import sys; print('rnn_zoo' in sys.modules)").stdout.strip() == "False"


def test_an_abort_gives_the_signal_and_a_new_process_answers_next():
    assert run_clean("import os; os.abort()").returncode == -signal.SIGABRT
    assert run_clean("print('again')").stdout.strip() == "again"
