"""The proxy under test: its process (started with the example function behind the embedded
Lambda Runtime API), what /proc says about it, and a real gRPC client (grpcio) that keeps calling
api.Prod/Alive through it while an attack runs and after.
"""
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import grpc

# The protobuf wire helpers the repository's Python clients share.
sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test-support", "python"))
from protowire import fields, varint  # noqa: E402

# The help text's flags the run sets when the binary has them (seconds), found by name: a
# first-bytes / handshake timeout, an idle-connection timeout, and a cap on open connections.
FIRST_BYTES_WORDS = ("first-byte", "handshake", "preface", "header-read")
IDLE_WORDS = ("idle",)
CONNECTION_CAP_WORDS = ("max-connections", "connection-limit", "max-open-connections")
FIRST_BYTES_SECS = 5
IDLE_SECS = 10
CONNECTION_CAP = 256
# Help lines shown in the run's header: every limit, timeout and budget the binary documents.
LIMIT_WORDS = ("timeout", "max-", "limit", "budget", "idle", "wait", "connections", "grace", "memory")

PROBE_MESSAGE = "abuse-probe"
PROBE_INTERVAL = 0.5
PROBE_TIMEOUT = 5.0
SAMPLE_INTERVAL = 0.05
START_TIMEOUT = 60.0


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def help_flags(binary):
    """(flag name, help line with its default) for each flag of `binary --help`."""
    text = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=30).stdout
    flags, current = [], None
    for line in text.splitlines():
        found = re.match(r"\s*(?:-\w, )?--([a-z0-9-]+)", line)
        if found:
            current = [found.group(1), ""]
            flags.append(current)
        elif current is not None and line.strip() and not current[1]:
            current[1] = line.strip()
    return flags


def choose_flags(flags):
    """The short timeouts and the connection cap to pass, for the flags this binary has."""
    chosen = []
    scale = lambda name: 1000 if name.endswith("-ms") else 1  # noqa: E731
    for name, _ in flags:
        if any(word in name for word in FIRST_BYTES_WORDS):
            chosen.append(("--" + name, str(FIRST_BYTES_SECS * scale(name))))
        elif any(word in name for word in IDLE_WORDS):
            chosen.append(("--" + name, str(IDLE_SECS * scale(name))))
        elif any(word in name for word in CONNECTION_CAP_WORDS):
            chosen.append(("--" + name, os.environ.get("ABUSE_MAX_CONNECTIONS", str(CONNECTION_CAP))))
    return chosen


def timeout_seconds(chosen):
    """The timeouts among the chosen flags, in seconds."""
    out = []
    for flag, value in chosen:
        if any(word in flag for word in CONNECTION_CAP_WORDS):
            continue
        number = float(value.rstrip("ms"))
        out.append(number / 1000 if flag.endswith("-ms") or value.endswith("ms") else number)
    return out


def limit_lines(flags):
    return ["--%s: %s" % (name, text) for name, text in flags if any(w in name for w in LIMIT_WORDS)]


CONFIG = """\
listen = "127.0.0.1:{port}"
admin = "127.0.0.1:{admin}"

[[routes]]
match = "/api.Prod/Fail"
local = true
bidi = "unimplemented"

[[routes]]
match = "api.Prod"
local = true
"""


