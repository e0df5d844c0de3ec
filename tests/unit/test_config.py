"""The typed config: bad keys and values fail at compose time, ranges in config_checks.validate()."""

import dataclasses
import pickle

import pytest
from hydra.errors import ConfigCompositionException
from omegaconf.errors import ValidationError

from tests.conftest import typed
from workflow import sweep
from workflow.config import CorpusFormat, EmbeddingMode, RunningMode, with_values
from workflow.errors import ConfigError
from workflow.resolvers import sample_path
from workflow.training.identity import run_name, vector_sources


def test_default_config_is_the_bundled_sample(make_config):
    config = typed(make_config())
    assert config.data.format is CorpusFormat.aclimdb
    assert config.data.path == sample_path()
    assert config.beam.running_mode is RunningMode.in_memory


def test_unknown_key_fails_at_compose(make_config):
    with pytest.raises(ConfigCompositionException, match="min_cuont"):
        make_config("preprocess.min_cuont=3")


def test_wrong_type_and_bad_enum_fail_at_compose(make_config):
    with pytest.raises((ConfigCompositionException, ValidationError), match="min_count"):
        make_config("preprocess.min_count=lots")
    with pytest.raises((ConfigCompositionException, ValidationError), match="format"):
        make_config("data.format=xml")


@pytest.mark.parametrize(
    "override, key",
    [
        ("preprocess.validation_fraction=1.5", "preprocess.validation_fraction"),
        ("preprocess.min_count=0", "preprocess.min_count"),
        ("preprocess.tokenizer.pattern='(x)'", "preprocess.tokenizer.pattern"),
        ("data.label_map.pos=7", "data.label_map.pos"),
        ("model.pooling=[mean,median]", "model.pooling"),
        ("model.dropout=1.0", "model.dropout"),
        ("trainer.run_name=a/b", "trainer.run_name"),
        ("trainer.learning_rate=0", "trainer.learning_rate"),
        ("trainer.label_budget=0", "trainer.label_budget"),
        ("sweep.label_budgets=[250,-1]", "sweep.label_budgets"),
        ("sweep.vectors=[/a/glove.txt,/b/glove.txt]", "sweep.vectors"),  # one name, one folder and one run name each
        ("word2vec.sg=2", "word2vec.sg"),
        ("word2vec.window=0", "word2vec.window"),
        ("model.trigram_buckets=-1", "model.trigram_buckets"),
        ("trainer.steps_per_loop=0", "trainer.steps_per_loop"),
        ("report.neighbours=0", "report.neighbours"),
        ("beam.num_workers=0", "beam.num_workers"),
        ("strategy.logical_devices=-1", "strategy.logical_devices"),
        ("preprocess.read_parallelism=0", "preprocess.read_parallelism"),
        ("trainer.learning_rate=inf", "trainer.learning_rate"),
        ("trainer.learning_rate=nan", "trainer.learning_rate"),
        ("trainer.learning_rate=1e30", "trainer.learning_rate"),
        ("word2vec.alpha=inf", "word2vec.alpha"),
        ("word2vec.sample=nan", "word2vec.sample"),
        ("paragraph_vectors.epochs=0", "paragraph_vectors.epochs"),
        ("paragraph_vectors.ngrams=0", "paragraph_vectors.ngrams"),
        ("paragraph_vectors.sample=-1", "paragraph_vectors.sample"),
        ("paragraph_vectors.seed=-1", "paragraph_vectors.seed"),
        ("seed=-1", "seed"),
        ("seed=4294967296", "seed"),
        ("word2vec.seed=-1", "word2vec.seed"),
        ("sweep.seeds=[0,-1]", "sweep.seeds"),
        ("data.csv_delimiter=';;'", "data.csv_delimiter"),
        ("data.csv_delimiter='\"'", "data.csv_delimiter"),
        ("preprocess.read_block_mb=inf", "preprocess.read_block_mb"),
    ],
)
def test_validate_names_the_key(make_config, override, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        typed(make_config(override))


def test_imdb_needs_a_path(make_config):
    cfg = make_config("data=imdb")
    with pytest.raises(Exception, match="data.path"):
        typed(cfg)


def test_run_name_says_what_the_run_trains(make_config):
    config = typed(make_config("embedding=frozen", "seed=3", "model=cnn", "strategy=mirrored"))
    assert run_name(config) == "frozen-cnn-word2vec-rownorm-seed3"
    imported = typed(make_config("embedding.vectors=/data/glove.6B.100d.txt", "embedding.vectors_format=glove"))
    assert run_name(imported) == "finetune-cnn3-glove.6B.100d-rownorm-seed0"
    assert run_name(typed(make_config("trainer.label_budget=250"))) == "finetune-cnn3-word2vec-rownorm-labels250-seed0"
    assert run_name(typed(make_config("trainer.run_name=mine"))) == "mine", "a name given is the run's folder"
    assert run_name(typed(make_config("model.paragraph_vectors=true", "paragraph_vectors.seed=15"))) == \
        "finetune-cnn3-word2vec-rownorm-pv15-seed0", "the paragraph vectors a run reads, by their seed"
    assert config.model.windows == [3, 4, 5] and config.model.filters == 100 and config.model.dropout == 0.5


def test_ngram_rows_need_a_bag_to_join(make_config):
    """pooling pools them with the token vectors, cnn pools them beside its convolutions; a bilstm reads a sequence, not a bag."""
    assert typed(make_config("model.bigram_buckets=100")).model.bigram_buckets == 100
    with pytest.raises(Exception, match="model.bigram_buckets"):
        typed(make_config("model=bilstm", "model.bigram_buckets=100"))


def test_an_experiment_config_sets_a_whole_setup(make_config):
    config = typed(make_config("experiment=imdb_bigrams", "data.path=/data/aclImdb_v1.tar.gz"))
    assert config.data.name == "imdb" and config.model.name == "pooling" and config.model.bigram_buckets == 1_000_000
    assert [mode.value for mode in config.sweep.modes] == ["finetune"] and run_name(config) == "finetune-pooling-word2vec-rownorm-seed0"
    wide = typed(make_config("experiment=imdb_wide", "data.path=/data/aclImdb_v1.tar.gz", "embedding=frozen"))
    assert wide.model.encoder.value == "cnn" and wide.model.bigram_buckets == 1_000_000
    assert [mode.value for mode in wide.sweep.modes] == ["frozen"] and run_name(wide) == "frozen-cnn3_bigrams-word2vec-rownorm-seed0"


def test_the_sweep_hands_each_vector_source_to_wf_train_as_it_is(make_config):
    """Paths with commas, spaces, '=' or quotes reach the training jobs unchanged, in sweep order, null for word2vec."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    paths = ["/data/glove, 6B=100d.txt", "/data/it's.vec"]
    config = typed(make_config(f"sweep.vectors=[null,{paths[0]!r},\"{paths[1]}\"]"))
    assert vector_sources(config) == [None, *paths]
    overrides = sweep.sweep_overrides(config)
    assert overrides[1:] == ["trainer.label_budget=null", "embedding.mode=frozen,finetune,random", "seed=0"]
    parsed = OverridesParser.create().parse_override(overrides[0])
    assert parsed.key_or_group == "embedding.vectors" and [value if value is None else value.text for value in parsed.value().list] == [None, *paths]
    imported = typed(make_config("embedding.vectors=/data/vectors.txt"))
    assert sweep.sweep_overrides(imported)[0] == "embedding.vectors='/data/vectors.txt'", "no sweep.vectors: embedding.vectors as given"


def test_a_tab_delimiter_may_be_spelled_as_a_shell_passes_it(make_config):
    """``data.csv_delimiter='\\t'`` reaches the config as a backslash and a t: it means a tab, as ``tab`` does."""
    from workflow.preprocess.settings import CorpusSettings

    for spelling in ("'\\t'", "tab"):
        config = typed(make_config("data=csv", "data.path=/x.csv", f"data.csv_delimiter={spelling}"))
        assert CorpusSettings.of(config.data).csv_delimiter == "\t"
    assert typed(make_config("trainer.learning_rate=1")).trainer.learning_rate == 1.0


def test_the_config_is_read_only_and_a_variant_is_a_new_object(make_config):
    """Stages never change the config they are given: assignment fails anywhere in it (also in a copy a training job's
    process unpickles); with_values makes the variant (one job of a sweep) and leaves the original as it was."""
    config = typed(make_config())
    with pytest.raises(dataclasses.FrozenInstanceError, match="read-only"):
        config.trainer.epochs = 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        pickle.loads(pickle.dumps(config)).seed = 3
    job = with_values(config, {"embedding.mode": EmbeddingMode.random, "seed": 2})
    assert (job.embedding.mode, job.seed, config.embedding.mode, config.seed) == (EmbeddingMode.random, 2, EmbeddingMode.finetune, 0)
    assert job.model is config.model, "the sections a variant does not change are shared, not copied"
    with pytest.raises(KeyError, match="epoch: no such setting in TrainerConfig"):
        with_values(config, {"trainer.epoch": 1})
