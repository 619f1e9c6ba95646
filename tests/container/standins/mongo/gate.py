"""The stand-in `mongo:7`: the embedded MongoDB-compatible server (nx-27017, which has no
authentication) behind a gate that authenticates as mongod does, for the container test only.

The gate listens where mongod would (GATE_HOST:27017, loopback: the test runs every container on
host networking) and starts nx-27017 on NX_PORT behind it. It answers `saslStart`/`saslContinue`
itself (SCRAM-SHA-1, mongod's password digest, the server signature checked by the client too)
for the users the real image would have: root (MONGO_INITDB_ROOT_USERNAME and its password file)
and each user an init script mounted in /docker-entrypoint-initdb.d creates (deploy/mongo/*.js:
`createUser({ user: "ingest", ...`), with the password file that script reads (`process.env.X ||
"/run/secrets/..."`), as the real image's first start would run it. Until a connection has
authenticated, it refuses every command but the handshake and ping (code 13, Unauthorized), as
mongod does with authorization on; after, it passes messages through unchanged. Roles are not
enforced: what a user may do is left to a real MongoDB.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import re
import secrets
import signal
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import bson

OP_MSG, OP_QUERY = 2013, 2004
OPEN_COMMANDS = {"hello", "ismaster", "ping", "buildinfo", "endsessions", "saslstart", "saslcontinue"}
ITERATIONS = 10_000
HEADER = struct.Struct("<iiii")


INIT_SCRIPTS = Path("/docker-entrypoint-initdb.d")
CREATED_USER = re.compile(r"createUser\(\{\s*user:\s*\"(\w+)\"")
PASSWORD_FILE = re.compile(r"process\.env\.(\w+_PASSWORD_FILE)\s*\|\|\s*\"([^\"]+)\"")


def created_users() -> dict[str, str]:
    """User -> password file, of each init script that creates a user (the equivalent of running it)."""
    users = {}
    for script in sorted(INIT_SCRIPTS.glob("*.js")):
        text = script.read_text()
        user, password_file = CREATED_USER.search(text), PASSWORD_FILE.search(text)
        if user and password_file:
            users[user[1]] = os.environ.get(password_file[1], password_file[2])
    return users


def password_of(user: str) -> str | None:
    files = {
        os.environ.get("MONGO_INITDB_ROOT_USERNAME", "root"): os.environ.get(
            "MONGO_INITDB_ROOT_PASSWORD_FILE", "/run/secrets/mongo_root_password"
        ),
        **created_users(),
    }
    try:
        return Path(files[user]).read_text().strip() or None
    except (KeyError, OSError):
        return None


def hmac_sha1(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha1).digest()


def sha1(data: bytes) -> bytes:
    return hashlib.sha1(data).digest()  # noqa: S324 - SCRAM-SHA-1 is defined on it


class Scram:
    """One SCRAM-SHA-1 conversation (RFC 5802, with MongoDB's `user:mongo:password` digest)."""

    def __init__(self) -> None:
        self.user = ""
        self.client_first_bare = ""
        self.server_first = ""
        self.salted = b""

    def start(self, payload: bytes) -> bytes | None:
        bare = payload.decode().removeprefix("n,,")
        fields = dict(item.split("=", 1) for item in bare.split(","))
        self.user = fields["n"].replace("=2C", ",").replace("=3D", "=")
        password = password_of(self.user)
        if password is None:
            return None
        salt = secrets.token_bytes(16)
        digest = hashlib.md5(f"{self.user}:mongo:{password}".encode()).hexdigest()  # noqa: S324 - MongoDB's SCRAM-SHA-1
        self.salted = hashlib.pbkdf2_hmac("sha1", digest.encode(), salt, ITERATIONS)
        nonce = fields["r"] + base64.b64encode(secrets.token_bytes(24)).decode()
        self.client_first_bare = bare
        self.server_first = f"r={nonce},s={base64.b64encode(salt).decode()},i={ITERATIONS}"
        return self.server_first.encode()

    def finish(self, payload: bytes) -> bytes | None:
        final = payload.decode()
        without_proof, _, proof = final.rpartition(",p=")
        message = f"{self.client_first_bare},{self.server_first},{without_proof}".encode()
        client_key = hmac_sha1(self.salted, b"Client Key")
        stored_key = sha1(client_key)
        signature = hmac_sha1(stored_key, message)
        recovered = bytes(a ^ b for a, b in zip(base64.b64decode(proof), signature, strict=True))
        if not hmac.compare_digest(sha1(recovered), stored_key):
            return None
        server_signature = hmac_sha1(hmac_sha1(self.salted, b"Server Key"), message)
        return b"v=" + base64.b64encode(server_signature)


def reply(request_id: int, document: dict[str, Any]) -> bytes:
    body = struct.pack("<I", 0) + b"\x00" + bson.encode(document)
    return HEADER.pack(HEADER.size + len(body), secrets.randbelow(2**31), request_id, OP_MSG) + body


def command_of(op_code: int, body: bytes) -> dict[str, Any]:
    """The command document: OP_MSG's body section, or OP_QUERY's query (the legacy handshake)."""
    if op_code == OP_MSG and body[4] == 0:
        return bson.decode(body[5 : 5 + struct.unpack_from("<i", body, 5)[0]])
    if op_code == OP_QUERY:
        start = body.index(b"\x00", 4) + 1 + 8  # flags, collection name, skip and return counts
        return bson.decode(body[start : start + struct.unpack_from("<i", body, start)[0]])
    return {}


AUTH_FAILED = {"ok": 0.0, "errmsg": "Authentication failed.", "code": 18, "codeName": "AuthenticationFailed"}


async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(1 << 16):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


async def serve(client: asyncio.StreamReader, to_client: asyncio.StreamWriter, nx_port: int) -> None:
    upstream, to_upstream = await asyncio.open_connection("127.0.0.1", nx_port)
    back = asyncio.create_task(pump(upstream, to_client))
    authenticated, scram = False, Scram()
    try:
        while True:
            header = await client.readexactly(HEADER.size)
            length, request_id, _, op_code = HEADER.unpack(header)
            body = await client.readexactly(length - HEADER.size)
            command = command_of(op_code, body)
            name = next(iter(command), "").lower()
            if name == "saslstart" and command.get("$db") == "admin":
                first = scram.start(bytes(command.get("payload", b"")))
                answer = (
                    AUTH_FAILED if first is None else {"conversationId": 1, "done": False, "payload": first, "ok": 1.0}
                )
                to_client.write(reply(request_id, answer))
            elif name == "saslcontinue":
                payload = bytes(command.get("payload", b""))
                final = b"" if authenticated and not payload else scram.finish(payload) if scram.salted else None
                authenticated = authenticated or final is not None
                answer = (
                    AUTH_FAILED if final is None else {"conversationId": 1, "done": True, "payload": final, "ok": 1.0}
                )
                to_client.write(reply(request_id, answer))
            elif authenticated or name in OPEN_COMMANDS:
                to_upstream.write(header + body)
                await to_upstream.drain()
            else:
                to_client.write(
                    reply(request_id, {"ok": 0.0, "errmsg": f"command {name} requires authentication",
                                       "code": 13, "codeName": "Unauthorized"})
                )  # fmt: skip
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        to_upstream.close()
        back.cancel()
        to_client.close()


async def gate(nx_port: int) -> None:
    """Serve until SIGTERM or SIGINT, once nx-27017 accepts connections."""
    for _ in range(100):
        try:
            _, probe = await asyncio.open_connection("127.0.0.1", nx_port)
            probe.close()
            break
        except OSError:
            await asyncio.sleep(0.1)
    host, port = os.environ.get("GATE_HOST", "127.0.0.1"), int(os.environ.get("GATE_PORT", "27017"))
    server = await asyncio.start_server(lambda r, w: serve(r, w, nx_port), host, port)
    stopped = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stopped.set)
    sys.stdout.write(f"stand-in mongo: the gate on {host}:{port}, nx-27017 on {nx_port}\n")
    sys.stdout.flush()
    async with server:
        await stopped.wait()


def main() -> None:
    nx_port = int(os.environ.get("NX_PORT", "27018"))
    command = [str(Path(sys.executable).with_name("nx-27017")), "--data-dir", os.environ.get("NX_DATA_DIR", "/data/db")]
    command += ["--host", "127.0.0.1", "-p", str(nx_port), "--log-file", "/dev/null"]
    command += ["--pid-file", "/run/nx-27017.pid"]  # the container's own
    # nx-27017 logs every command: its output is dropped.
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        asyncio.run(gate(nx_port))
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
