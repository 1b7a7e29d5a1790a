"""The OpenID Connect provider's protocol rules and signing keys."""
