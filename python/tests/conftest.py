"""Shared fixtures: the shared corpus (as the Rust suites find it) and the stand-in service."""

import json
import os
import pathlib
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]


def shared(sub: str) -> pathlib.Path:
    """``../shared/testdata/<sub>`` (or ``$KVS_TESTDATA/<sub>``): skipped loudly when missing,
    a failure with ``KVS_REQUIRE_SHARED_TESTDATA=1`` (CI)."""
    root = pathlib.Path(os.environ.get("KVS_TESTDATA", REPO.parent / "shared" / "testdata"))
    d = root / sub
    if d.is_dir():
        return d
    if os.environ.get("KVS_REQUIRE_SHARED_TESTDATA") == "1":
        pytest.fail(f"shared test data required but {d} not found")
    pytest.skip(f"!!!!!!!! SKIPPED: {d} not found (set KVS_TESTDATA) !!!!!!!!")


@pytest.fixture
def kvs_java() -> pathlib.Path:
    return shared("kvs-java")


@pytest.fixture
def generated() -> pathlib.Path:
    return shared("generated")


def standin_binary() -> pathlib.Path:
    """The stand-in example, built by ``cargo test --all-features`` (or ``cargo build
    --example standin --features aws``); ``$KVP_STANDIN`` overrides."""
    p = pathlib.Path(os.environ.get("KVP_STANDIN", REPO / "target" / "debug" / "examples" / "standin"))
    if not p.exists():
        pytest.fail(f"{p} not found: run `cargo build --example standin --features aws` first")
    return p


class StandIn:
    """A running stand-in: ``url`` for ``endpoint_url``; stopped when closed."""

    def __init__(self, streams: dict, cut=None):
        args = [str(standin_binary())]
        if cut is not None:
            args += ["--cut", str(cut)]
        args += [f"{name}={path}" for name, path in streams.items()]
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the stand-in did not start (exit {self.proc.wait()})")
        self.url = json.loads(line)["url"]

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


@pytest.fixture(autouse=True)
def dummy_credentials(monkeypatch):
    """Nothing leaves the host: dummy credentials, no config files, no instance metadata."""
    for k, v in {
        "AWS_ACCESS_KEY_ID": "AKIDTESTTESTTEST",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/nonexistent",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(k, v)
