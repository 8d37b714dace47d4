"""`python -m twin release 1.2.3`: a release bundle in the twin's deployments bucket.

CI builds the real bundle (npm run build) and uploads ``app-v<version>.zip`` to
``<prefix>-deployments-<region>``; on the twin this stands in for that step, so that
playbooks/deploy_blue_green.yml has something to deploy. The bundle is the stand-in application in
twin/app (docs/twin.md, "The application"), with the layout the user data installs: package.json
(its ``start`` script), its code and its dependencies in node_modules.

The dependencies are the ones twin/app/package-lock.json pins. They are fetched from the npm registry
once per lock file into .cache/twin-app (`make deps` does it, or the first build) and every later
build takes them from there without the network.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import io
import json
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

import boto3

APP = Path(__file__).resolve().with_name("app")
CACHE = APP.parents[1] / ".cache" / "twin-app"
# The app's own code, beside package.json; the lock file stays behind (it names version 0.0.0).
CODE = ("server.js", "lib/*.js")
# A fixed time for every entry: a version built twice is the same bytes (and the same S3 ETag).
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class ReleaseError(RuntimeError):
    """The bundle cannot be built; the message says what to do."""


def _dependencies_key() -> str:
    manifest = json.loads((APP / "package.json").read_text())
    pinned = json.dumps(manifest.get("dependencies", {}), sort_keys=True).encode()
    return hashlib.sha256(pinned + (APP / "package-lock.json").read_bytes()).hexdigest()[:16]


def node_modules(offline: bool = False) -> Path:
    """The app's node_modules as package-lock.json pins them, installed once into the cache.

    With ``offline``, npm may use only its cache (.cache/twin-app/npm): a build that would need the
    registry fails instead. Builds in parallel (test workers) wait for one another.
    """
    target = CACHE / _dependencies_key() / "node_modules"
    if target.is_dir():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not target.is_dir():
            _install(target, offline)
    return target


def _install(target: Path, offline: bool) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise ReleaseError("npm is not installed: run `make deps` (installs nodejs and npm)")
    work = Path(tempfile.mkdtemp(prefix=".install-", dir=CACHE))
    try:
        for name in ("package.json", "package-lock.json"):
            shutil.copy(APP / name, work / name)
        # Only what the lock pins, no install scripts; --offline takes npm's cache alone.
        command = [npm, "ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund"]
        command += ["--cache", str(CACHE / "npm"), "--offline" if offline else "--prefer-offline"]
        result = subprocess.run(command, cwd=work, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            hint = " (offline: run `make deps` once with the npm registry reachable)" if offline else ""
            raise ReleaseError(f"npm ci failed{hint}: {(result.stderr or result.stdout).strip()[-2000:]}")
        target.parent.mkdir(parents=True, exist_ok=True)
        (work / "node_modules").rename(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def bundle(version: str, offline: bool = False) -> bytes:
    """The release bundle of ``version``: the app, its package.json naming the version, its node_modules."""
    package = json.loads((APP / "package.json").read_text())
    package["version"] = version
    files = [(path.relative_to(APP).as_posix(), path) for pattern in CODE for path in sorted(APP.glob(pattern))]
    modules = node_modules(offline)
    files += [
        (f"node_modules/{path.relative_to(modules).as_posix()}", path)
        for path in sorted(modules.rglob("*"))
        if path.is_file() and ".bin" not in path.relative_to(modules).parts
    ]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        _add(archive, "package.json", (json.dumps(package, indent=2) + "\n").encode())
        for name, path in files:
            _add(archive, name, path.read_bytes())
    return buffer.getvalue()


def _add(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    entry = zipfile.ZipInfo(name, ZIP_TIME)
    entry.external_attr = 0o644 << 16
    entry.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(entry, data)


def cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m twin release", description=__doc__.splitlines()[0])
    parser.add_argument("version", nargs="?", help="the release, like 1.2.3")
    parser.add_argument(
        "--deps-only",
        action="store_true",
        help="only fetch the app's pinned npm dependencies into .cache/twin-app (what `make deps` runs)",
    )
    parser.add_argument("--prefix", default="wedsync-local", help="the estate's name prefix (default: %(default)s)")
    parser.add_argument("--region", default="us-east-1", help="default: %(default)s")
    args = parser.parse_args(argv)
    try:
        if args.deps_only:
            print(f"the app's dependencies are in {node_modules()}")
            return 0
        if not args.version:
            parser.error("the release VERSION is required, like 1.2.3")
        body = bundle(args.version)
    except ReleaseError as exc:
        parser.exit(1, f"python -m twin release: {exc}\n")
    bucket, key = f"{args.prefix}-deployments-{args.region}", f"app-v{args.version}.zip"
    boto3.client("s3", region_name=args.region).put_object(Bucket=bucket, Key=key, Body=body)
    print(f"s3://{bucket}/{key}: release {args.version} is ready to deploy")
    return 0
