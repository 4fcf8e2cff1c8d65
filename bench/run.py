"""Message-path benchmark: binance-twisted against a raw autobahn floor and python-binance 0.7.11.

    python bench/run.py            # 200,000 trade + 50,000 depth frames, 3 repetitions
    python bench/run.py --quick    # 20,000 + 5,000 frames

Every run is a fresh ``bench/server.py`` process plus a fresh ``bench/clients.py`` process
on 127.0.0.1; runs of the different clients are interleaved (the order rotates every
repetition) so drift hits them all alike. The report is the median over repetitions of
msgs/s and client CPU µs per message, as a Markdown table on stdout (progress on stderr),
with ratios against ``baseline``. See bench/README.md for the method and results.

python-binance 0.7.11 is installed into a venv of its own (not the project's), cached in the
temp directory, with the same Twisted and autobahn versions as this interpreter. If it
cannot be installed or imported its rows say "n/a" and why.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import importlib.util
import json
import os
import platform
import pstats
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from clients import KINDS  # bench/ is the script's directory, first on sys.path

HERE = Path(__file__).resolve().parent
SERVER = HERE / "server.py"
CLIENTS = HERE / "clients.py"

CLIENT_ORDER = list(KINDS)
#: a server's command line for a port (``run_once``'s ``serve``)
Serve = Callable[[int], list[str]]
LABELS = {
    "baseline": "baseline: raw autobahn + stdlib json (autobahn defaults)",
    "baseline-noutf8": "baseline, utf8validateIncoming=False",
    "bt": "binance-twisted (orjson)",
    "bt-stdlib": "binance-twisted (stdlib json)",
    "bt-record": "binance-twisted (orjson), recording every frame",
    "bt-legacy": "binance-twisted legacy BinanceSocketManager (orjson)",
    "legacy": "python-binance 0.7.11 BinanceSocketManager",
    "picows": "picows + orjson (asyncio)",
    "limit": "limit: plain socket + frame split + orjson (pure Python)",
}
SCENARIO_TITLES = {
    "trade": "btcusdt@trade, ~170-byte frames",
    "depth": "btcusdt@depth@100ms, 20 levels per side, ~1.4 KB frames",
    "arrays": "!miniTicker@arr, 1,000 mini tickers, ~165 KB frames",
}
LEGACY_REQUIREMENT = "python-binance==0.7.11"
FOREIGN_LIMIT = 0.15  # cores used by unrelated processes above which a run is repeated
PATIENCE = {"seconds": 120.0}  # total time spent waiting or re-running for a quiet machine


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def busy_seconds() -> float | None:
    """CPU seconds the whole machine spent busy (all cores, steal included) since boot."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """CPU of this process plus every child it has waited for (servers and clients)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def wait_for_quiet(max_wait: float, window: float = 0.5) -> float | None:
    """Wait (at most ``max_wait`` s) until other processes use <= FOREIGN_LIMIT cores.

    Returns the load of the last window, or None where /proc/stat is unreadable.
    """
    deadline = time.monotonic() + max_wait
    while True:
        before, ours = busy_seconds(), own_cpu_seconds()
        time.sleep(window)
        after = busy_seconds()
        if before is None or after is None:
            return None
        load = max(0.0, (after - before) - (own_cpu_seconds() - ours)) / window
        if load <= FOREIGN_LIMIT or time.monotonic() >= deadline:
            return load


def measured(
    kind: str,
    scenario: str,
    count: int,
    python: str,
    timeout: float,
    retries: int,
    serve: Serve | None = None,
    tls_cert: Path | None = None,
) -> dict:
    """``run_once``, repeated while other processes used more than ``FOREIGN_LIMIT`` cores.

    The machine has 2 cores: the client needs one and the server some of the other, so
    anything else running (a test suite, a build) skews msgs/s. The foreign load of each run
    is the machine's busy time minus this process tree's, over the run's wall time.
    """
    for attempt in range(retries + 1):
        waited = time.monotonic()
        wait_for_quiet(max_wait=min(15.0, PATIENCE["seconds"]))
        busy, ours, start = busy_seconds(), own_cpu_seconds(), time.monotonic()
        PATIENCE["seconds"] -= start - waited
        result = run_once(kind, scenario, count, python, timeout, serve=serve, tls_cert=tls_cert)
        wall = time.monotonic() - start
        after = busy_seconds()
        if busy is None or after is None:
            result["foreign_cores"] = None
            return result
        foreign = max(0.0, (after - busy) - (own_cpu_seconds() - ours)) / wall
        result["foreign_cores"] = foreign
        result["attempts"] = attempt + 1
        if foreign <= FOREIGN_LIMIT or PATIENCE["seconds"] <= 0:
            break
        log(f"  {kind} {scenario}: other processes used {foreign:.2f} cores; run again")
        PATIENCE["seconds"] -= wall
    return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_listening(port: int, server: subprocess.Popen, deadline: float) -> None:
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"server exited early (code {server.returncode})")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"server did not listen on port {port} in time")


