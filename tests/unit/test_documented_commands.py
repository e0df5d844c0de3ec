"""Every ``wf-*`` command written in README.md and docs/*.md composes, so a renamed or removed option fails here, not for a reader.

Commands are taken from code blocks (``python`` and ``output`` blocks aside;
in a ``text`` block only transcript lines, ``$ wf-...``) and from inline code,
with shell line continuations, quoting and comments read as a shell reads
them. Each distinct command's config is composed with Hydra's compose
(``workflow.compose.compose``, nothing is run) and checked as its entry point
checks it before any work (``compose.load``: converted and validated; every command but
wf-preprocess and wf-predict needs a local workdir). Under ``-m`` each value
of a swept key is composed once. ``<placeholders>`` stand for strings. A
transcript line followed by Hydra's composition error or by an ``error:``
line must fail in that way, with that message.

``wf-cluster`` is no Hydra application: its documented commands are parsed
by its own argument parser (``workflow.engines.cli.argument_parser``), which
must accept them. ``wf-beam-worker`` is started by the engines, never by a
reader, and is not checked.

The reference must also name every key of the schema (workflow/config.py).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import io
import re
import shlex
import typing
from pathlib import Path
from typing import NamedTuple

import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from workflow import config_checks
from workflow.compose import compose, load
from workflow.config import Config
from workflow.engines.cli import argument_parser
from workflow.errors import ConfigError, MissingValueError
from workflow.serving.predict import split_arguments

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
REFERENCE = ROOT / "docs" / "reference.md"
CLUSTER = "wf-cluster"  # not Hydra: checked by its own argument parser
COMMANDS = ("wf-run", "wf-preprocess", "wf-word2vec", "wf-train", "wf-report", "wf-paragraph-vectors", "wf-predict", CLUSTER)
LOCAL_WORKDIR_NOT_REQUIRED = ("wf-preprocess", "wf-predict")  # wf-preprocess writes to object stores too; wf-predict reads a model
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
INLINE = re.compile(r"`((?:[^`\n]|\n(?!\n))+)`")  # inline code may wrap a line, not a paragraph
PLACEHOLDER = re.compile(r"<[^<>]+>")
SKIPPED_BLOCKS = ("python", "output")
FLAGS = {"--cfg": 1, "-c": 1, "--resolve": 0, "--help": 0, "-h": 0, "--file": 1}  # flag -> arguments it takes
MULTIRUN = ("-m", "--multirun")
COMPOSE_ERROR = ("Could not override", "Error parsing override", "Error merging override", "Could not find", "Key '")


class Command(NamedTuple):
    """One documented command: where it is written, its name, its arguments, and what the document says it prints."""

    where: str
    name: str
    arguments: tuple[str, ...]
    shown: tuple[str, ...] = ()  # the transcript lines after it, up to the next command


def shell_words(line: str, where: str) -> list[str]:
    """``line`` split as a shell splits it: quotes removed, a comment dropped, ``|``, ``&&`` and ``;`` their own words."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars="|&;")  # not <>: placeholders are words
    lexer.whitespace_split = True
    try:
        return list(lexer)
    except ValueError as error:  # an unbalanced quote: the document's mistake, said where
        raise ValueError(f"{where}: {line!r}: {error}") from None


def command_in(text: str, where: str) -> tuple[str, tuple[str, ...]] | None:
    """The first ``wf-*`` command in a line of shell and its arguments up to a shell operator; None without one."""
    if not any(name in text for name in COMMANDS):
        return None
    words = shell_words(text, where)
    for position, word in enumerate(words):
        if word in COMMANDS:
            arguments = []
            for argument in words[position + 1:]:
                if argument and all(character in "|&;" for character in argument):
                    break
                arguments.append(argument)
            return word, tuple(arguments)
    return None


def logical_lines(block: str, first_line: int) -> list[tuple[int, str]]:
    """The block's lines with shell continuations (a trailing backslash) joined, each with its line number."""
    joined, start, pending = [], first_line, ""
    for number, line in enumerate(block.splitlines(), first_line):
        if not pending:
            start = number
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        joined.append((start, pending + line))
        pending = ""
    return joined


