"""The config as the user gives it: checked against the schema with one short error naming the
key, the scale a results folder was made at, and the reference of every key (``config/README.md``,
written from the schema's descriptions: ``python -m invrob.config > config/README.md``).

Torch-free and light on imports: the Snakefile runs these checks first, so that a mistyped key
is answered in a second or two, before the compute modules are imported.
"""

from __future__ import annotations

import copy
import functools
import json
import shlex
from pathlib import Path

from . import paths
from .io import atomic_write_json

SCHEMA_PATH = paths.WORKFLOW_ROOT / "config" / "schema.yaml"


class ConfigError(ValueError):
    pass


# --------------------------------------------------------------------------- config as the user gives it

# `--config key=value` hands Snakemake's parser's result over as is: `false` stays a string
_BOOLEAN_WORDS = {"true": True, "false": False, "yes": True, "no": False, "on": True, "off": False}


def load_config(configfiles=(), root: Path | None = None) -> dict:
    """``config.yaml`` of the workflow folder ``root`` with the overlays merged in, validated (schema defaults
    filled in), as ``snakemake --configfile …`` does before any rule sees it."""
    import yaml
    from snakemake.utils import update_config

    root = paths.WORKFLOW_ROOT if root is None else Path(root)
    config = yaml.safe_load((root / "config.yaml").read_text())
    for path in configfiles:
        update_config(config, yaml.safe_load((root / path).read_text()) or {})
    validate_config(config, root / "config" / "schema.yaml")
    return config


@functools.cache
def load_schema(path: str | Path = SCHEMA_PATH) -> dict:
    """The config schema (read once per process; do not modify it)."""
    import yaml

    return yaml.safe_load(Path(path).read_text())


def validate_config(config: dict, schema_path: str | Path) -> None:
    """Check ``config`` against the schema (filling in its defaults); one short error naming the key.

    Snakemake's own ``validate`` prints the whole schema and config after the one useful line.
    Top-level booleans given as words on the command line (``--config allow_download=false``) are
    read as YAML would read them.
    """
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    schema = load_schema(schema_path)
    for key, prop in schema.get("properties", {}).items():
        value = config.get(key)
        if prop.get("type") == "boolean" and isinstance(value, str) and value.lower() in _BOOLEAN_WORDS:
            config[key] = _BOOLEAN_WORDS[value.lower()]
    try:
        validate(config, str(schema_path))
    except WorkflowError as exc:
        error = exc.__context__  # the jsonschema ValidationError that validate() caught
        if not hasattr(error, "absolute_path"):
            raise
        raise ConfigError(validation_message(error)) from None
    _unshare(config)
    # JSON Schema counts 2.0 as an integer; the jobs do not (range(2.0) fails inside a job)
    error = next(iter(sorted(_strict_validator(schema).iter_errors(config), key=lambda e: list(e.absolute_path))), None)
    if error is not None:
        raise ConfigError(validation_message(error))
    from .external import add_targets  # every external model's figure and table (ext_NAME)

    add_targets(config)


def _unshare(node, seen: set | None = None) -> None:
    """Give every dict and list of ``node`` its own copy.  A default filled in from a `$ref`'d definition
    (``datasets.*.augment: {}``) is one object in every entry that uses it: an edit of one dataset's
    would be every dataset's."""
    seen = set() if seen is None else seen
    children = node.items() if isinstance(node, dict) else enumerate(node)
    for key, child in list(children):
        if isinstance(child, (dict, list)):
            if id(child) in seen:
                child = node[key] = copy.deepcopy(child)
            seen.add(id(child))
            _unshare(child, seen)


def _strict_validator(schema: dict):
    from jsonschema import Draft202012Validator, validators

    def is_integer(checker, value):
        return isinstance(value, int) and not isinstance(value, bool)

    checker = Draft202012Validator.TYPE_CHECKER.redefine("integer", is_integer)
    return validators.extend(Draft202012Validator, type_checker=checker)(schema)


def validation_message(error) -> str:
    """``key.path: what is wrong`` for a jsonschema ``ValidationError`` (the most specific cause)."""
    from jsonschema.exceptions import best_match

    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")
    if error.context and error.schema.get("description"):  # oneOf / anyOf with a description: say what is expected
        message = f"{error.instance!r} is not {error.schema['description']}"
    else:
        if error.context:  # oneOf / anyOf: say why the closest alternative failed
            error = best_match(error.context)
        message = error.message
    if "is not of type 'integer'" in message and isinstance(error.instance, float) and error.instance.is_integer():
        message += f" (write it without a decimal point: {int(error.instance)})"
    elif "is not of type" in message and isinstance(error.instance, str):
        message += (" (a list or nested value given with --config arrives as text: put it in a YAML file and "
                    "add that file to --configfile)")  # fmt: skip
    return f"invalid config: {where or 'top level'}: {message}"


# Result paths do not name the scale (figures/fig1.pdf is the target at every scale), so the scale
# that made a folder's results is written down when a run starts, and a run at another scale in the
# same folder is refused before it can replace them.
SCALE_RECORD = paths.SCALE_RECORD


def check_results_scale(config: dict, argv: list[str]) -> None:
    """Refuse, before any job, a run that would replace this folder's results with another scale's
    (``argv``: the command line, for the suggested one)."""
    record = Path(SCALE_RECORD)
    scale = config["scale"]
    if record.exists():
        made = json.loads(record.read_text()).get("scale")
        if made != scale:
            command = shlex.join(["snakemake", "--directory", f"runs/{scale}", *_without_directory(argv[1:])])
            raise ConfigError(
                f"this folder holds results made at scale '{made}' ({SCALE_RECORD}), and this run is at scale "
                f"'{scale}': it would replace them. Run it in a folder of its own:\n  {command}\nor, to replace "
                f"them, delete {SCALE_RECORD}")  # fmt: skip


