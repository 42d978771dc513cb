"""What every subcommand shares: options from a dataclass (tyro), ``--config FILE``, errors and exit codes.

Exit codes: 0 success; 2 a usage error (the command line cannot be parsed, or a value is invalid:
an unknown task, architecture or scenario, an impossible number, a missing input, an output that
cannot be written), always found before any work starts; 1 the work failed; 130 interrupted.
A user's mistake prints one line, ``ltc-drones <command>: error: <message>`` (parse errors are
printed by tyro in a box), never a traceback. Errors that the package raises on purpose
(``ValueError``, ``RuntimeError`` or ``OSError`` raised in ``ltc_drones`` code, whose messages say what
to do) are printed the same way with exit code 1; any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import json
import os
import re
import sys
import typing
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

PACKAGE_DIR = Path(__file__).resolve().parents[1]


class UsageError(Exception):
    """A mistake in the command line: reported in one line with exit code 2."""


@contextlib.contextmanager
def usage_checks() -> Iterator[None]:
    """Inside this block (the checks that run before any work), a ``ValueError`` or ``OSError`` raised by the
    library is the user's mistake, reported as a :class:`UsageError`."""
    try:
        yield
    except UsageError:
        raise
    except (ValueError, OSError) as exc:
        raise UsageError(str(exc)) from exc


@dataclass(frozen=True)
class Command:
    """A subcommand.

    Attributes:
        options: a dataclass; its fields become the options (``--field-name``), their attribute docstrings
            the help text, their defaults the defaults shown. A nested dataclass field annotated
            ``Annotated[Inner, tyro.conf.arg(name="")]`` contributes its fields without a prefix.
        run: ``run(options) -> exit code``; raises :class:`UsageError` for invalid values found before work.
        config: ``None``: no ``--config`` option; ``""``: ``--config FILE`` (JSON or YAML) holds values of
            ``options``' fields; a field name: the file holds the fields of that nested dataclass (e.g. a run's
            ``config.json``). Values in the file become the defaults; options on the command line override them.
    """

    options: type
    run: Callable[[Any], int]
    config: str | None = None

    def parse(self, argv: Sequence[str], prog: str) -> Any:
        """The options instance for ``argv`` (tyro exits with code 0 after ``--help``, 2 on a parse error)."""
        import tyro

        description = inspect.cleandoc(self.options.__doc__ or "")
        if self.config is None:
            return tyro.cli(self.options, args=list(argv), prog=prog, description=description, registry=_registry())
        wrapper = dataclasses.make_dataclass("Options", [
            ("config", Annotated[Path | None, tyro.conf.arg(
                metavar="FILE", help="JSON or YAML file of option values; options given on the command line "
                                     "override it (a run's config.json can be given)")],
             dataclasses.field(default=None)),
            ("options", Annotated[self.options, tyro.conf.arg(name="")]),
        ], kw_only=True, frozen=True)
        path = _option_value(argv, "--config")
        default = tyro.MISSING_NONPROP
        if path is not None:
            default = wrapper(options=self._from_file(Path(path)), config=Path(path))
        parsed = tyro.cli(wrapper, args=list(argv), prog=prog, description=description, default=default,
                          registry=_registry())
        return parsed.options

    def _from_file(self, path: Path) -> Any:
        values = read_mapping(path)
        if self.config == "":
            return _from_mapping(self.options, values, path)
        inner_type = typing.get_type_hints(self.options)[self.config]
        inner = _from_mapping(inner_type, values, path)
        return self.options(**{self.config: inner})


def read_mapping(path: Path) -> dict[str, Any]:
    """A JSON (``.json``) or YAML (``.yaml``, ``.yml``) file holding a mapping of option names to values."""
    if path.suffix not in (".json", ".yaml", ".yml"):
        raise UsageError(f"--config {path}: give a .json, .yaml or .yml file")
    try:
        text = path.read_text()
    except OSError as exc:
        raise UsageError(f"--config {path}: cannot read it ({exc.strerror or exc})") from exc
    try:
        if path.suffix == ".json":
            values = json.loads(text)
        else:
            import yaml

            values = yaml.safe_load(text)
    except ValueError as exc:  # json.JSONDecodeError and yaml.YAMLError
        raise UsageError(f"--config {path}: not valid {path.suffix[1:].upper()} ({exc})") from exc
    except Exception as exc:
        if type(exc).__module__.startswith("yaml"):
            raise UsageError(f"--config {path}: not valid YAML ({exc})") from exc
        raise
    if not isinstance(values, dict):
        raise UsageError(f"--config {path}: expected a mapping of option names to values, got {type(values).__name__}")
    return values


