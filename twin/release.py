"""`python -m twin release 1.2.3`: a release bundle in the twin's deployments bucket.

CI builds the real bundle (npm run build) and uploads ``app-v<version>.zip`` to
``<prefix>-deployments-<region>``; on the twin this stands in for that step, so that
playbooks/deploy_blue_green.yml has something to deploy. The bundle is a small Node application
with the layout the user data installs: package.json (its ``start`` script) and a server that
answers ``GET /api/health`` with the release.
"""

from __future__ import annotations

import argparse
import io
import json
import zipfile

import boto3

SERVER = """const http = require("http");
const version = require("./package.json").version;
http.createServer((request, response) => {
  response.setHeader("Content-Type", "application/json");
  response.end(JSON.stringify({status: "ok", version, path: request.url}));
}).listen(process.env.PORT || 3000);
"""


def bundle(version: str) -> bytes:
    package = {"name": "wedsync", "version": version, "private": True, "scripts": {"start": "node server.js"}}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("package.json", json.dumps(package, indent=2) + "\n")
        archive.writestr("server.js", SERVER)
    return buffer.getvalue()


def cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m twin release", description=__doc__.splitlines()[0])
    parser.add_argument("version", help="the release, like 1.2.3")
    parser.add_argument("--prefix", default="wedsync-local", help="the estate's name prefix (default: %(default)s)")
    parser.add_argument("--region", default="us-east-1", help="default: %(default)s")
    args = parser.parse_args(argv)
    bucket, key = f"{args.prefix}-deployments-{args.region}", f"app-v{args.version}.zip"
    boto3.client("s3", region_name=args.region).put_object(Bucket=bucket, Key=key, Body=bundle(args.version))
    print(f"s3://{bucket}/{key}: release {args.version} is ready to deploy")
    return 0
