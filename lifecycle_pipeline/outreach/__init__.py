"""Outreach (DOMAIN.md, Outreach playbook): whom to contact, how, and with what message.

``playbook`` loads and validates the campaigns, ``rendering`` renders their jinja2 templates
in a sandbox, ``lists`` builds a day's outreach list with its guards, contact history and
exports (``exports``), and ``uplift`` compares contacted customers with the holdouts.
"""