def _from_mapping(cls: type, values: dict[str, Any], path: Path) -> Any:
    """``cls`` built from a mapping of its field names (``from_dict`` when the class has one)."""
    fields = dataclasses.fields(cls)
    names = {f.name for f in fields}
    unknown = sorted(set(values) - names)
    if unknown:
        raise UsageError(f"--config {path}: unknown key(s) {', '.join(unknown)}; "
                         f"valid keys: {', '.join(sorted(names))}")
    required = [f.name for f in fields if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    missing = [name for name in required if name not in values]
    if missing:  # the file's values become defaults, so it must hold every option that has none
        raise UsageError(f"--config {path}: the file must set {', '.join(missing)} (options without a default)")
    try:
        return cls.from_dict(values) if hasattr(cls, "from_dict") else cls(**values)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"--config {path}: {exc}") from exc


def _option_value(argv: Sequence[str], name: str) -> str | None:
    """The value given to option ``name`` (``--name VALUE`` or ``--name=VALUE``; the last one wins)."""
    value = None
    for k, token in enumerate(argv):
        if token == name and k + 1 < len(argv):
            value = argv[k + 1]
        elif token.startswith(name + "="):
            value = token[len(name) + 1:]
    return value


def _registry():
    """tyro rules for types it cannot parse by itself: ``dict[str, Any]`` options are given as JSON objects."""
    import tyro
    from tyro.constructors import PrimitiveConstructorSpec

    registry = tyro.constructors.ConstructorRegistry()

    @registry.primitive_rule
    def _json_object(info) -> PrimitiveConstructorSpec | None:
        if info.type_origin is not dict or typing.get_args(info.type) != (str, Any):
            return None
        return PrimitiveConstructorSpec(nargs=1, metavar="JSON", instance_from_str=lambda a: _json_dict(a[0]),
                                        is_instance=lambda x: isinstance(x, dict),
                                        str_from_instance=lambda d: [json.dumps(d)])

    @registry.struct_rule
    def _help_as_paragraphs(info):
        try:
            from tyro.constructors._struct_spec_dataclass import dataclass_rule
        except ImportError:  # pragma: no cover - another tyro layout: keep its own help text
            return None
        spec = dataclass_rule(info)
        if spec is None:
            return None
        fields = tuple(dataclasses.replace(f, helptext=_paragraphs(f.helptext)) for f in spec.fields)
        return dataclasses.replace(spec, fields=fields)

    return registry


def _paragraphs(helptext):
    """Help text with each paragraph on one line (tyro keeps the line breaks of indented docstring lines)."""
    if helptext is None:
        return None
    if callable(helptext):
        return lambda: _paragraphs(helptext())
    return "\n\n".join(" ".join(p.split()) for p in re.split(r"\n\s*\n", helptext))


def _json_dict(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc}); give an object such as '{{\"units\": 19}}'") from exc
    if not isinstance(value, dict):
        raise ValueError(f"expected a JSON object such as '{{\"units\": 19}}', got {text!r}")
    return value


def raised_on_purpose(exc: BaseException) -> bool:
    """True if ``exc`` is an error the package raised with a message for the user (see the module docstring)."""
    if not isinstance(exc, ValueError | RuntimeError | OSError):
        return False
    tb = exc.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    return Path(tb.tb_frame.f_code.co_filename).resolve().is_relative_to(PACKAGE_DIR)


def run_command(name: str, command: Command, argv: Sequence[str]) -> int:
    """Parse ``argv`` for ``command`` and run it; returns the exit code (see the module docstring)."""
    prog = f"ltc-drones {name}"
    try:
        with usage_checks():  # a config that refuses a value (its __post_init__) is a usage error
            options = command.parse(argv, prog)
        _set_threads()
        return int(command.run(options) or 0)
    except SystemExit as exc:  # tyro: --help (0) or a parse error (2, message already printed)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    except UsageError as exc:
        _report(prog, exc)
        return 2
    except KeyboardInterrupt:
        print(f"\n{prog}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if not raised_on_purpose(exc):
            raise
        _report(prog, exc)
        return 1


def _report(prog: str, exc: BaseException) -> None:
    print(f"{prog}: error: {exc}", file=sys.stderr)


def _set_threads() -> None:
    """One torch thread per process (``LTC_DRONES_THREADS`` overrides): on 2 cores more threads make small
    networks slower."""
    try:
        import torch
    except ImportError:  # pragma: no cover
        return
    torch.set_num_threads(int(os.environ.get("LTC_DRONES_THREADS", "1")))