class Proxy:
    """grpc-lambda-proxy with `--local-function` running the example, in its own process group."""

    def __init__(self, binary, function, work, extra_flags):
        self.binary = binary
        self.function = function
        self.work = work
        self.extra_flags = list(extra_flags)
        self.port = None
        self.admin = None
        self.config = os.path.join(work, "proxy.toml")
        self.log_path = os.path.join(work, "proxy.log")
        self.process = None
        self.log_offset = 0
        self.starts = 0

    def command(self, extra):
        args = [self.binary, "--config", self.config, "--local-function", "exec " + self.function,
                "--local-name", "prod", "--quiet", "--shutdown-grace", "1"]
        for flag, value in extra:
            args += [flag, value]
        return args

    def start(self):
        """Starts the proxy. An optional flag it refuses is tried again as a duration with a unit
        ("5s"), then left out."""
        self.port = free_port()
        self.admin = free_port()
        with open(self.config, "w") as out:
            out.write(CONFIG.format(port=self.port, admin=self.admin))
        for _ in range(2 * len(self.extra_flags) + 1):
            try:
                return self._start(self.extra_flags)
            except RuntimeError as err:
                if not self.extra_flags:
                    raise
                self.extra_flags = self._without_refused(str(err))
        return self._start(self.extra_flags)

    def _without_refused(self, error):
        """The optional flags less (or with a new value for) the one the error names."""
        invalid = re.search(r"invalid value '([^']*)' for '--([a-z0-9-]+)", error)
        unexpected = re.search(r"unexpected argument '--([a-z0-9-]+)'", error)
        flags = []
        for flag, value in self.extra_flags:
            if invalid and flag == "--" + invalid.group(2):
                if not value.endswith("s"):
                    print("the proxy refused %s %s; trying %ss" % (flag, value, value))
                    flags.append((flag, value + "s"))
                else:
                    print("the proxy refused %s %s; leaving it out" % (flag, value))
            elif unexpected and flag == "--" + unexpected.group(1):
                print("the proxy refused %s; leaving it out" % flag)
            else:
                flags.append((flag, value))
        if flags == self.extra_flags:
            print("the proxy would not start with %s (%s); leaving them out" % (flags, error.splitlines()[0]))
            return []
        return flags

    def _start(self, extra):
        log = open(self.log_path, "ab")
        self.log_offset = log.tell()
        self.process = subprocess.Popen(self.command(extra), stdout=log, stderr=log, start_new_session=True)
        log.close()
        self.starts += 1
        end = time.monotonic() + START_TIMEOUT
        while time.monotonic() < end:
            if self.process.poll() is not None:
                raise RuntimeError("exited with %s: %s" % (self.process.returncode, self.log_tail()))
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                if probe_once(self.port)[0]:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("not serving api.Prod/Alive after %ds: %s" % (START_TIMEOUT, self.log_tail()))

    def log_tail(self, lines=15):
        try:
            with open(self.log_path, "rb") as log:
                log.seek(self.log_offset)
                return b"\n".join(log.read().splitlines()[-lines:]).decode("utf-8", "replace")
        except OSError:
            return ""

    @property
    def pid(self):
        return self.process.pid

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def stop(self):
        """SIGTERM, then SIGKILL; then the rest of its process group (the example function)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except OSError:
            pass

    def status(self):
        """{'rss': VmRSS kB, 'hwm': VmHWM kB, 'fds': open fds}, or None if the process is gone."""
        try:
            with open("/proc/%d/status" % self.pid) as status:
                text = status.read()
            fds = len(os.listdir("/proc/%d/fd" % self.pid))
        except OSError:
            return None
        values = dict(re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", text, re.M))
        return {"rss": int(values.get("VmRSS", 0)), "hwm": int(values.get("VmHWM", 0)), "fds": fds}

    def reset_peak(self):
        """Resets VmHWM to the current RSS (Linux 4.0+: write 5 to clear_refs); False if refused."""
        try:
            with open("/proc/%d/clear_refs" % self.pid, "w") as refs:
                refs.write("5")
            return True
        except OSError:
            return False

    def metrics(self):
        """The /metrics page, as bytes (empty on failure)."""
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.admin, timeout=30)
            conn.request("GET", "/metrics")
            body = conn.getresponse().read()
            conn.close()
            return body
        except OSError:
            return b""


def calls_total(metrics):
    """The sum of grpc_lambda_proxy_calls_total over every label set."""
    total = 0
    for line in metrics.splitlines():
        if line.startswith(b"grpc_lambda_proxy_calls_total{"):
            try:
                total += int(float(line.rsplit(b" ", 1)[1]))
            except ValueError:
                pass
    return total


def alive_request(message):
    """AliveRequest { message } (field 1, a string)."""
    raw = message.encode()
    return b"\x0a" + varint(len(raw)) + raw


def alive_reply_message(data):
    """AliveResponse.message of an encoded reply, or None if it is not one."""
    try:
        return fields(data).get(1, [b""])[0].decode("utf-8", "replace")
    except (ValueError, IndexError, AttributeError):
        return None


def probe_once(port):
    """One api.Prod/Alive call over a new connection (its own subchannel): (ok, detail)."""
    options = [("grpc.use_local_subchannel_pool", 1), ("grpc.enable_retries", 0)]
    channel = grpc.insecure_channel("127.0.0.1:%d" % port, options=options)
    try:
        reply = channel.unary_unary("/api.Prod/Alive")(alive_request(PROBE_MESSAGE), timeout=PROBE_TIMEOUT)
        expected = alive_request("Hello, world." + PROBE_MESSAGE)
        if reply == expected:
            return True, "OK"
        return False, "unexpected reply %r" % reply[:60]
    except grpc.RpcError as err:
        return False, "%s %s" % (err.code().name, (err.details() or "")[:100])
    finally:
        channel.close()


class Monitor:
    """Samples the proxy's RSS and fds, keeps the highest since `begin`, and runs a normal call
    every PROBE_INTERVAL while an attack runs."""

    def __init__(self, proxy):
        self.proxy = proxy
        self.lock = threading.Lock()
        self.peak_rss = 0
        self.peak_fds = 0
        self.probes = []
        self.probing = False
        self.stopped = False
        threading.Thread(target=self._sample_loop, daemon=True).start()
        threading.Thread(target=self._probe_loop, daemon=True).start()

    def _sample_loop(self):
        while not self.stopped:
            status = self.proxy.status()
            if status is not None:
                with self.lock:
                    self.peak_rss = max(self.peak_rss, status["rss"])
                    self.peak_fds = max(self.peak_fds, status["fds"])
            time.sleep(SAMPLE_INTERVAL)

    def _probe_loop(self):
        while not self.stopped:
            if self.probing and self.proxy.alive():
                result = probe_once(self.proxy.port)
                with self.lock:
                    if self.probing:
                        self.probes.append(result)
            time.sleep(PROBE_INTERVAL)

    def begin(self):
        """Starts a measurement: the proxy's figures now, its peak reset, probes running."""
        status = self.proxy.status() or {"rss": 0, "hwm": 0, "fds": 0}
        hwm_reset = self.proxy.reset_peak()
        with self.lock:
            self.peak_rss = status["rss"]
            self.peak_fds = status["fds"]
            self.probes = []
            self.probing = True
        return Measurement(self, status, hwm_reset)

    def stop(self):
        self.stopped = True


