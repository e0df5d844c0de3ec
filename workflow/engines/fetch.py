"""``wf-cluster fetch``: install Flink, Spark and Beam's job servers into the engine cache, once.

An install step, never a run-time download: the clusters and the jobs then
run from the cache with nothing fetched. Three kinds of work:

* Python distributions that carry the engines (versions.py), taken with
  ``pip download`` under ``--require-hashes``: pip checks each file against
  its pinned SHA-256 before it unpacks or builds anything;
* an engine home assembled from them (``flink-<version>/``: bin, conf, lib,
  opt, plugins; ``spark-<version>/``: bin, sbin, jars), written beside its
  final name and renamed into place with a ``.complete`` marker last;
* a job-server jar shaded by Maven from Beam's runner module
  (maven/*.pom.xml, checksums checked by Maven with ``-C``), rebuilt when its
  pom changes.

Each piece that is already in place is skipped, so the command is cheap to
repeat (CI runs it every time).
"""

from __future__ import annotations

import hashlib
import importlib.resources
import logging
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import Callable

from workflow.engines.versions import (BEAM_JOB_SERVER, COMPLETE, FLINK, FLINK_DOWNLOADS, FLINK_MINOR, SPARK, SPARK_DOWNLOADS, Download,
                                       Installed)

log = logging.getLogger(__name__)
ENGINES = ("flink", "spark")
POM_DIGEST_SUFFIX = ".pom-sha256"  # beside a jar: the digest of the pom it was built from


class FetchError(RuntimeError):
    """An install step that cannot finish; the message names the step and its log."""


def fetch(engine: str, installed: Installed) -> None:
    """Install ``engine`` (``flink`` or ``spark``): its home and its Beam job server."""
    if engine == "flink":
        files = downloaded(FLINK_DOWNLOADS, installed.downloads)
        assemble(installed.flink_home, lambda home: flink_home(home, *files))
        versions = {"beam.version": BEAM_JOB_SERVER, "flink.minor": FLINK_MINOR}
        build_jar("flink-job-server", installed.flink_job_server, versions, installed)
        build_jar("flink-runner-lib", installed.flink_runner_lib, versions, installed)
    else:
        (archive,) = downloaded(SPARK_DOWNLOADS, installed.downloads)
        assemble(installed.spark_home, lambda home: spark_home(home, archive))
        build_jar("spark-job-server", installed.spark_job_server, {"beam.version": BEAM_JOB_SERVER, "spark.version": SPARK}, installed)


def sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def downloaded(downloads: tuple[Download, ...], folder: Path) -> list[Path]:
    """The files of ``downloads`` in ``folder``, taken with pip where absent or not the pinned bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for download in downloads:
        path = folder / download.file_name
        if not (path.exists() and sha256(path) == download.sha256):
            log.info("fetch: %s (pip download, SHA-256 checked)", download.requirement)
            _pip_download(download, folder)
        if not path.exists():
            raise FetchError(f"pip downloaded {download.requirement} but no {download.file_name} is in {folder}")
        paths.append(path)
    return paths


def _pip_download(download: Download, folder: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="wf-fetch-") as scratch:
        requirements = Path(scratch) / "requirements.txt"
        requirements.write_text(f"{download.requirement} --hash=sha256:{download.sha256}\n")
        if download.platform_wheel:  # the same file on every machine: only its scripts and config are used
            kind = ["--only-binary=:all:", "--platform=manylinux2014_x86_64", "--python-version=3.11", "--implementation=cp", "--abi=cp311"]
        else:  # a source distribution: its metadata is built with this environment's setuptools, nothing else fetched
            kind = ["--no-binary=:all:", "--no-build-isolation"]
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--require-hashes", "-r", str(requirements), "-d", str(folder), *kind]
        _run(command, f"pip download {download.requirement}")


def assemble(home: Path, build: Callable[[Path], None]) -> None:
    """Build an engine home in a folder beside ``home`` and rename it into place; skipped when ``home`` is complete."""
    if (home / COMPLETE).exists():
        return
    log.info("fetch: assembling %s", home)
    partial = home.with_name(f"{home.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        build(partial)
        (partial / COMPLETE).write_text("")
        shutil.rmtree(home, ignore_errors=True)  # an interrupted fetch's home
        os.replace(partial, home)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def flink_home(home: Path, wheel: Path, libraries: Path) -> None:
    """A Flink distribution: bin/ and conf/ from the apache-flink wheel, lib/, opt/, plugins/ (and bin's jar) from its libraries."""
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.infolist():
            for part in ("bin", "conf"):
                prefix = f"pyflink/{part}/"
                if member.filename.startswith(prefix) and not member.is_dir():
                    target = home / part / member.filename[len(prefix):]
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(archive.read(member))
    _untar(libraries, f"apache-flink-libraries-{FLINK}/deps/", home, ("lib", "opt", "plugins", "bin", "licenses"))
    _make_executable(home / "bin")


def spark_home(home: Path, archive: Path) -> None:
    """A Spark distribution: bin/, sbin/ and jars/ of pyspark's source distribution."""
    _untar(archive, f"pyspark-{SPARK}/deps/", home, ("bin", "sbin", "jars", "licenses"))
    _make_executable(home / "bin")
    _make_executable(home / "sbin")


def _untar(archive: Path, prefix: str, home: Path, parts: tuple[str, ...]) -> None:
    """The members of ``archive`` under ``prefix<part>/`` into ``home/<part>/`` (tarfile's ``data`` filter: no links out, no devices)."""
    with tarfile.open(archive) as tar:
        members = []
        for member in tar.getmembers():
            name = member.name[len(prefix):] if member.name.startswith(prefix) else ""
            if name.split("/", 1)[0] in parts:
                member.name = name
                members.append(member)
        if not members:
            raise FetchError(f"{archive} holds nothing under {prefix}: not the distribution this code expects")
        tar.extractall(home, members=members, filter="data")


def _make_executable(folder: Path) -> None:
    for path in folder.iterdir():
        if path.is_file() and path.suffix in ("", ".sh"):
            path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def build_jar(pom_name: str, jar: Path, properties: dict[str, str], installed: Installed) -> None:
    """Shade the jar of ``maven/<pom_name>.pom.xml`` into ``jar`` with Maven; skipped when ``jar`` was built from this pom."""
    pom = importlib.resources.files("workflow.engines").joinpath("maven", f"{pom_name}.pom.xml").read_bytes()
    pom_digest = hashlib.sha256(pom + repr(sorted(properties.items())).encode()).hexdigest()
    digest_file = jar.with_name(jar.name + POM_DIGEST_SUFFIX)
    if jar.exists() and digest_file.exists() and digest_file.read_text() == pom_digest:
        return
    for tool in ("mvn", "java"):
        if shutil.which(tool) is None:
            raise FetchError(f"`{tool}` is not on PATH: building {jar.name} needs Maven and a Java 17 JDK")
    log.info("fetch: building %s with Maven from Beam %s's published modules (the first build fetches them)", jar.name, BEAM_JOB_SERVER)
    jar.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"wf-{pom_name}-") as build:
        (Path(build) / "pom.xml").write_bytes(pom)
        defines = [f"-D{key}={value}" for key, value in properties.items()]
        _run(["mvn", "-B", "-q", "-C", "-f", str(Path(build) / "pom.xml"), *defines, "package"], f"the Maven build of {jar.name}",
             installed.root / "logs" / f"fetch-{pom_name}.log")
        built = Path(build) / "target" / f"beam-{pom_name}.jar"
        partial = jar.with_name(f"{jar.name}.partial-{os.getpid()}")
        shutil.copyfile(built, partial)
        os.replace(partial, jar)
    digest_file.write_text(pom_digest)


def _run(command: list[str], what: str, log_file: Path | None = None) -> None:
    """Run an install command; FetchError naming ``what`` (and where its output is) when it fails."""
    process = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        log_file.write_text(process.stdout)
    if process.returncode != 0:
        tail = "\n".join(process.stdout.strip().splitlines()[-15:])
        where = f"; full output in {log_file}" if log_file is not None else ""
        raise FetchError(f"{what} failed with exit status {process.returncode}{where}:\n{tail}")
