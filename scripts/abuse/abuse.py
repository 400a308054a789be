"""A bounded abuse run against the grpc-lambda-proxy binary on 127.0.0.1 (see scripts/abuse.sh).

Starts the proxy with the example function behind its embedded Lambda Runtime API, an exact route
/api.Prod/Fail with bidi = "unimplemented" and a prefix route api.Prod; runs each attack while a
real gRPC client (grpcio) keeps calling api.Prod/Alive; prints what came back, the proxy's peak
and current RSS and its open fds; ends with one `attack=... result=...` line per attack.

It measures, it does not judge: the exit status is non-zero only when the run itself failed
(the proxy would not start, an attack raised).

Usage: abuse.py --proxy PATH --function PATH [--only NAME[,NAME]]
"""
import argparse
import os
import shlex
import shutil
import signal
import sys
import tempfile
import time
import traceback

import attacks
from proxyrun import Monitor, Proxy, choose_flags, help_flags, limit_lines, timeout_seconds

ATTACKS = [
    ("route_bypass", attacks.route_bypass),
    ("distinct_paths", attacks.distinct_paths),
    ("held_streams", attacks.held_streams),
    ("window_zero", attacks.window_zero),
    ("silent_connections", attacks.silent_connections),
    ("http11_native", attacks.http11_native),
    ("floods", attacks.floods),
]


class Context:
    """What an attack needs: the proxy, its monitor, and the timeouts the run passed."""

    def __init__(self, proxy, monitor, chosen):
        self.proxy = proxy
        self.monitor = monitor
        self.flags_text = ["%s %s" % pair for pair in chosen]
        self.timeouts = timeout_seconds(chosen)

    @property
    def port(self):
        return self.proxy.port


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proxy", required=True)
    parser.add_argument("--function", required=True)
    parser.add_argument("--only", default="", help="comma-separated attack names: " + ", ".join(n for n, _ in ATTACKS))
    args = parser.parse_args()
    only = {name for name in args.only.split(",") if name}
    unknown = only - {name for name, _ in ATTACKS}
    if unknown:
        parser.error("unknown attack(s): %s" % ", ".join(sorted(unknown)))

    flags = help_flags(args.proxy)
    chosen = choose_flags(flags)
    work = tempfile.mkdtemp(prefix="abuse-")
    proxy = Proxy(os.path.abspath(args.proxy), os.path.abspath(args.function), work, chosen)

    def on_signal(signum, _frame):
        proxy.stop()
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    summaries, failures = [], []
    started = time.monotonic()
    try:
        try:
            proxy.start()
        except RuntimeError as err:
            print("the proxy would not start: %s" % err)
            return 2
        print("== the proxy ==")
        print("  %s" % shlex.join(proxy.command(proxy.extra_flags)))
        print("  listening on 127.0.0.1 (a new port each start), admin /metrics on 127.0.0.1; started again before each attack")
        print("  routes: /api.Prod/Fail -> local, bidi = \"unimplemented\"; api.Prod -> local")
        print("  flags passed for this run: %s" % (" ".join("%s %s" % c for c in proxy.extra_flags) or "none"))
        print("  limits and timeouts in --help:")
        for line in limit_lines(flags):
            print("    %s" % line)
        monitor = Monitor(proxy)
        context = Context(proxy, monitor, proxy.extra_flags)
        fresh = True
        for name, attack in ATTACKS:
            if only and name not in only:
                continue
            if not proxy.alive():
                print("\n(the proxy had exited with %s; starting it again)" % proxy.process.returncode)
                proxy.start()
            elif not fresh:
                # Each attack meets a proxy just started, so its figures are its own.
                proxy.stop()
                proxy.start()
            fresh = False
            try:
                summaries += attack(context)
            except Exception:
                failures.append(name)
                print("\nattack %s could not run:" % name)
                traceback.print_exc(file=sys.stdout)
            sys.stdout.flush()
        monitor.stop()
    finally:
        proxy.stop()
        shutil.rmtree(work, ignore_errors=True)

    print("\n== summary (%.0fs) ==" % (time.monotonic() - started))
    for line in summaries:
        print(line)
    if failures:
        print("run_failed=%s" % ",".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