def stop(process: subprocess.Popen | None, grace: float = 5.0) -> None:
    """Wait briefly for a process to exit by itself, then terminate, then kill it."""
    if process is None or process.poll() is not None:
        return
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def make_tls_files(directory: Path) -> Path:
    """A throwaway CA and a certificate for localhost in ``directory``; the CA becomes every
    client's trust root through ``SSL_CERT_FILE`` (OpenSSL's default verify paths, which
    Twisted's platformTrust, Python's ssl and picows all read: no client turns verification
    off). Returns the server's PEM (key and certificate)."""
    from binance_twisted.testing import make_test_certificate_authority

    authority = make_test_certificate_authority("binance-twisted bench CA")
    server = directory / "server.pem"
    server.write_bytes(authority.issue_server_certificate().dumpPEM())
    trust = directory / "ca.pem"
    trust.write_bytes(authority.certificate.dumpPEM())
    os.environ["SSL_CERT_FILE"] = str(trust)  # the clients inherit it
    return server


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU of a running process so far (Linux ``/proc``), else ``None``."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_once(
    kind: str,
    scenario: str,
    count: int,
    python: str,
    timeout: float,
    profile: str | None = None,
    serve: Serve | None = None,
    tls_cert: Path | None = None,
) -> dict:
    """One fresh server process and one fresh client process; the client's JSON result,
    with the server's CPU seconds while the client ran (``server_cpu_s``).

    ``serve(port)`` gives another server's command (the replay bench's local Binance); it
    is stopped as soon as the client is done, where ``bench/server.py`` ends by itself.
    """
    port = free_port()
    if serve is not None:
        server_command = serve(port)
    else:
        server_command = [sys.executable, str(SERVER), "--port", str(port)]
        server_command += ["--count", str(count), "--scenario", scenario]
        server_command += ["--timeout", str(timeout + 30)]
        if tls_cert is not None:
            server_command += ["--tls-cert", str(tls_cert)]
    client_command = [python, str(CLIENTS), kind, "--port", str(port), "--count", str(count)]
    client_command += ["--scenario", scenario, "--timeout", str(timeout)]
    if profile:
        client_command += ["--profile", profile]
    if tls_cert is not None:
        client_command.append("--tls")
    with tempfile.TemporaryFile(mode="w+") as server_err:
        server = client = None
        try:
            server = subprocess.Popen(
                server_command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=server_err,
            )
            wait_listening(port, server, time.monotonic() + 60)
            server_before = process_cpu_seconds(server.pid)
            client = subprocess.Popen(
                client_command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                cwd=tempfile.gettempdir(),  # nothing of the repo on the legacy client's path
            )
            try:
                out, err = client.communicate(timeout=timeout + 30)
            except subprocess.TimeoutExpired:
                client.kill()
                out, err = client.communicate()
                raise RuntimeError(f"{kind} did not finish in {timeout + 30:g} s") from None
            server_after = process_cpu_seconds(server.pid)
        finally:
            stop(client, grace=0)
            stop(server, grace=0 if serve is not None else 5.0)
            server_err.seek(0)
            errors = server_err.read().strip()
            if errors:
                log(f"  [server stderr] {errors[-500:]}")
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if client.returncode != 0 or not lines:
        detail = err.strip()[-2000:] or out[-2000:]
        raise RuntimeError(f"{kind} failed (code {client.returncode}): {detail}")
    if err.strip():
        log(f"  [{kind} stderr] {err.strip()[-500:]}")
    result = json.loads(lines[-1])
    if server_before is not None and server_after is not None:
        result["server_cpu_s"] = server_after - server_before
    return result


# -- the legacy venv -----------------------------------------------------------------------


def default_legacy_venv() -> Path:
    tag = "py{}{}-tw{}-ab{}".format(
        *sys.version_info[:2], metadata.version("Twisted"), metadata.version("autobahn")
    )
    return Path(tempfile.gettempdir()) / "binance-twisted-bench" / f"legacy-0.7.11-{tag}"


