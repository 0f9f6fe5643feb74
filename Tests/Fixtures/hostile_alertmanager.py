"""A hostile Alertmanager peer for the fleet-mode tests: what it answers on
/<behaviour>/api/v2/alerts depends on <behaviour> (argv[1] is the port to listen on, 127.0.0.1)."""
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, body, status=200):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        behaviour = self.path.split("/")[1]
        if behaviour == "huge":  # over the 8 MiB the agent reads
            self.answer(b"[" + b" " * (9 << 20) + b"]")
        elif behaviour == "deep":
            self.answer(b"[" * 200000 + b"]" * 200000)
        elif behaviour == "types":
            self.answer(b'[{"labels":{"errno_exporter_trigger":["watched"]}}]')
        elif behaviour == "status":
            self.answer(b"{}", status=500)
        elif behaviour == "slow":  # headers, then a byte every half second
            self.send_response(200)
            self.send_header("Content-Length", "1000000")
            self.end_headers()
            try:
                for _ in range(120):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.5)
            except OSError:
                pass
        elif behaviour == "mixed":  # one good alert among bad ones
            alerts = [
                {"labels": {"alertname": "Good", "errno_exporter_trigger": "watched"}, "fingerprint": "g", "status": {"state": "active"}},
                {"labels": {"alertname": "Unknown", "errno_exporter_trigger": "nope"}, "fingerprint": "u", "status": {"state": "active"}},
                {"labels": {"alertname": "BadComm", "errno_exporter_trigger": "watched", "comm": "c" * 40}, "fingerprint": "b",
                 "status": {"state": "active"}},
                {"labels": {"alertname": "Elsewhere", "errno_exporter_trigger": "watched", "instance": "other-node:9717"},
                 "fingerprint": "e", "status": {"state": "active"}},
            ]
            self.answer(json.dumps(alerts).encode())
        else:
            self.answer(b"[]", status=404)


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
