"""What the set-up wizard stores and asks: the links, their connections, the live lists, the
shop's settings; and who may see which link.

* ``links``: the install's links (one Plug&Pay account into one administration each);
* ``connections``: a key checked live, stored encrypted, turned into a client;
* ``crypto``: the encryption of stored secrets;
* ``lookups``: live lists for the dropdowns (ledgers, VAT codes, templates, tax rates);
* ``shopsettings``: the settings in the database, a draft the wizard fills step by step;
* ``settings_check``: settings checked against the administration before they are stored;
* ``appstate``: small facts the app keeps per link (as JSON);
* ``webhook_rule``: the webhook rule in Plug&Pay that calls this app;
* ``users``: the people who may log in, each an admin or a member;
* ``access``: which links a user may see (an admin every one, a member those granted).

The settings themselves, as the mapper reads them, are ``pp2eb.mapping.settings``.
"""
