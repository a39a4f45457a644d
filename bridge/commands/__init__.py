"""One module per ``benign`` subcommand; each exposes ``add_parser(subparsers)``.

``add_parser`` registers the subcommand and sets ``func`` (called with the parsed
namespace, returning an exit code). Modules are imported lazily by ``benign.bridge.cli``
so that, e.g., ``benign theory`` works without torch installed.
"""


def add_threshold_option(parser) -> None:
    """``--threshold NAME=VALUE`` (repeatable): overrides of
    ``benign.bridge.analysis.regimes.RegimeThresholds``."""
    parser.add_argument("--threshold", action="append", default=[], metavar="NAME=VALUE",
                        help="regime rule threshold, e.g. benign_delta=0.2 or interp_train_error=0.001 "
                             "(repeatable; defaults in benign.bridge.analysis.regimes.RegimeThresholds)")
