#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Run a command on a pseudo-terminal and answer its prompts.

usage: pty_run.py [--timeout S] [--expect[-secret] REGEX (--send TEXT|--send-file F)]...
                  -- CMD ARGS...

The command gets the pty as its controlling terminal, stdin, stdout and
stderr.  Each --expect waits (up to the timeout) until REGEX matches the
output seen since the previous match, then the paired --send writes TEXT
(Python escapes such as \\n are interpreted), or --send-file writes the
bytes of file F and a newline (so that passphrases stay off argv).  --expect-secret also waits
until the terminal's echo is off (a no-echo passphrase prompt) before
typing, so that a TCSAFLUSH cannot discard the answer; a secret prompt
that leaves echo on is an error (exit 126).  Everything the command
printed is copied to our stdout; our exit status is the command's
(128+signal if it was killed, 124 on timeout, 125 if a prompt never came).
"""
import os
import pty
import re
import select
import signal
import sys
import termios
import time


def main(argv):
    timeout = 30.0
    steps = []
    i = 0
    while i < len(argv) and argv[i] != "--":
        if argv[i] == "--timeout":
            timeout = float(argv[i + 1])
            i += 2
        elif argv[i] in ("--expect", "--expect-secret"):
            if i + 3 >= len(argv) or argv[i + 2] not in ("--send", "--send-file"):
                sys.stderr.write("pty_run: --expect needs a following --send or --send-file\n")
                return 2
            if argv[i + 2] == "--send-file":
                with open(argv[i + 3], "rb") as f:
                    text = f.read() + b"\n"
            else:
                text = argv[i + 3].encode().decode("unicode_escape").encode("latin-1")
            steps.append((re.compile(argv[i + 1].encode()), text,
                          argv[i] == "--expect-secret"))
            i += 4
        else:
            sys.stderr.write("pty_run: bad argument %r\n" % argv[i])
            return 2
    cmd = argv[i + 1:]
    if not cmd:
        sys.stderr.write("pty_run: no command\n")
        return 2

    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execvp(cmd[0], cmd)
        except OSError as e:
            os.write(2, ("pty_run: exec %s: %s\n" % (cmd[0], e)).encode())
        os._exit(127)

    deadline = time.monotonic() + timeout
    seen = b""
    status = None

    def read_some(wait):
        nonlocal seen
        r, _, _ = select.select([fd], [], [], wait)
        if not r:
            return True
        try:
            data = os.read(fd, 4096)
        except OSError:
            return False
        if not data:
            return False
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        seen += data
        return True

    alive = True
    for rx, text, secret in steps:
        while alive and not rx.search(seen):
            if time.monotonic() > deadline:
                break
            alive = read_some(0.1)
        m = rx.search(seen)
        if not m:
            sys.stdout.write("\npty_run: prompt /%s/ never came\n"
                             % rx.pattern.decode(errors="replace"))
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)
            return 125
        seen = seen[m.end():]
        if secret:
            # tcgetattr on the master reports the slave's modes on Linux.
            t_end = time.monotonic() + 5.0
            while termios.tcgetattr(fd)[3] & termios.ECHO:
                if time.monotonic() > t_end:
                    sys.stdout.write("\npty_run: echo still on at a secret prompt\n")
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                    return 126
                time.sleep(0.01)
        else:
            time.sleep(0.1)
        os.write(fd, text)

    while alive and time.monotonic() < deadline:
        alive = read_some(0.1)
        wpid, st = os.waitpid(pid, os.WNOHANG)
        if wpid == pid:
            status = st
            # drain what is left
            while read_some(0.05):
                r, _, _ = select.select([fd], [], [], 0)
                if not r:
                    break
            break
    if status is None:
        deadline2 = time.monotonic() + max(0.0, deadline - time.monotonic())
        while time.monotonic() < deadline2:
            wpid, st = os.waitpid(pid, os.WNOHANG)
            if wpid == pid:
                status = st
                break
            time.sleep(0.05)
    if status is None:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        sys.stdout.write("\npty_run: timeout\n")
        return 124
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
