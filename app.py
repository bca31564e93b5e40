"""Entry point: ``flask --app app ...`` for commands, ``python app.py`` to serve.

In demo mode (``PP2EB_DEMO=1``, what ``make run`` does) serving also starts both sandbox APIs.
"""

from pp2eb import create_app

app = create_app()

if __name__ == "__main__":
    from pp2eb.serve import main

    main(app)
