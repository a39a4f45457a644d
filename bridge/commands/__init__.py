"""One module per ``benign`` subcommand; each exposes ``add_parser(subparsers)``.

``add_parser`` registers the subcommand and sets ``func`` (called with the parsed
namespace, returning an exit code). Modules are imported lazily by ``benign.bridge.cli``
so that, e.g., ``benign theory`` works without torch installed.
"""
