"""Every user error of the commands is one line naming the file, record or config key; the traceback is the log's.

Each case was a traceback before: a workdir that is a file or read-only, wf-train before wf-preprocess, data.path
a folder, seed=-1, a delimiter of two characters, a missing data.unlabelled file reported under data.path, and
wf-predict given a missing file, a folder or a line that is not UTF-8.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.test_no_hang import small_filesystem
from workflow import cli, config_checks, orchestrate, resolvers
from workflow.errors import ConfigError
from workflow.preprocess import stage
from workflow.serving.predict import Review, read_reviews, tsv_field


def one_line(capsys, make_config, *overrides: str, command: str | None = None, run=None) -> str:
    """What ``run_stage`` prints for a run of the preprocessing stage (or ``run``) with these overrides; it must exit 2."""
    run = run or (lambda config: orchestrate.bring_up_to_date("preprocess", stage, config, always=True))
    with pytest.raises(SystemExit) as exited:
        cli.run_stage(make_config(*overrides), run, command)
    lines = capsys.readouterr().err.splitlines()
    assert exited.value.code == 2 and len(lines) == 1, lines
    return lines[0]


def test_bad_paths_and_values_are_one_line_naming_the_key(capsys, make_config, tmp_path):
    (tmp_path / "reviews.csv").write_text("id,text,label\n1,good film,pos\n")
    assert one_line(capsys, make_config, "data=csv", f"data.path={tmp_path}") == (
        f"error: data.path='{tmp_path}' is a folder: name the files in it, e.g. data.path='{tmp_path}/*'")
    assert one_line(capsys, make_config, "data=csv", f"data.path={tmp_path}/reviews.csv", f"data.unlabelled=[{tmp_path}/gone.txt]") == (
        f"error: data.unlabelled[0]='{tmp_path}/gone.txt': no such file or folder")
    assert one_line(capsys, make_config, "seed=-1") == "error: seed=-1: must be in [0, 2**32)"
    assert one_line(capsys, make_config, "data=csv", "data.path=x.csv", "data.csv_delimiter=';;'") == (
        "error: data.csv_delimiter=';;': must be one character other than a quote or a line end ('\\t' or tab: a tab)")
    (tmp_path / "file").write_text("")
    assert one_line(capsys, make_config, f"workdir={tmp_path / 'file'}") == f"error: workdir='{tmp_path / 'file'}': is a file, not a folder"
    assert one_line(capsys, make_config, f"workdir={tmp_path / 'fresh'}", command="wf-train", run=cli.train_here) == (
        f"error: no finished stage in {tmp_path / 'fresh' / 'preprocess'} (no manifest.json): run wf-preprocess first")


def test_a_workdir_hydra_cannot_log_in_is_one_line_from_the_command(tmp_path):
    """Hydra makes its log folder in the workdir before any of the workflow's code runs: a workdir that is a file, or
    on a read-only filesystem, gets a temporary log folder so that the command can say what is wrong in one line."""
    (tmp_path / "file").write_text("")
    assert resolvers.local_dir(str(tmp_path / "file" / "sub")).endswith("unwritable-workdir")
    assert resolvers.local_dir(str(tmp_path / "new")) == str(tmp_path / "new")
    process = subprocess.run([sys.executable, "-m", "workflow.cli", f"workdir={tmp_path / 'file'}"], cwd=tmp_path, capture_output=True,
                             text=True, timeout=300)
    assert (process.returncode, process.stderr) == (2, f"error: workdir='{tmp_path / 'file'}': is a file, not a folder\n")
    with small_filesystem(tmp_path / "ro", "64k", "the workdir-is-a-file case above (the same check)") as mounted:
        subprocess.run(["mount", "-o", "remount,ro", str(mounted)], check=True)
        with pytest.raises(ConfigError, match=r"workdir=.*: cannot be written: .*/ro is read-only"):
            config_checks.require_writable_workdir(str(mounted / "work"))


def test_wf_predict_input_that_preprocessing_would_reject_is_named_not_scored(tmp_path, capsys):
    reviews = tmp_path / "reviews.txt"
    reviews.write_bytes(b"a superb film\n\nbad \xff bytes\n  \nwith\ta tab\r\n")
    found, warnings = read_reviews(["from the command line"], str(reviews))
    assert found == [Review("argument 1", "from the command line"), Review(f"{reviews}:1", "a superb film"),
                     Review(f"{reviews}:5", "with\ta tab")]
    assert warnings == [f"{reviews}:3: not UTF-8 (byte 0xff at column 5): not scored"]
    for path, message in ((tmp_path / "gone.txt", "No such file or directory"), (tmp_path, "a folder, not a file of reviews")):
        with pytest.raises(SystemExit, match=f"^error: --file {path}: {message}"):
            read_reviews([], str(path))
    assert tsv_field("tab\there\nnew line\r and a \\ backslash") == "tab\\there\\nnew line\\r and a \\\\ backslash"
