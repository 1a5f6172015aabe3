"""Schemathesis hooks for Otklik's contract run (see `cargo xtask ci`)."""

import schemathesis

# The MTA pipe endpoint takes a raw message as `message/rfc822`; it is text on the
# wire, so the built-in text serializer sends it.
schemathesis.serializer.alias("message/rfc822", "text/plain")
