"""The retention function's zip runs on the Lambda runtime with exactly what that runtime ships.

The archive is laid out as ``components/lambda_function.py`` builds it (the function's files plus
``bundled_packages()``), then a fresh interpreter in isolated mode, without site-packages, whose
path is only that folder, a folder of the runtime-provided packages (boto3 and its dependencies,
``RUNTIME_PROVIDED``) and the standard library, imports the handler and applies a policy to the
local ISM server. With a Python 3.12 on the machine it also runs there, the runtime's version.

The two folders hold symbolic links to this environment's packages and live in a folder of the
system temp directory named after their content rather than in ``tmp_path``: byte-code is cached
by source path, so stable paths let a later run reuse what an earlier one compiled (a cold 3.12
run compiles botocore and opensearch-py, about 2 s).
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.credentials import ReadOnlyCredentials

from functions.siem_retention.bundle import (
    ARCHIVE_FILES,
    BUNDLED_MODULES,
    RUNTIME_PROVIDED,
    archive_files,
    bundled_packages,
    module_path,
)
from guard.siem_ism import DEFAULT_INDICES, policy_id, retention_event, retention_policy
from tests.functions.siem_retention.ism_server import IsmDomain, IsmServer, serving

ROOT = Path(__file__).resolve().parents[3]
REGION = "ap-northeast-1"
ACCESS_KEY, SECRET_KEY = "AKIDGUARDBUNDLE00001", "guard-bundle-secret"

#: Runs in the isolated interpreter: import and invoke the handler, then list every loaded module
#: file outside the archive, the runtime folder and the interpreter's own standard library.
PROBE = """
import json, sys
archive, runtime, event = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
stdlib = tuple(sys.path)
sys.path[:0] = [archive, runtime]
import handler
result = handler.handler(event, None)
files = {getattr(m, "__file__", None) or "" for m in list(sys.modules.values())}
foreign = sorted(f for f in files if f and not f.startswith((archive, runtime, *stdlib)))
print(json.dumps({"result": result, "foreign": foreign, "version": sys.version_info[:2]}))
"""


def lambda_python() -> str | None:
    """A Python 3.12 interpreter, the Lambda runtime's version, if this machine has one."""
    candidates = [os.environ.get("GUARD_LAMBDA_PYTHON"), shutil.which("python3.12")]
    candidates += sorted(glob.glob(str(Path.home() / ".pyenv/versions/3.12*/bin/python3.12")))
    for candidate in filter(None, candidates):
        try:
            version = subprocess.run(
                [candidate, "-I", "-S", "-c", "import sys; print(sys.version_info[:2])"],
                capture_output=True,
                text=True,
                timeout=10,
            ).stdout.strip()
        except OSError:
            continue
        if version == "(3, 12)":
            return candidate
    return None


def lambda_folders() -> Path:
    """A folder with ``archive/`` and ``runtime/``, made once per content (handler.py, package
    paths) and atomically, so that concurrent test sessions share it safely."""
    handler_py = archive_files()["handler.py"].read_bytes()
    content = {
        "handler.py": hashlib.sha256(handler_py).hexdigest(),
        "bundle": {name: str(path) for name, path in bundled_packages().items()},
        "runtime": [str(module_path(name)[1]) for name in RUNTIME_PROVIDED],
    }
    key = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]
    base = Path(tempfile.gettempdir()) / "guard-lambda-bundle"
    target = base / key
    if not target.is_dir():
        base.mkdir(exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=base))
        build_archive(staging / "archive")
        runtime_folder(staging / "runtime")
        try:
            staging.rename(target)
        except OSError:  # another session made it first
            shutil.rmtree(staging, ignore_errors=True)
    return target


def build_archive(folder: Path) -> Path:
    """handler.py and the bundled packages, as the function's zip lays them out."""
    folder.mkdir()
    for name, path in archive_files().items():
        shutil.copy(path, folder / name)
    for name, path in bundled_packages().items():
        (folder / name).symlink_to(path, target_is_directory=path.is_dir())
    return folder


def runtime_folder(folder: Path) -> Path:
    """The packages the Lambda Python runtime provides, taken from this environment."""
    folder.mkdir()
    for entry, path in map(module_path, RUNTIME_PROVIDED):  # six is a single file
        (folder / entry).symlink_to(path, target_is_directory=path.is_dir())
    return folder


@pytest.fixture
def ism(monkeypatch: pytest.MonkeyPatch) -> Iterator[IsmServer]:
    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key)
    domain = IsmDomain(REGION, ReadOnlyCredentials(ACCESS_KEY, SECRET_KEY, None))
    domain.add_index("log-aws-waf-2026-11")
    with serving(domain) as server:
        yield server


def test_the_bundle_is_opensearch_py_and_what_it_imports_beyond_the_runtime() -> None:
    bundle = bundled_packages()
    assert sorted(bundle) == sorted(BUNDLED_MODULES)
    assert all(path.is_dir() and (path / "__init__.py").is_file() for path in bundle.values())
    # Pure Python only: the same zip from any deploying machine.
    native = [p for path in bundle.values() for p in path.rglob("*") if p.suffix in (".so", ".pyd")]
    assert native == []
    # The runtime's SDK packages are never shadowed by the zip's (python-package.html).
    assert not set(bundle) & set(RUNTIME_PROVIDED)
    assert ARCHIVE_FILES == ("handler.py",)
    assert all(path.is_file() for path in archive_files().values())


def test_finding_the_packages_imports_none_of_them() -> None:
    """Plans call bundled_packages(): it must not import opensearch-py (seconds per plan)."""
    code = (
        "import sys; from functions.siem_retention.bundle import bundled_packages, "
        "BUNDLED_MODULES; bundled_packages(); "
        "print([m for m in BUNDLED_MODULES if m in sys.modules])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("interpreter", ["this", "python3.12"])
def test_the_zip_imports_and_runs_with_only_the_runtimes_packages(
    interpreter: str, ism: IsmServer
) -> None:
    python = sys.executable if interpreter == "this" else lambda_python()
    if python is None:
        pytest.skip("no Python 3.12 interpreter on this machine (set GUARD_LAMBDA_PYTHON)")
    folders = lambda_folders()
    archive, runtime = folders / "archive", folders / "runtime"
    body = retention_policy(hot_days=7, warm_days=None, indices=DEFAULT_INDICES, description="x")
    event = retention_event(endpoint=ism.url, region=REGION, policy_id=policy_id("prod"), body=body)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }

    # -I: no PYTHON* variables, no user site, no script folder; -S: no site-packages. Byte-code
    # goes to a cache beside the folders, not into the linked packages.
    options = ["-I", "-S", "-X", f"pycache_prefix={folders / 'pycache'}"]
    done = subprocess.run(
        [python, *options, "-c", PROBE, str(archive), str(runtime), json.dumps(event)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["foreign"] == []
    assert report["result"]["action"] == "created"
    assert report["result"]["attached"] == ["log-aws-waf-2026-11"]
    if interpreter == "python3.12":
        assert report["version"] == [3, 12]
    # No charset detector is bundled, and the handler silences requests' warning about it.
    assert "charset_normalizer" not in bundled_packages()
    assert done.stderr == ""
