#!/usr/bin/env python3
"""`make bench-service`: a bounded load test of the prover service on loopback.

The bundled credit-risk model is uploaded and built once per mode; then CLIENTS threads each
request PROOFS proofs one after another (request, then poll until done) against:
  - embedded: `zkinfer serve --workers 1` and `--workers 2` (the server proves);
  - redis: `zkinfer serve --queue` with 1 and 2 `zkinfer worker` processes (a private
    redis-server on a free port).
Per run: throughput (proofs/s), p50/p99 latency (request to done), errors, and the server's peak
RSS (VmHWM). Then, above capacity (--max-queue 4, 16 requests at once): how many 503/429 with
Retry-After. Then recovery: the server killed with SIGKILL while proofs run, started again, and
the time until every job is done (embedded and redis). Loopback only, every loop bounded.
Writes bench/service.md and bench/service.json. A benchmark, not a test: CI does not run it.

    python3 bench/service.py [--clients N] [--proofs M]
"""
import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BIN = os.path.join(ROOT, "target", "release", "zkinfer")
EXAMPLE = os.path.join(ROOT, "examples", "credit_risk")
SUBJECT = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
LIMIT_S = 600


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(method, url, body=None, headers=None, timeout=60):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null"), dict(r.headers)
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            doc = json.loads(raw)
        except ValueError:
            doc = raw.decode(errors="replace")
        return e.code, doc, dict(e.headers)


def rss_peak_mib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


class Proc:
    """A child process whose stderr is drained (and scanned for `listening on URL`)."""

    def __init__(self, args):
        self.p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.url = None
        self.ready = threading.Event()
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for line in self.p.stderr:
            if line.startswith("listening on "):
                self.url = line.split()[-1]
                self.ready.set()

    def wait_url(self):
        if not self.ready.wait(60):
            raise SystemExit(f"{self.p.args[:2]} did not start")
        return self.url

    def kill(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGKILL)
        self.p.wait()


def serve(data, extra):
    args = [BIN, "-q", "serve", "--dev-srs", "--listen", "127.0.0.1:0", "--data-dir", data,
            "--max-queued-per-key", "1000", "--max-queue", "1000"] + extra
    proc = Proc(args)
    proc.wait_url()
    return proc


