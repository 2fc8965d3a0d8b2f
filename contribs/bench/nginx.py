"""The machine's HTTP limit: nginx answering ``return 204`` to everything, no Python at all.

Started with as many worker processes as the service has workers, on 127.0.0.1, from a
configuration written into the run's directory (nothing of the system's nginx is used). When
nginx is not installed the run goes on without this row and says so
(``apt-get install nginx-light``).
"""
from __future__ import annotations

import shutil
from pathlib import Path

from wazo_like_auth.embedded_db import free_port

from .load import HOST

CONFIG = """worker_processes {workers};
pid {root}/nginx.pid;
error_log {root}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    keepalive_requests 1000000;
    server {{
        listen {host}:{port} reuseport;
        location / {{ return 204; }}
    }}
}}
"""
MISSING = 'nginx not installed: no machine HTTP limit row (apt-get install nginx-light)'


def binary() -> str | None:
    return shutil.which('nginx') or next(
        (str(p) for p in (Path('/usr/sbin/nginx'),) if p.exists()), None)


def command(root: Path, workers: int) -> tuple[list[str], int] | None:
    """(argv, port) of an nginx answering 204 with ``workers`` workers; None without nginx."""
    nginx = binary()
    if nginx is None:
        return None
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    path = root / 'nginx.conf'
    path.write_text(CONFIG.format(workers=workers, root=root, host=HOST, port=port))
    return [nginx, '-p', str(root), '-c', str(path), '-g', 'daemon off;'], port