def ensure_legacy(venv: Path, install_timeout: float = 600) -> tuple[str | None, str]:
    """The legacy venv's interpreter, creating the venv if needed; or None and why not."""
    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import binance.websockets, binance; print('ok')"]

    def importable() -> tuple[bool, str]:
        done = subprocess.run(probe, capture_output=True, text=True, timeout=120, check=False)
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return done.returncode == 0, last

    if python.exists() and importable()[0]:
        return str(python), "cached"
    log(f"creating the legacy venv {venv} ({LEGACY_REQUIREMENT}) ...")
    base = getattr(sys, "_base_executable", None) or sys.executable
    pins = [f"Twisted=={metadata.version('Twisted')}", f"autobahn=={metadata.version('autobahn')}"]
    try:
        subprocess.run(
            [base, "-m", "venv", "--clear", str(venv)],
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        )
        install = subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                LEGACY_REQUIREMENT,
                *pins,
            ],
            capture_output=True,
            text=True,
            timeout=install_timeout,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as error:
        return None, f"venv creation failed: {error}"
    if install.returncode != 0:
        errors = [ln for ln in install.stderr.splitlines() if ln.startswith("ERROR")]
        return None, f"pip install failed: {(errors or ['exit ' + str(install.returncode)])[-1]}"
    ok, why = importable()
    if not ok:
        return None, f"installed but does not import on Python {platform.python_version()}: {why}"
    return str(python), "installed"


# -- report --------------------------------------------------------------------------------


def summarise(results: dict, failures: dict, kinds: list[str], scenario: str) -> list[str]:
    rows = []
    base = results.get(("baseline", scenario), [])
    base_rate = statistics.median(r["msgs_per_s"] for r in base) if base else None
    base_cpu = statistics.median(r["cpu_us_per_msg"] for r in base) if base else None
    header = (
        "| client | JSON decoder | autobahn UTF-8 check | msgs/s (median, min-max) "
        "| \u00d7 baseline | CPU \u00b5s/msg median (best) | \u00d7 baseline | client CPU busy "
        "| peak RSS MB | other load |"
    )
    rows += [header, "|" + "---|" * 10]
    for kind in kinds:
        runs = results.get((kind, scenario), [])
        if not runs:
            why = failures.get((kind, scenario), "not run")
            rows.append(f"| {LABELS[kind]} | n/a | n/a | n/a ({why}) |" + " n/a |" * 6)
            continue
        rate = statistics.median(r["msgs_per_s"] for r in runs)
        cpu = statistics.median(r["cpu_us_per_msg"] for r in runs)
        best = min(r["cpu_us_per_msg"] for r in runs)
        busy = statistics.median(r["cpu_util"] for r in runs)
        foreign = max((r.get("foreign_cores") or 0.0) for r in runs)
        rss = max((r.get("peak_rss_mb") or 0.0) for r in runs)
        rate_ratio = f"{rate / base_rate:.2f}" if base_rate else "n/a"
        cpu_ratio = f"{cpu / base_cpu:.2f}" if base_cpu else "n/a"
        low, high = min(r["msgs_per_s"] for r in runs), max(r["msgs_per_s"] for r in runs)
        spread = f" ({low:,.0f}-{high:,.0f})"
        check = "on" if runs[0]["utf8validate"] else "off"
        rate_text = f"{rate:,.0f}{spread if len(runs) > 1 else ''}"
        rows.append(
            f"| {LABELS[kind]} | {runs[0]['json']} | {check} | {rate_text} | {rate_ratio} "
            f"| {cpu:.2f} ({best:.2f}) | {cpu_ratio} | {busy:.0%} | {rss:.0f} | {foreign:.2f} |"
        )
    return rows


