"""A Beam worker of the preprocessing job imports neither Hydra, OmegaConf nor RE2.

Every step of the job reaches a worker pickled; unpickling it imports the
modules it names. The steps hold plain values (preprocess/settings.py), not
the config's dataclasses, and only the driver's pattern check loads RE2.
This builds the real job, takes every pickled step out of its portable
form (what a worker is sent), and unpickles them all in a fresh interpreter.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import apache_beam as beam
from apache_beam.portability import common_urns, python_urns
from apache_beam.portability.api import beam_runner_api_pb2

from tests.conftest import typed
from workflow.preprocess.layout import PreprocessLayout
from workflow.preprocess.pipeline import build_pipeline
from workflow.preprocess.stage import job_settings

DRIVER_ONLY = ("hydra", "omegaconf", "re2", "workflow.config")
UNPICKLE_IN_A_WORKER = f"""
import pickle, sys
from apache_beam.internal import pickler
with open(sys.argv[1], "rb") as handle:
    payloads = pickle.load(handle)
steps = [pickler.loads(payload) for payload in payloads]
print(len(steps), [name for name in {DRIVER_ONLY!r} if name in sys.modules])
"""


def pickled_steps(pipeline: beam.Pipeline) -> list[bytes]:
    """The pickled payload of every ParDo, its side inputs' view functions and every combine: what workers unpickle."""
    functions = []
    for transform in pipeline.to_runner_api().components.transforms.values():
        spec = transform.spec
        if spec.urn == common_urns.primitives.PAR_DO.urn:
            pardo = beam_runner_api_pb2.ParDoPayload.FromString(spec.payload)
            functions += [pardo.do_fn, *(side_input.view_fn for side_input in pardo.side_inputs.values())]
        elif spec.urn in (common_urns.composites.COMBINE_PER_KEY.urn, common_urns.composites.COMBINE_GLOBALLY.urn):
            functions.append(beam_runner_api_pb2.CombinePayload.FromString(spec.payload).combine_fn)
    pickled = (python_urns.PICKLED_DOFN_INFO, python_urns.PICKLED_VIEWFN, python_urns.PICKLED_COMBINE_FN)
    return [function.payload for function in functions if function.urn in pickled]


def test_a_worker_unpickles_the_job_without_hydra_omegaconf_or_re2(tmp_path, make_config):
    (tmp_path / "reviews.csv").write_text("id,text,label\na,good film,pos\nb,bad film,neg\n")
    config = typed(make_config("data=csv", f"data.path={tmp_path}/reviews.csv", "data.id_field=id"))  # an id field: the id pass too
    pipeline = beam.Pipeline()
    build_pipeline(pipeline, job_settings(config), PreprocessLayout(str(tmp_path / "out")), {}, False)
    payloads = pickled_steps(pipeline)
    assert len(payloads) > 15
    payload_file = tmp_path / "steps.pickle"
    payload_file.write_bytes(pickle.dumps(payloads))
    found = subprocess.run([sys.executable, "-c", UNPICKLE_IN_A_WORKER, str(payload_file)], capture_output=True, text=True,
                           cwd=Path(__file__).parents[2], timeout=300)
    assert found.returncode == 0, found.stderr[-3000:]
    assert found.stdout.split()[0] == str(len(payloads)) and found.stdout.strip().endswith("[]"), found.stdout


def test_the_check_finds_what_a_worker_would_import(tmp_path):
    """The probe sees a config dataclass that travels in a step (as TokenizeTask's ``DataConfig`` once did, bringing Hydra
    and OmegaConf then; the schema module alone now)."""
    from apache_beam.internal import pickler
    from workflow.config import DataConfig

    payload_file = tmp_path / "steps.pickle"
    payload_file.write_bytes(pickle.dumps([pickler.dumps(DataConfig(name="n", path="p"))]))
    found = subprocess.run([sys.executable, "-c", UNPICKLE_IN_A_WORKER, str(payload_file)], capture_output=True, text=True,
                           cwd=Path(__file__).parents[2], timeout=300)
    assert found.returncode == 0, found.stderr[-3000:]
    assert "'workflow.config'" in found.stdout, found.stdout