def upload(url):
    boundary = uuid.uuid4().hex
    parts = []
    with open(os.path.join(EXAMPLE, "model.onnx"), "rb") as f:
        model = f.read()
    with open(os.path.join(EXAMPLE, "calibration.json"), "rb") as f:
        calibration = f.read()
    for name, filename, data in [("model", "model.onnx", model), ("calibration", None, calibration)]:
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"'
        if filename:
            head += f'; filename="{filename}"'
        parts.append(head.encode() + b"\r\n\r\n" + data + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    code, doc, _ = call("POST", f"{url}/v1/builds", body,
                        {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert code == 202, doc
    build = doc["id"]
    done = wait(url, f"/v1/builds/{build}")
    assert done["status"] == "done", done
    return build


def wait(url, path, limit=LIMIT_S):
    start = time.time()
    while time.time() - start < limit:
        code, doc, _ = call("GET", url + path)
        if code == 200 and doc["status"] in ("done", "failed"):
            return doc
        time.sleep(0.05)
    raise SystemExit(f"{path} not finished after {limit} s")


def proof_body():
    with open(os.path.join(EXAMPLE, "input.json")) as f:
        doc = json.load(f)
    doc["subject"] = SUBJECT
    return json.dumps(doc).encode()


def request(url, build):
    return call("POST", f"{url}/v1/builds/{build}/proofs", proof_body(),
                {"Content-Type": "application/json"})


def load(url, build, clients, proofs):
    """CLIENTS threads x PROOFS sequential proofs; latencies and errors."""
    latencies, errors, lock = [], [], threading.Lock()

    def client():
        for _ in range(proofs):
            t0 = time.time()
            code, doc, _ = request(url, build)
            if code != 202:
                with lock:
                    errors.append(code)
                continue
            done = wait(url, f"/v1/proofs/{doc['id']}")
            with lock:
                if done["status"] == "done":
                    latencies.append(time.time() - t0)
                else:
                    errors.append(done.get("error"))

    start = time.time()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.time() - start
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] if latencies else None
    return {
        "proofs": len(latencies),
        "errors": len(errors),
        "wall_s": round(wall, 2),
        "proofs_per_s": round(len(latencies) / wall, 3),
        "p50_s": round(statistics.median(latencies), 3) if latencies else None,
        "p99_s": round(p99, 3) if p99 else None,
    }


class Cluster:
    """A server in one mode, with its redis-server and workers when queued."""

    def __init__(self, root, mode, n):
        self.data = os.path.join(root, f"{mode}-{n}")
        shutil.rmtree(self.data, ignore_errors=True)
        os.makedirs(self.data)
        self.mode, self.n, self.redis, self.workers = mode, n, None, []
        extra = ["--workers", str(n)]
        if mode == "redis":
            port = free_port()
            self.redis = subprocess.Popen(
                ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                 "--appendonly", "no", "--dir", self.data],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.queue = f"redis://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), 0.2).close()
                    break
                except OSError:
                    time.sleep(0.05)
            extra = ["--queue", self.queue, "--lease", "5"]
        self.extra = extra
        self.server = serve(self.data, extra)
        for i in range(n if mode == "redis" else 0):
            self.workers.append(Proc([BIN, "-q", "worker", "--queue", self.queue,
                                      "--store", self.data, "--name", f"w{i}"]))
        self.url = self.server.url

    def restart(self):
        self.server = serve(self.data, self.extra)
        self.url = self.server.url

    def stop(self):
        self.server.kill()
        for w in self.workers:
            w.kill()
        if self.redis:
            self.redis.kill()
            self.redis.wait()


def recovery(root, mode, n, count=6):
    """Requests COUNT proofs, kills the server with SIGKILL while they run, starts it again:
    seconds from the restart until every job is done, and whether each is done once."""
    c = Cluster(root, mode, n)
    try:
        build = upload(c.url)
        ids = [request(c.url, build)[1]["id"] for _ in range(count)]
        start = time.time()
        while time.time() - start < 120:
            states = [call("GET", f"{c.url}/v1/proofs/{i}")[1]["status"] for i in ids]
            if "running" in states:
                break
            time.sleep(0.02)
        c.server.kill()
        t0 = time.time()
        c.restart()
        up = time.time() - t0
        done = [wait(c.url, f"/v1/proofs/{i}") for i in ids]
        return {
            "mode": f"{mode} ({n})",
            "restart_s": round(up, 2),
            "all_done_s": round(time.time() - t0, 2),
            "done": sum(d["status"] == "done" for d in done),
            "attempts": [d["attempts"] for d in done],
        }
    finally:
        c.stop()


def overload(root):
    """16 requests at once against --max-queue 4: accepted, refused with Retry-After."""
    data = os.path.join(root, "overload")
    os.makedirs(data, exist_ok=True)
    server = Proc([BIN, "-q", "serve", "--dev-srs", "--listen", "127.0.0.1:0", "--data-dir", data,
                   "--max-queue", "4", "--max-queued-per-key", "1000"])
    url = server.wait_url()
    try:
        build = upload(url)
        codes, retry = [], []
        lock = threading.Lock()

        def one():
            code, _, headers = request(url, build)
            with lock:
                codes.append(code)
                if code in (429, 503):
                    retry.append("Retry-After" in headers or "retry-after" in headers)

        threads = [threading.Thread(target=one) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return {
            "requests": 16,
            "accepted": codes.count(202),
            "refused_503": codes.count(503),
            "refused_429": codes.count(429),
            "with_retry_after": sum(retry),
            "server_peak_rss_mib": round(rss_peak_mib(server.p.pid) or 0, 1),
        }
    finally:
        server.kill()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--proofs", type=int, default=5)
    args = ap.parse_args()
    if not os.path.exists(BIN):
        raise SystemExit(f"{BIN} missing: cargo build --release -p zkinfer-cli")
    if not shutil.which("redis-server"):
        raise SystemExit("redis-server missing: apt-get install redis-server")
    root = tempfile.mkdtemp(prefix="zkinfer-bench-service-")
    rows = []
    try:
        for mode, n in [("embedded", 1), ("embedded", 2), ("redis", 1), ("redis", 2)]:
            c = Cluster(root, mode, n)
            try:
                build = upload(c.url)
                row = {"mode": mode, "workers": n, "clients": args.clients,
                       "requests": args.clients * args.proofs}
                row.update(load(c.url, build, args.clients, args.proofs))
                row["server_peak_rss_mib"] = round(rss_peak_mib(c.server.p.pid) or 0, 1)
                rows.append(row)
                print(json.dumps(row), file=sys.stderr)
            finally:
                c.stop()
        over = overload(root)
        print(json.dumps(over), file=sys.stderr)
        recoveries = [recovery(root, "embedded", 1), recovery(root, "redis", 2)]
        for r in recoveries:
            print(json.dumps(r), file=sys.stderr)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    result = {"machine": f"{os.cpu_count()} cores", "load": rows, "overload": over,
              "recovery": recoveries}
    with open(os.path.join(HERE, "service.json"), "w") as f:
        json.dump(result, f, indent=2)
    lines = [
        "# Service load (`make bench-service`)", "",
        f"credit-risk example, {args.clients} clients x {args.proofs} proofs each, loopback, "
        f"{os.cpu_count()} cores. Latency: request to done (polling every 50 ms).", "",
        "| mode | workers | proofs | errors | proofs/s | p50 s | p99 s | server peak RSS MiB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['mode']} | {r['workers']} | {r['proofs']} | {r['errors']} | "
                     f"{r['proofs_per_s']} | {r['p50_s']} | {r['p99_s']} | {r['server_peak_rss_mib']} |")
    lines += ["", f"Above capacity (`--max-queue 4`, 16 requests at once): {over['accepted']} accepted, "
              f"{over['refused_503']} refused 503, {over['refused_429']} refused 429, "
              f"{over['with_retry_after']} of the refusals with Retry-After; server peak RSS "
              f"{over['server_peak_rss_mib']} MiB.", "",
              "| recovery after kill -9 of the server | restart s | all done s | done | attempts |",
              "|---|---|---|---|---|"]
    for r in recoveries:
        lines.append(f"| {r['mode']} | {r['restart_s']} | {r['all_done_s']} | {r['done']} | {r['attempts']} |")
    with open(os.path.join(HERE, "service.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