def print_profile(path: str, limit: int) -> None:
    stats = pstats.Stats(path, stream=sys.stdout)
    stats.strip_dirs().sort_stats("tottime").print_stats(limit)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="binance-twisted message-path benchmark")
    parser.add_argument("--quick", action="store_true", help="20,000 trade + 5,000 depth frames")
    parser.add_argument("--reps", type=int, default=3, help="repetitions (median reported)")
    parser.add_argument("--trade-count", type=int, help="frames in the trade scenario")
    parser.add_argument("--depth-count", type=int, help="frames in the depth scenario")
    parser.add_argument("--clients", default=",".join(CLIENT_ORDER), help="comma-separated")
    parser.add_argument(
        "--scenarios", default="trade,depth,arrays", help="comma-separated (trade, depth, arrays)"
    )
    parser.add_argument("--legacy-venv", type=Path, default=None, help="venv with 0.7.11")
    parser.add_argument("--timeout", type=float, default=120.0, help="per client run, seconds")
    parser.add_argument(
        "--retries",
        type=int,
        default=2,
        help=f"repeat a run up to this often while other processes use > {FOREIGN_LIMIT} cores",
    )
    parser.add_argument("--json-out", type=Path, help="also write every raw result here")
    parser.add_argument(
        "--tls", action="store_true", help="serve and read wss:// (Binance is TLS-only)"
    )
    parser.add_argument(
        "--profile",
        nargs="?",
        const="bt",
        metavar="KIND",
        help="afterwards, cProfile one trade run of KIND (default bt): top 15 by tottime",
    )
    parser.add_argument(
        "--patience",
        type=float,
        default=120.0,
        help="seconds in all to spend waiting for, or re-running in, a quiet machine",
    )
    args = parser.parse_args(argv)
    PATIENCE["seconds"] = args.patience
    tls_cert = None
    if args.tls:
        tls_dir = tempfile.mkdtemp(prefix="bench-tls-")
        atexit.register(shutil.rmtree, tls_dir, ignore_errors=True)  # the CA's key goes too
        tls_cert = make_tls_files(Path(tls_dir))

    counts = {
        "trade": args.trade_count or (20_000 if args.quick else 200_000),
        "depth": args.depth_count or (5_000 if args.quick else 50_000),
        "arrays": 100 if args.quick else 1_000,
    }
    kinds = [k for k in CLIENT_ORDER if k in args.clients.split(",")]
    scenarios = [s for s in ("trade", "depth", "arrays") if s in args.scenarios.split(",")]
    pythons = {kind: sys.executable for kind in kinds}
    failures: dict[tuple[str, str], str] = {}
    needs_legacy = "legacy" in kinds or args.profile == "legacy"
    if needs_legacy:
        venv = args.legacy_venv or default_legacy_venv()
        legacy_python, why = ensure_legacy(venv)
        if legacy_python is None:
            log(f"legacy client unavailable: {why}")
            kinds = [k for k in kinds if k != "legacy"]
            for scenario in scenarios:
                failures[("legacy", scenario)] = why
        else:
            pythons["legacy"] = legacy_python
    if "picows" in kinds and importlib.util.find_spec("picows") is None:
        why = "picows is not installed: pip install picows"
        log(f"picows client unavailable: {why}")
        kinds = [k for k in kinds if k != "picows"]
        for scenario in scenarios:
            failures[("picows", scenario)] = why
    all_kinds = [k for k in CLIENT_ORDER if k in args.clients.split(",")]

    results: dict[tuple[str, str], list[dict]] = {}
    started = time.monotonic()
    for rep in range(args.reps):
        order = kinds[rep % len(kinds) :] + kinds[: rep % len(kinds)] if kinds else []
        for scenario in scenarios:
            for kind in order:
                try:
                    result = measured(
                        kind,
                        scenario,
                        counts[scenario],
                        pythons[kind],
                        args.timeout,
                        args.retries,
                        tls_cert=tls_cert,
                    )
                except RuntimeError as error:
                    failures[(kind, scenario)] = str(error).splitlines()[-1][:200]
                    log(f"rep {rep + 1} {scenario:5} {kind:16} FAILED: {error}")
                    continue
                results.setdefault((kind, scenario), []).append(result)
                log(
                    f"rep {rep + 1} {scenario:5} {kind:16} {result['msgs_per_s']:>10,.0f} msg/s "
                    f"{result['cpu_us_per_msg']:6.2f} µs/msg  busy {result['cpu_util']:.0%}  "
                    f"foreign load {result['foreign_cores'] or 0:.2f} cores"
                )
    elapsed = time.monotonic() - started

    if args.json_out:
        raw = [r for runs in results.values() for r in runs]
        args.json_out.write_text(json.dumps({"counts": counts, "results": raw}, indent=1))

    if args.reps:
        any_result = next((runs[0] for runs in results.values() if runs), {})
        print(
            f"Python {any_result.get('python', platform.python_version())}, "
            f"Twisted {any_result.get('twisted', '?')}, "
            f"autobahn {any_result.get('autobahn', '?')}, "
            f"{os.cpu_count()} cores; medians of {args.reps} runs; {elapsed:.0f} s in all"
            + ("; over TLS (wss://localhost, TLS 1.3)." if tls_cert else ".")
        )
        kept = [r for runs in results.values() for r in runs]
        noisy = [r for r in kept if (r.get("foreign_cores") or 0.0) > FOREIGN_LIMIT]
        print(
            f"{len(noisy)} of {len(kept)} kept runs had other processes using more than "
            f"{FOREIGN_LIMIT} cores (see the last column).\n"
        )
        for scenario in scenarios:
            print(f"**{scenario}** ({SCENARIO_TITLES[scenario]}; {counts[scenario]:,} frames)\n")
            print("\n".join(summarise(results, failures, all_kinds, scenario)))
            print()

    if args.profile:
        kind = args.profile
        path = os.path.join(tempfile.gettempdir(), f"bench-profile-{kind}-{os.getpid()}.pstats")
        python = pythons.get(kind, sys.executable)
        try:
            run_once(
                kind,
                "trade",
                counts["trade"],
                python,
                args.timeout,
                profile=path,
                tls_cert=tls_cert,
            )
        except RuntimeError as error:
            log(f"profile run of {kind} failed: {error}")
            return 1
        try:
            print(f"cProfile of {kind}, trade scenario, first to last message, by tottime:\n")
            print("```")
            print_profile(path, 15)
            print("```")
        finally:
            os.unlink(path)
    return 1 if failures and not results else 0


if __name__ == "__main__":
    sys.exit(main())
