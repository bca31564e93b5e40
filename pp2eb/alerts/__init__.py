"""Alert e-mails: failed orders, a refused key, runs that stop, and the daily summary.

* ``dispatch``: when a mail goes out (after a run, once a day) and to whom;
* ``texts``: what each mail says;
* ``settings``: the recipients and the SMTP server, as stored;
* ``mail``: the small SMTP mailer.
"""
