"""The `cchc` command line: the only room that prints or exits; nothing imports it.

  parser.py    the argparse parser (every command and option, bilingual help)
  app.py       `main`: dispatch, exit codes, the one-line path for `cchc.errors.UserError`
  output.py    printing: JSON, files written, the sync summary
  checks.py    checks before a flow starts (configuration, Prefect server)
  sync.py, simulate.py, reports.py, admin.py   one `cmd_<name>(args)` per command
"""

from cchc.cli.app import main
from cchc.cli.output import print_json
from cchc.cli.parser import build_parser

__all__ = ["build_parser", "main", "print_json"]
