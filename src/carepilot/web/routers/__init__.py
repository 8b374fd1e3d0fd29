"""One router per domain; every route declares its access policy (see deps.allow)."""
