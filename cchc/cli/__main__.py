import sys

from cchc.cli.app import main

sys.exit(main())
