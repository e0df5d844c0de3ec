"""wf-beam-worker: an SDK worker that cannot serve the job says why in one line and exits, never waits.

Booting for real (provision, staged files, the SDK harness) is what every
job of tests/integration/test_engines.py does on both engines.
"""

from __future__ import annotations

import sys
from importlib.metadata import version

import pytest
from apache_beam.portability.api import beam_runner_api_pb2

from workflow.engines import sdk_worker
from workflow.engines.daemons import free_port


def test_a_provision_service_that_does_not_answer_ends_the_worker_with_one_line_naming_it(monkeypatch, capsys, tmp_path):
    endpoint = f"localhost:{free_port()}"
    log = tmp_path / "beam-worker.log"
    monkeypatch.setattr(sdk_worker, "CALL_TIMEOUT_S", 1)
    monkeypatch.setattr(sys, "argv", ["wf-beam-worker", "--id=1-1", f"--provision_endpoint={endpoint}"])
    monkeypatch.setenv(sdk_worker.LOG_ENV, str(log))
    with pytest.raises(SystemExit) as exit_status:
        sdk_worker.main()
    assert exit_status.value.code == sdk_worker.NOT_STARTED_EXIT
    line = f"wf-beam-worker 1-1: no Beam provision service answered at {endpoint} within 1 s (no connection)"
    assert capsys.readouterr().err == line + "\n"
    assert log.read_text().rstrip().endswith(line), "the cluster's log folder gets the line too (the runner discards the worker's output)"


def test_a_job_submitted_with_another_beam_is_refused_naming_both_versions(tmp_path):
    frozen = tmp_path / sdk_worker.SUBMISSION_DEPENDENCIES
    frozen.write_text("Python Path: /usr/bin/python3\nb'absl-py==2.1.0\\napache-beam==2.61.0\\ngensim==4.4.0\\n'")
    with pytest.raises(sdk_worker.WorkerNotStarted, match=rf"submitted with apache-beam 2\.61\.0, but .* has {version('apache-beam')}"):
        sdk_worker.check_beam_version(frozen)
    frozen.write_text(f"Python Path: /usr/bin/python3\nb'apache-beam=={version('apache-beam')}\\n'")
    sdk_worker.check_beam_version(frozen)
    sdk_worker.check_beam_version(tmp_path / "absent.txt")  # a submitter that staged no list: nothing to compare


def test_a_job_that_stages_packages_to_install_is_refused_before_anything_is_fetched():
    staged_as = beam_runner_api_pb2.ArtifactStagingToRolePayload(staged_name="requirements.txt").SerializeToString()
    requirements = beam_runner_api_pb2.ArtifactInformation(role_payload=staged_as)

    class NoRetrieval:
        def GetArtifact(self, *_, **__):  # noqa: N802 - the gRPC method's name
            raise AssertionError("nothing is fetched for a job this worker refuses")

    with pytest.raises(sdk_worker.WorkerNotStarted, match=r"the job stages 'requirements.txt' to install on its workers"):
        list(sdk_worker.staged_files(NoRetrieval(), [requirements], "1-1"))
