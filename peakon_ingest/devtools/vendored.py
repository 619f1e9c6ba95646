"""The JavaScript we vendor from the npm registry, pinned: each package's version, the integrity of its
tarball and the sha256 of every file taken from it. This is the one record of them; tests check the
committed files against it, and `python -m peakon_ingest.devtools.vendored` (`make vendor`) fetches
them again (`npm pack`), refusing a tarball or a file that is not the recorded one.

To move a pin: change the version, run with `--update` (it prints the new integrity and sha256 values
instead of refusing), review the library's changes, and record the printed values here.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class File:
    member: str  # its path in the tarball
    target: str  # where it is committed, from the repository root
    sha256: str


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    integrity: str  # the registry's sha512 of the tarball (`npm view NAME@VERSION dist.integrity`)
    files: tuple[File, ...]


AXE = Package(
    "axe-core",
    "4.14.1",
    "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ==",
    (
        # For the browser tests only: never served by the app.
        File("package/axe.min.js", "tests/web/vendor/axe-core.min.js",
             "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"),
        File("package/LICENSE", "tests/web/vendor/axe-core.LICENSE",
             "af175b9d96ee93c21a036152e1b905b0b95304d4ae8c2c921c7609100ba8df7e"),
    ),
)  # fmt: skip
ECHARTS = Package(
    "echarts",
    "5.6.0",
    "sha512-oTbVTsXfKuEhxftHqL5xprgLoc0k7uScAwtryCgWF6hPYFLRwOUHiFmHGCBKP5NPFNkDVopOieyUqYGH8Fa3kA==",
    (
        # Served by the pages from their static files (Apache-2.0; parts derived from d3, BSD-3-Clause).
        File("package/dist/echarts.min.js", "peakon_ingest/web/static/echarts.min.js",
             "bf4a223524e40b77c304bec67e1222cf551f14880cf42c69dc046558e11c07b1"),
        File("package/LICENSE", "peakon_ingest/web/static/echarts.LICENSE",
             "634293835b43a6dd2094fa39182a3d9a6b9ca43b7fdb9ac354e8037af2a3093a"),
        File("package/NOTICE", "peakon_ingest/web/static/echarts.NOTICE",
             "fa99ac3af859d0e13166906dc53a73ad34a08898da7e8ae83407275496e9e30c"),
        File("package/licenses/LICENSE-d3", "peakon_ingest/web/static/echarts.LICENSE-d3",
             "e1211892da0b0e0585b7aebe8f98c1274fba15bafe47fa1f4ee8a7a502c06304"),
    ),
)  # fmt: skip
PACKAGES = (AXE, ECHARTS)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def verified(file: File) -> bytes:
    """The committed file's bytes, once they are the recorded ones."""
    data = (ROOT / file.target).read_bytes()
    if sha256(data) != file.sha256:
        msg = f"{file.target} is not the pinned build (sha256 {sha256(data)}, recorded {file.sha256})"
        raise ValueError(msg)
    return data


def fetch(package: Package, *, update: bool = False) -> list[str]:
    """`npm pack` the pinned version, check it, and write its files; the problems found (`update`:
    written anyway, the new values listed)."""
    problems = []
    with tempfile.TemporaryDirectory() as work:
        spec = f"{package.name}@{package.version}"
        command = ["npm", "pack", spec, "--silent", "--pack-destination", work]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, timeout=600)  # noqa: S603 - a pin above
        tarball = next(Path(work).glob("*.tgz"))
        if (found := integrity(tarball.read_bytes())) != package.integrity:
            problems.append(f"{spec}: tarball integrity {found}, recorded {package.integrity}")
        with tarfile.open(tarball) as archive:
            contents = {}
            for file in package.files:
                member = archive.extractfile(file.member)  # a named regular file only: no path is trusted
                assert member is not None, f"{spec} has no {file.member}"
                contents[file] = member.read()
    for file, data in contents.items():
        if sha256(data) != file.sha256:
            problems.append(f"{file.target}: sha256 {sha256(data)}, recorded {file.sha256}")
    if problems and not update:
        return problems
    for file, data in contents.items():
        (ROOT / file.target).parent.mkdir(parents=True, exist_ok=True)
        (ROOT / file.target).write_bytes(data)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="check the committed files only (no npm)")
    parser.add_argument("--update", action="store_true", help="write what the registry has, listing new values")
    args = parser.parse_args(argv)
    problems = []
    for package in PACKAGES:
        if args.check:
            for file in package.files:
                try:
                    verified(file)
                except (OSError, ValueError) as err:
                    problems.append(str(err))
        else:
            problems += fetch(package, update=args.update)
    for problem in problems:
        sys.stderr.write(problem + "\n")
    return 1 if problems and not args.update else 0


if __name__ == "__main__":
    sys.exit(main())
