"""The build's progress on stderr: on a terminal one line rewritten in place ("[4/6] installing
packages in a riscv64 VM  57% configuring systemd  3:12"); otherwise a line per step and per
tenth of a step, so that logs stay short."""
import sys
import time


def _clock(s):
    s = int(s)
    return "%d:%02d:%02d" % (s // 3600, s // 60 % 60, s % 60) if s >= 3600 else "%d:%02d" % (s // 60, s % 60)


class Progress:
    def __init__(self, steps, out=sys.stderr):
        self.steps = steps
        self.out = out
        self.tty = out.isatty()
        self.t0 = time.monotonic()
        self.n = 0
        self.title = ""
        self.step_t0 = self.t0
        self.tenth = -1
        self.width = 0
        self.times = []  # (title, seconds) of every finished step

    def step(self, title):
        self._finish_step()
        self.n += 1
        self.title = title
        self.step_t0 = time.monotonic()
        self.tenth = -1
        self._show(None, "")

    def update(self, fraction=None, detail=""):
        if fraction is not None:
            fraction = min(max(fraction, 0.0), 1.0)
        if self.tty:
            self._show(fraction, detail)
        elif fraction is not None and int(fraction * 10) > self.tenth:
            self.tenth = int(fraction * 10)
            self._show(fraction, detail)

    def note(self, msg):
        """A line of its own (a warning, a result), above the progress line."""
        self._clear()
        print("vessel image: %s" % msg, file=self.out, flush=True)

    def done(self):
        self._finish_step()
        self._clear()

    def _finish_step(self):
        if self.n:
            self.times.append((self.title, time.monotonic() - self.step_t0))
            if self.tty:
                self._clear()
                print("[%d/%d] %s: done in %s" % (self.n, self.steps, self.title,
                                                  _clock(self.times[-1][1])), file=self.out, flush=True)

    def _clear(self):
        if self.tty and self.width:
            self.out.write("\r" + " " * self.width + "\r")
            self.out.flush()
            self.width = 0

    def _show(self, fraction, detail):
        line = "[%d/%d] %s" % (self.n, self.steps, self.title)
        if fraction is not None:
            line += " %3d%%" % int(fraction * 100)
        if detail:
            line += "  " + detail
        line += "  " + _clock(time.monotonic() - self.t0)
        if self.tty:
            line = line[:160]
            pad = max(0, self.width - len(line))
            self.out.write("\r" + line + " " * pad)
            self.width = len(line)
        else:
            self.out.write(line + "\n")
        self.out.flush()