def commands_in(markdown: str, name: str) -> list[Command]:
    """Every command written in a markdown document (``name`` says where, in failure messages)."""
    found = []
    for fence in FENCE.finditer(markdown):
        language, body = fence.group(1), fence.group(2)
        if language in SKIPPED_BLOCKS:
            continue
        lines = logical_lines(body, markdown.count("\n", 0, fence.start(2)) + 1)
        transcript = language == "text"
        for index, (number, line) in enumerate(lines):
            if transcript and not line.startswith("$ "):
                continue
            command = command_in(line.removeprefix("$ "), f"{name}:{number}")
            if command is not None:
                shown = []
                for _, following in lines[index + 1:] if transcript else []:
                    if following.startswith("$ "):
                        break
                    shown.append(following)
                found.append(Command(f"{name}:{number}", *command, tuple(shown)))
    prose = FENCE.sub(lambda fence: "\n" * fence.group(0).count("\n"), markdown)
    for span in INLINE.finditer(prose):
        where = f"{name}:{prose.count(chr(10), 0, span.start()) + 1}"
        command = command_in(span.group(1).replace("\n", " "), where)
        if command is not None:
            found.append(Command(where, *command))
    return found


def documented_commands() -> list[Command]:
    return [command for document in DOCUMENTS
            for command in commands_in(document.read_text(encoding="utf-8"), str(document.relative_to(ROOT)))]


def overrides_of(command: Command) -> tuple[bool, list[str]]:
    """``(multirun, overrides)``: the command's arguments less its flags and, for wf-predict, its model and reviews."""
    multirun, kept, arguments = False, [], list(command.arguments)
    while arguments:
        argument = PLACEHOLDER.sub("placeholder", arguments.pop(0))
        if argument in MULTIRUN:
            multirun = True
        elif argument in FLAGS:
            del arguments[:FLAGS[argument]]
        else:
            kept.append(argument)
    if command.name == "wf-predict":
        kept = split_arguments(kept)[0]
    return multirun, kept


def compositions(multirun: bool, overrides: list[str]) -> list[tuple[str, ...]]:
    """The override lists to compose: the command's own, or under ``-m`` every value of each swept key once."""
    if not multirun:
        return [tuple(overrides)]
    parsed = OverridesParser.create().parse_overrides(overrides)
    values = [list(override.sweep_string_iterator()) if override.is_sweep_override() else [override.input_line]
              for override in parsed]
    keys = [f"{override.get_key_element()}=" if override.is_sweep_override() else "" for override in parsed]
    first = [key + choices[0] for key, choices in zip(keys, values)]
    variants = [tuple(first)]
    for position, (key, choices) in enumerate(zip(keys, values)):
        variants += [tuple(first[:position] + [key + choice] + first[position + 1:]) for choice in choices[1:]]
    return variants


@functools.lru_cache(maxsize=None)
def composed(overrides: tuple[str, ...]) -> DictConfig:
    """The composed config (about 0.2 s each: commands that differ only in their name share it)."""
    return compose(*overrides)


def check_cluster(arguments: tuple[str, ...]) -> None:
    """ValueError with wf-cluster's own message when its argument parser refuses ``arguments``."""
    refused = io.StringIO()
    with contextlib.redirect_stderr(refused), contextlib.redirect_stdout(io.StringIO()):
        try:
            argument_parser().parse_args(list(arguments))
        except SystemExit as exit_:
            if exit_.code:  # 0: --help
                raise ValueError(refused.getvalue().strip().splitlines()[-1]) from None


def check(command_name: str, overrides: tuple[str, ...]) -> None:
    """What the entry point does with ``overrides`` before any work: compose, validate, require a local workdir."""
    cfg = composed(overrides)
    if command_name != "wf-predict":
        try:
            load(cfg)
        except MissingValueError:  # a value the reader must give (beam=dataflow's project), which the command names in one line
            return
    if command_name not in LOCAL_WORKDIR_NOT_REQUIRED:
        config_checks.require_local_workdir(cfg.workdir, command_name)


def distinct(commands: list[Command]) -> dict[tuple, Command]:
    """One command per distinct (name, multirun, overrides, what it shows), the first place it is written."""
    unique: dict[tuple, Command] = {}
    for command in commands:
        if command.name == CLUSTER and not command.arguments:
            continue  # the name alone, in prose: wf-cluster without a subcommand is no command
        multirun, overrides = overrides_of(command)
        unique.setdefault((command.name, multirun, tuple(overrides), command.shown), command)
    return unique


DISTINCT = distinct(documented_commands())


