"""Entry point: ``flask --app app ...`` for commands, ``python app.py`` to serve.

In demo mode (``PP2EB_DEMO=1``, what ``make run`` does) serving also starts both sandbox APIs.
"""

import sys

from pp2eb import create_app
from pp2eb.dbconfig import DatabaseURLError
from pp2eb.runs.scheduler import ConfigError

try:
    app = create_app()
except (DatabaseURLError, ConfigError) as exc:
    sys.exit(str(exc))  # one line for a person, for the server and every `flask` command

if __name__ == "__main__":
    from pp2eb.serve import main

    main(app)
