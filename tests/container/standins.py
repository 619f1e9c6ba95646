"""Stand-ins for the images Docker Hub would give (out of reach here), built only when the real image
is not available: `python:3.11-slim-bookworm` from debootstrap, and a `mongo:7` running the embedded
MongoDB-compatible server behind an authentication gate. Each carries the label STANDIN_LABEL, and
the base carries this machine's extra CA certificates: none of them may ever be pushed."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.container.engine import run

BASE = "python:3.11-slim-bookworm"
MONGO = "mongo:7"
STANDIN_LABEL = "org.peakon-ingest.stand-in"
CONTEXT_LABEL = "org.peakon-ingest.stand-in.context"  # the sha256 of the build context
HERE = Path(__file__).parent
MONGO_CONTEXT = HERE / "standins" / "mongo"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
BASE_PACKAGES = ("python3.11", "python3.11-venv", "python3-pip", "ca-certificates")
EXTRA_CERTIFICATES = Path("/usr/local/share/ca-certificates")


def image_exists(name: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", name], capture_output=True, check=False).returncode == 0


def debian_mirror() -> str:
    """The Debian mirror this machine's apt uses (a deb822 `URIs:` or a `deb` line), for debootstrap."""
    sources = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*.*"))]
    for source in (path for path in sources if path.suffix in {".list", ".sources"} and path.is_file()):
        for line in source.read_text().splitlines():
            words = line.split()
            if words[:1] in (["URIs:"], ["deb"]):
                for url in (word for word in words if "://" in word):
                    if url.rstrip("/").endswith("/debian"):
                        return url
    return DEFAULT_MIRROR


def build_base() -> str:
    if image_exists(BASE):
        return f"{BASE} present"
    with tempfile.TemporaryDirectory(prefix="peakon-base-") as folder:
        root = Path(folder) / "rootfs"
        mirror = debian_mirror()
        run("debootstrap", "--variant=minbase", "bookworm", str(root), mirror)
        shutil.copyfile("/etc/resolv.conf", root / "etc/resolv.conf")
        run("chroot", str(root), "apt-get", "install", "-y", "-qq", "--no-install-recommends", *BASE_PACKAGES)
        # pip inside the images must trust this machine's TLS interception, as pip here does.
        for certificate in EXTRA_CERTIFICATES.glob("*.crt"):
            shutil.copyfile(certificate, root / "usr/local/share/ca-certificates" / certificate.name)
        run("chroot", str(root), "update-ca-certificates")
        run("chroot", str(root), "apt-get", "clean")
        for name in ("python", "python3"):
            (root / "usr/local/bin" / name).symlink_to("/usr/bin/python3.11")
        shutil.rmtree(root / "var/lib/apt/lists", ignore_errors=True)
        (root / "etc/resolv.conf").unlink()
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run(
            [
                "docker",
                "import",
                "-c",
                "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "-c",
                "ENV LANG=C.UTF-8",
                "-c",
                f'LABEL {STANDIN_LABEL}="debootstrap bookworm, python3.11, this machine\'s CA roots; never push"',
                "-",
                BASE,
            ],
            stdin=tar.stdout,
            capture_output=True,
            text=True,
            check=False,
        )
        if tar.wait() != 0 or imported.returncode != 0:
            msg = f"importing {BASE} failed: {imported.stderr[-2000:]}"
            raise RuntimeError(msg)
    return f"built stand-in {BASE} from debootstrap ({mirror})"


def context_digest() -> str:
    """The stand-in mongo's build context, hashed: an image built from an older gate is built anew."""
    digest = hashlib.sha256()
    for path in sorted(MONGO_CONTEXT.rglob("*")):
        if path.is_file():
            digest.update(f"{path.relative_to(MONGO_CONTEXT)}\0".encode() + path.read_bytes() + b"\0")
    return digest.hexdigest()


def label_of(image: str, label: str) -> str | None:
    done = subprocess.run(
        ["docker", "image", "inspect", "--format", f'{{{{index .Config.Labels "{label}"}}}}', image],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    value = done.stdout.strip()
    return value if done.returncode == 0 and value not in {"", "<no value>"} else None


def build_mongo() -> str:
    """A real mongo:7 is used as it is; the stand-in is built when missing or built from another context."""
    digest = context_digest()
    if image_exists(MONGO) and label_of(MONGO, STANDIN_LABEL) is None:
        return f"{MONGO} present"
    if label_of(MONGO, CONTEXT_LABEL) == digest:
        return f"stand-in {MONGO} present (context {digest[:12]})"
    run(
        "docker", "build", "--network", "host", "--quiet", "-t", MONGO,
        "--label", f"{STANDIN_LABEL}=nx-27017 behind a SCRAM-SHA-1 gate; never push",
        "--label", f"{CONTEXT_LABEL}={digest}",
        str(MONGO_CONTEXT),
        env={"DOCKER_BUILDKIT": "0", "PATH": "/usr/local/bin:/usr/bin:/bin"},
    )  # fmt: skip
    return f"built stand-in {MONGO} (context {digest[:12]})"
