"""What the retention function's zip holds beside ``handler.py``: the packages the handler imports
that the Lambda Python 3.12 runtime does not ship.

The runtime includes "the AWS SDK for Python (Boto3) and its dependencies"
(https://docs.aws.amazon.com/lambda/latest/dg/python-package.html, "Runtime dependencies in
Python"): boto3 and botocore, and what they require, s3transfer, jmespath, python-dateutil (with
six) and urllib3 (``RUNTIME_PROVIDED``). The same page warns that shipping an SDK dependency such
as urllib3 in the zip can break the function when Lambda updates the runtime's SDK, so those are
never bundled.

The rest is opensearch-py's import closure (``BUNDLED_MODULES``), all pure Python, so the zip is
the same whichever machine deploys: ``opensearchpy``; ``requests``, which its signer imports
whatever the connection class (opensearchpy/helpers/signer.py), with requests' ``idna`` and
``certifi`` (also the CA bundle of HTTPS connections); and ``events`` (distribution Events,
opensearchpy/metrics). Left out on purpose:

* ``charset_normalizer``: requests only uses it to guess the encoding of a response read through
  requests, which this function never does (it talks through urllib3); its wheels are compiled
  per platform, so bundling it would make the zip, and the function's code hash, depend on the
  deploying machine. The handler silences the one warning requests gives without it.
* opensearch-protobufs (with grpcio and protobuf), which opensearch-py 3 requires but no module of
  the client imports.

The bundle test imports the handler and runs it with only the runtime's packages and these.

Paths come from ``importlib.util.find_spec``, which locates a top-level module without running it:
plans call this and must not import opensearch-py.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

#: Import names the Lambda Python runtime provides (boto3's dependency closure).
RUNTIME_PROVIDED: tuple[str, ...] = (
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "dateutil",
    "six",
    "urllib3",
)
#: Import names the handler needs beyond the runtime's, as installed on the deploying machine.
BUNDLED_MODULES: tuple[str, ...] = (
    "opensearchpy",
    "requests",
    "idna",
    "certifi",
    "events",
)
#: The function's own files, at the archive's root (the handler is ``handler.handler``).
ARCHIVE_FILES: tuple[str, ...] = ("handler.py",)
FUNCTION_DIR = Path(__file__).resolve().parent


def module_path(name: str) -> tuple[str, Path]:
    """The archive entry of an importable top-level module: (folder name, its directory) for a
    package, (file name, the file) for a single-file module."""
    spec = importlib.util.find_spec(name)
    if spec is None:
        raise ModuleNotFoundError(
            f"{name} is not installed here, and the SIEM retention function needs it in its zip: "
            "install guard's dependencies (pip install -e .) before planning or deploying",
            name=name,
        )
    if spec.submodule_search_locations:
        directory = Path(next(iter(spec.submodule_search_locations)))
        return directory.name, directory
    if spec.origin is None or not Path(spec.origin).is_file():
        raise ModuleNotFoundError(f"{name} has no file to bundle ({spec.origin!r})", name=name)
    path = Path(spec.origin)
    return path.name, path


def bundled_packages() -> dict[str, Path]:
    """Archive-relative name -> local directory (package) or file (module), sorted by name."""
    return dict(sorted(module_path(name) for name in BUNDLED_MODULES))


def archive_files() -> dict[str, Path]:
    """The function's own files for the archive: name -> path."""
    return {name: FUNCTION_DIR / name for name in ARCHIVE_FILES}