@pytest.mark.parametrize("command", list(DISTINCT.values()), ids=[command.where for command in DISTINCT.values()])
def test_documented_command_composes(command: Command):
    if command.name == CLUSTER:
        try:
            check_cluster(command.arguments)
        except ValueError as error:
            pytest.fail(f"{command.where}: {CLUSTER} {' '.join(command.arguments)} is refused by its parser: {error}")
        return
    multirun, overrides = overrides_of(command)
    shown = [line for line in command.shown if line.strip()]
    expected_error = next((line.removeprefix("error: ") for line in shown if line.startswith("error: ")), None)
    expected_composition_error = next((line for line in shown if line.startswith(COMPOSE_ERROR)), None)
    for variant in compositions(multirun, overrides):
        written = f"{command.where}: {command.name} {' '.join(variant)}"
        if expected_composition_error is not None:
            with pytest.raises((HydraException, OmegaConfBaseException)) as raised:
                check(command.name, variant)
            assert expected_composition_error in str(raised.value), f"{written} fails otherwise than shown:\n{raised.value}"
        elif expected_error is not None:
            with pytest.raises(ConfigError) as raised:
                check(command.name, variant)
            assert str(raised.value) == expected_error, f"{written} fails otherwise than shown"
        else:
            try:
                check(command.name, variant)
            except (HydraException, OmegaConfBaseException, ConfigError) as error:
                pytest.fail(f"{written} does not compose:\n{error}")


def test_commands_are_found_in_every_form_they_are_written_in():
    markdown = "\n".join([
        "Run `wf-train -m seed=0,1\n embedding=frozen,random` or `wf-*`.",
        "```bash",
        "TF_CONFIG='{\"a\": 1}' \\",
        "  wf-run 'sweep.seeds=[0,1,2]' data.path=<path>   # a comment",
        "cat reviews.txt | wf-predict workdir=/runs/x --file - model=/runs/x/runs/r \"a review\" && echo done",
        "```",
        "```text",
        "wf-report is named here, not run",
        "$ wf-preprocess preprocess.min_cuont=1",
        "Could not override 'preprocess.min_cuont'.",
        "```",
        "```python",
        "subprocess.run(['wf-run', 'not=a,command'])",
        "```",
    ])
    found = commands_in(markdown, "doc.md")
    assert [(command.where, command.name, command.arguments) for command in found] == [
        ("doc.md:4", "wf-run", ("sweep.seeds=[0,1,2]", "data.path=<path>")),
        ("doc.md:6", "wf-predict", ("workdir=/runs/x", "--file", "-", "model=/runs/x/runs/r", "a review")),
        ("doc.md:10", "wf-preprocess", ("preprocess.min_cuont=1",)),
        ("doc.md:1", "wf-train", ("-m", "seed=0,1", "embedding=frozen,random")),
    ]
    assert found[2].shown == ("Could not override 'preprocess.min_cuont'.",)
    assert overrides_of(found[0]) == (False, ["sweep.seeds=[0,1,2]", "data.path=placeholder"])
    assert overrides_of(found[1]) == (False, ["workdir=/runs/x"])
    assert compositions(*overrides_of(found[3])) == [("seed=0", "embedding=frozen"), ("seed=1", "embedding=frozen"),
                                                     ("seed=0", "embedding=random")]


def test_wf_cluster_commands_are_checked_by_its_own_parser():
    found = commands_in("```bash\nwf-cluster fetch   # once\nwf-cluster flink up\n```\nthen `wf-cluster spark status`", "doc.md")
    assert [(command.where, command.name, command.arguments) for command in found] == [
        ("doc.md:2", CLUSTER, ("fetch",)), ("doc.md:3", CLUSTER, ("flink", "up")), ("doc.md:5", CLUSTER, ("spark", "status"))]
    for command in found:
        check_cluster(command.arguments)
    with pytest.raises(ValueError, match="invalid choice: 'start'"):
        check_cluster(("flink", "start"))
    with pytest.raises(ValueError, match="required: action"):
        check_cluster(("spark",))


def test_the_documents_show_every_command():
    """A guard on the extraction itself: each command is written somewhere, and the documents hold many commands."""
    names = {command.name for command in DISTINCT.values()}
    assert names == set(COMMANDS)
    assert len(DISTINCT) >= 50


def schema_keys(node: type, prefix: str = "") -> list[str]:
    """Every leaf key of a config dataclass, dotted (``preprocess.tokenizer.pattern``)."""
    hints = typing.get_type_hints(node)
    keys = []
    for field in dataclasses.fields(node):
        kind = hints[field.name]
        if dataclasses.is_dataclass(kind):
            keys += schema_keys(kind, f"{prefix}{field.name}.")
        else:
            keys.append(prefix + field.name)
    return keys


def test_the_reference_names_every_config_key():
    reference = REFERENCE.read_text(encoding="utf-8")
    missing = [key for key in schema_keys(Config) if f"`{key}`" not in reference]
    assert not missing, f"docs/reference.md does not describe {missing}"
