"""An OTLP/HTTP trace receiver for benchmarks: ``python -m bench._otlp_sink PORT_FILE``.

It stands in for a collector on another machine: it accepts every export and, on ``GET /count``,
decodes them all (so the exporter's requests are proven real, complete OTLP) and returns the
number of spans. It runs in its own process, like a collector would.
"""

import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

# Exports are kept as they came and decoded only when asked: decoding as they arrive would
# charge the collector's work to the machine the benchmark measures.
BODIES: list[bytes] = []


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        BODIES.append(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        reply = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def do_GET(self) -> None:
        spans = 0
        for body in BODIES:
            request = ExportTraceServiceRequest.FromString(body)
            spans += sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans)
        reply = str(spans).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 -- stdlib signature
        """Quiet: one line per export would flood the benchmark's output."""


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Path(sys.argv[1]).write_text(str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    main()