def _without_directory(args: list[str]) -> list[str]:
    """``args`` without a ``-d``/``--directory`` option (the suggested command names its own)."""
    kept, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg in ("-d", "--directory"):
            skip = True
        elif not arg.startswith(("--directory=", "-d=")):
            kept.append(arg)
    return kept


def record_scale(config: dict) -> None:
    """Write down the scale of this folder's results (at the start of a run that makes some)."""
    if not Path(SCALE_RECORD).exists():
        atomic_write_json({"scale": config["scale"]}, SCALE_RECORD)


# --------------------------------------------------------------------------- the reference of every key



def _resolve(node: dict, defs: dict) -> dict:
    """A schema node with its ``$ref`` (and the first schema of an ``allOf``) merged in."""
    while "$ref" in node:
        ref = node["$ref"].rsplit("/", 1)[1]
        node = {**defs[ref], **{k: v for k, v in node.items() if k != "$ref"}}
    if "allOf" in node:
        merged = {}
        for part in node["allOf"]:
            part = _resolve(part, defs)
            merged = {**merged, **part, "properties": {**merged.get("properties", {}), **part.get("properties", {})}}
        node = {**merged, **{k: v for k, v in node.items() if k != "allOf"}}
    return node


def _kind(node: dict) -> str:
    if "enum" in node:
        return ", ".join(f"`{v}`" for v in node["enum"])
    if "oneOf" in node or "anyOf" in node:
        return " or ".join(_kind(n) for n in node.get("oneOf") or node["anyOf"])
    kind = node.get("type", "")
    kind = " or ".join(kind) if isinstance(kind, list) else kind
    if kind == "array" and isinstance(node.get("items"), dict):
        return f"list of {_kind(node['items']) or 'values'}"
    return kind


def _text(value) -> str:
    return " ".join(str(value).split()).replace("|", "\\|")


def _rows(prefix: str, node: dict, defs: dict, out: list[str]) -> None:
    node = _resolve(node, defs)
    default = f"`{json.dumps(node['default'], ensure_ascii=False)}`" if "default" in node and node["default"] != {} else ""
    if prefix:
        out.append(f"| `{prefix}` | {_text(_kind(node))} | {default} | {_text(node.get('description', ''))} |")
    for key, sub in (node.get("properties") or {}).items():
        if sub:  # `{}`: a key another definition describes (kind, panels of a panel)
            _rows(f"{prefix}.{key}" if prefix else key, sub, defs, out)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict) and (_resolve(extra, defs).get("properties")) and prefix not in ("figures", "tables"):
        ref = (node.get("propertyNames") or {}).get("$ref", "#/name")
        placeholder = "<" + ref.rsplit("/", 1)[1].removesuffix("_name") + ">"
        _rows(f"{prefix}.{placeholder}" if prefix else placeholder, extra, defs, out)


def reference(schema: dict) -> str:
    """Markdown: every key of the config, its type, default and description, from the schema."""
    defs = schema.get("$defs", {})
    out = ["# Config reference", "",
           "Every key of the config, its type, default and meaning, from `config/schema.yaml`; do not edit: "
           "`python -m invrob.config > config/README.md` writes this file (a test checks that it is current). "
           "`config.yaml` holds the papers' settings; overlays (`config/quick.yaml`, `config/tiny.yaml`, "
           "`config/reference_*.yaml`) change some keys and are given with `--configfile`. A key the schema "
           "does not define is an error, before any job runs.", ""]  # fmt: skip
    top = [(k, _resolve(n, defs)) for k, n in schema["properties"].items()]
    scalars = [(k, n) for k, n in top if not n.get("properties") and not isinstance(n.get("additionalProperties"), dict)]
    out += ["## Top level", "", "| key | type | default | description |", "|---|---|---|---|"]
    for key, node in scalars:
        _rows(key, node, defs, out)
    for key, node in top:
        if (key, node) in scalars:
            continue
        out += ["", f"## `{key}`", "", _text(node.get("description", "")), "",
                "| key | type | default | description |", "|---|---|---|---|"]  # fmt: skip
        _rows(key, node, defs, out)
        if key in ("figures", "tables"):
            entry = _resolve(node["additionalProperties"], defs)
            for sub in ("kind", "panels"):
                _rows(f"{key}.<name>.{sub}", entry["properties"][sub], defs, out)
    panel = _resolve({"$ref": "#/$defs/panel"}, defs)
    out += ["", "## A figure or table entry and its panels", "",
            _text(panel.get("description", "")) + " (`figures.<name>.<key>`, `tables.<name>.<key>`, and "
            "`figures.<name>.panels[i].<key>`; which keys a kind reads: its module in invrob/figures/kinds/)", "",
            "| key | type | default | description |", "|---|---|---|---|"]  # fmt: skip
    for sub, node in panel["properties"].items():
        if node:
            _rows(sub, node, defs, out)
    return "\n".join(out).rstrip() + "\n"


def undocumented(schema: dict) -> list[str]:
    """The keys of ``reference`` that have no description."""
    return [row.split("`")[1] for row in reference(schema).splitlines() if row.startswith("| `") and row.endswith("|  |")]


if __name__ == "__main__":
    import sys

    sys.stdout.write(reference(load_schema()))