class Measurement:
    """The figures of one attack: before, peak and during (held), after."""

    SETTLE = 1.0
    AFTER_PROBES = 3

    def __init__(self, monitor, before, hwm_reset):
        self.monitor = monitor
        self.before = before
        self.hwm_reset = hwm_reset
        self.held = None
        self.after = None
        self.during = []
        self.after_probes = []
        self.peak_rss = 0
        self.peak_fds = 0
        self.proxy_exit = None

    def probe_now(self):
        """One normal call now, counted as during the attack (for attacks shorter than a probe
        interval)."""
        result = probe_once(self.monitor.proxy.port)
        with self.monitor.lock:
            self.monitor.probes.append(result)
        return result

    def snapshot(self):
        """The proxy's figures while the attack holds its connections."""
        self.held = self.monitor.proxy.status()
        return self.held

    def end(self):
        """Call once the attack's connections are closed: the peak, then after SETTLE seconds the
        figures after and AFTER_PROBES normal calls."""
        monitor, proxy = self.monitor, self.monitor.proxy
        with monitor.lock:
            monitor.probing = False
            self.during = list(monitor.probes)
            self.peak_rss, self.peak_fds = monitor.peak_rss, monitor.peak_fds
        status = proxy.status()
        if status is not None and self.hwm_reset:
            self.peak_rss = max(self.peak_rss, status["hwm"])
        if not proxy.alive():
            self.proxy_exit = proxy.process.returncode
            return self
        time.sleep(self.SETTLE)
        self.after = proxy.status()
        self.after_probes = [probe_once(proxy.port) for _ in range(self.AFTER_PROBES)]
        return self

    def normal_call(self):
        """'ok' when every normal call during and after succeeded, else what failed."""
        if self.proxy_exit is not None:
            return "proxy_exited(%s)" % self.proxy_exit
        during_ok = sum(1 for ok, _ in self.during if ok)
        after_ok = sum(1 for ok, _ in self.after_probes if ok)
        if during_ok == len(self.during) and after_ok == len(self.after_probes):
            return "ok"
        return "failed(during=%d/%d,after=%d/%d)" % (during_ok, len(self.during), after_ok, len(self.after_probes))

    def first_failure(self):
        for ok, detail in self.during + self.after_probes:
            if not ok:
                return detail
        return None

    def lines(self):
        """The figures as report lines."""
        out = []
        before, after, held = self.before, self.after or {}, self.held
        out.append("  proxy RSS before %s kB, peak %s kB%s, after %s kB" % (
            before["rss"], self.peak_rss, "" if self.hwm_reset else " (sampled; VmHWM not reset)",
            after.get("rss", "-")))
        if held is not None:
            out.append("  while held: RSS %s kB, fds %s" % (held["rss"], held["fds"]))
        out.append("  proxy fds before %s, peak %s, after %s" % (before["fds"], self.peak_fds, after.get("fds", "-")))
        during_ok = sum(1 for ok, _ in self.during if ok)
        after_ok = sum(1 for ok, _ in self.after_probes if ok)
        out.append("  normal call (grpcio api.Prod/Alive, new connection each): during %d/%d ok, after %d/%d ok" % (
            during_ok, len(self.during), after_ok, len(self.after_probes)))
        failure = self.first_failure()
        if failure:
            out.append("  first failed normal call: %s" % failure)
        if self.proxy_exit is not None:
            out.append("  THE PROXY EXITED: status %s; its last lines:" % self.proxy_exit)
            out += ["    " + line for line in self.monitor.proxy.log_tail().splitlines()]
        return out

    def summary_fields(self):
        after = self.after or {}
        return "peak_rss_kb=%s rss_before_kb=%s rss_after_kb=%s fds_peak=%s fds_after=%s normal_call=%s" % (
            self.peak_rss, self.before["rss"], after.get("rss", "-"), self.peak_fds,
            after.get("fds", "-"), self.normal_call())
