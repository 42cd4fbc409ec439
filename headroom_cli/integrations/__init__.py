"""Headroom inside other people's code: one module per client or framework.

Each imports its optional package only when used (``pip install 'headroom-compress[sdk]'``, ``[langchain]``,
``[litellm]``, ``[agno]``), so ``import headroom_cli`` never needs them.
"""
