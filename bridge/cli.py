"""The ``benign`` command line: argparse subcommands, one module each under ``commands/``.

Errors a user can fix (bad input, a missing dataset, a malformed TOML) are raised as
``ValueError``/``OSError`` subclasses with a message that says what to do; ``main`` prints
them as one line and exits 2. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

# Subcommand name -> module under benign.bridge.commands. A module that cannot be
# imported (e.g. torch missing for ``train``) only disables its own subcommand.
COMMANDS = {
    "theory": "theory",
    "train": "train",
    "run": "run",
    "status": "status",
    "collect": "collect",
    "report": "report",
    "demo": "demo",
}


class MissingExtraError(ImportError):
    """A subcommand needs an optional dependency that is not installed."""


def build_parser() -> argparse.ArgumentParser:
    from benign.bridge import __version__

    parser = argparse.ArgumentParser(
        prog="benign",
        description="When does fitting noisy labels stop being harmless? Theory, experiments, the bridge.",
    )
    parser.add_argument("--version", action="version", version=f"benign {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in COMMANDS.items():
        try:
            mod = importlib.import_module(f"benign.bridge.commands.{module}")
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("benign.bridge.commands"):
                continue  # subcommand not built yet
            _add_unavailable(sub, name, exc)
            continue
        mod.add_parser(sub)
    return parser


def _add_unavailable(sub, name: str, exc: ModuleNotFoundError) -> None:
    torch_like = exc.name in {"torch", "torchvision"}
    hint = "pip install -e '.[empirical]'" if torch_like else f"pip install {exc.name}"
    p = sub.add_parser(name, help=f"(unavailable: {exc.name} is not installed)")
    p.add_argument("rest", nargs=argparse.REMAINDER)

    def _fail(_args):
        raise MissingExtraError(f"'benign {name}' needs {exc.name}; install it with: {hint}")

    p.set_defaults(func=_fail)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("fontTools").setLevel(logging.WARNING)  # PDF font-subsetting chatter at INFO
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    try:
        return int(args.func(args) or 0)
    except (ValueError, OSError, ImportError) as exc:
        # One clear line instead of a deep traceback; the message says what to do.
        print(f"benign: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("benign: interrupted; completed runs are saved, re-run the command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
