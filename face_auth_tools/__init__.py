"""Offline tools: accuracy and liveness evaluation, the attack generators and renderers.

The serving code (app.py, controller, face_auth) never imports this package (an import-linter
contract and tests/deploy/test_offline_tools.py say so); the `face-auth` CLI calls it lazily.
"""
