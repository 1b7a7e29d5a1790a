"""The provider's routes, one module per part of the protocol."""
