"""Alert e-mails: failed orders, a refused key, runs that stop, and the daily summary.

* ``dispatch``: when a mail goes out (after a run, once a day) and to whom;
* ``texts``: what each mail says;
* ``settings``: the SMTP server and the addresses (the install's, and a link's own), as stored;
* ``mail``: the small SMTP mailer.
"""
