#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Drive a qemu VM through its serial console (qemu -nographic on our stdio).

usage: serial.py --log FILE [--timeout S] STEP... -- QEMU ARGS...

Steps, in order:
  --expect REGEX           wait until REGEX matches the console output seen
                           since the previous match
  --send-file FILE         type the bytes of FILE and a newline (secrets stay
                           off argv)
  --fail REGEX             (anywhere, at any time) the console shows a failure:
                           stop at once, exit 1
  --stop                   end the VM now (the steps are done: e.g. a rescue
                           shell was reached, which would otherwise wait forever)

Without --stop the VM must end by itself after the last step (it powers off;
qemu runs with -no-reboot).  Everything the console printed goes to FILE,
"\\r" removed.  Exit status: 0 when every step happened and qemu ended (or
was stopped); 124 on timeout; 125 if qemu ended before a pattern came;
otherwise qemu's own status.  On a failure the last console lines are
printed with the step that was waited for.
"""
import os
import re
import select
import signal
import subprocess
import sys
import time

ESCAPES = re.compile(rb"\x1b\[[0-9;?]*[a-zA-Z]|\x1bc")

def main(argv):
    timeout, log, steps, fails = 120.0, None, [], []
    i = 0
    while i < len(argv) and argv[i] != "--":
        a = argv[i]
        if a == "--timeout":
            timeout = float(argv[i + 1]); i += 2
        elif a == "--log":
            log = argv[i + 1]; i += 2
        elif a == "--expect":
            steps.append(("expect", re.compile(argv[i + 1].encode()))); i += 2
        elif a == "--send-file":
            with open(argv[i + 1], "rb") as f:
                steps.append(("send", f.read() + b"\n"))
            i += 2
        elif a == "--fail":
            fails.append(re.compile(argv[i + 1].encode())); i += 2
        elif a == "--stop":
            steps.append(("stop", None)); i += 1
        else:
            sys.stderr.write("serial.py: bad argument %r\n" % a)
            return 2
    cmd = argv[i + 1:]
    if not cmd or not log:
        sys.stderr.write(__doc__)
        return 2

    vm = Console(cmd, log)
    try:
        return vm.run(steps, fails, time.monotonic() + timeout)
    finally:
        vm.stop()


class Console:
    """The VM's serial console: qemu's stdout read, its stdin written."""

    def __init__(self, cmd, log):
        self.log = log
        self.out = open(log, "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.fd = self.proc.stdout.fileno()
        self.seen = b""         # output since the last matched pattern
        self.everything = b""
        self.pending = b""      # an unfinished escape sequence
        self.eof = False

    def pump(self, wait):
        r, _, _ = select.select([self.fd], [], [], wait)
        if not r:
            return
        data = os.read(self.fd, 65536)
        if not data:
            self.eof = True
            return
        # Carriage returns and the firmware's terminal control sequences;
        # a sequence cut by the end of a read waits for the next one.
        data = self.pending + data
        cut = data.rfind(b"\x1b")
        if cut >= 0 and not ESCAPES.match(data, cut) and len(data) - cut < 16:
            data, self.pending = data[:cut], data[cut:]
        else:
            self.pending = b""
        # A terminal reset (ESC c) starts a new screen: a new line here.
        data = ESCAPES.sub(lambda m: b"\n" if m.group() == b"\x1bc" else b"",
                           data.replace(b"\r", b""))
        self.out.write(data)
        self.out.flush()
        self.seen += data
        self.everything += data

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()

    def tail(self, why):
        sys.stdout.write("serial.py: %s\n" % why)
        lines = self.everything.decode(errors="replace").splitlines()[-25:]
        for line in lines:
            sys.stdout.write("       | %s\n" % line)

    def failed(self, fails):
        for rx in fails:
            if rx.search(self.everything):
                self.tail("the console shows a failure (/%s/)" % rx.pattern.decode())
                return True
        return False

    def run(self, steps, fails, deadline):
        for kind, arg in steps:
            if kind == "send":
                self.proc.stdin.write(arg)
                self.proc.stdin.flush()
                continue
            if kind == "stop":
                return 0
            while not arg.search(self.seen):
                if self.failed(fails):
                    return 1
                if self.eof or time.monotonic() > deadline:
                    self.tail("%s waiting for /%s/" % ("the VM ended" if self.eof else "timeout",
                                                       arg.pattern.decode()))
                    return 125 if self.eof else 124
                self.pump(min(0.5, max(0.0, deadline - time.monotonic())))
            self.seen = self.seen[arg.search(self.seen).end():]
        while not self.eof and time.monotonic() < deadline:
            self.pump(0.5)
            if self.failed(fails):
                return 1
        if not self.eof:
            self.tail("timeout waiting for the VM to power off")
            return 124
        return self.proc.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
