"""The cards product's pages, one module per area:

- access: the shared access checks (`administered`) and error display (`messages_of`);
- dashboard: a person's own cards and leads, an organisation's dashboard, templates, invitations;
- members: an organisation's members, roles, transfer and leaving;
- integrations: an organisation's API keys and lead webhooks;
- public: the public card pages, outside the language prefixes.
"""
