from typing import Annotated

from pydantic import StringConstraints

# Ids are PostgreSQL integers (32 bits): a larger value must fail validation, not the driver.
MAX_ID = 2**31 - 1

# Every rule is a constraint the OpenAPI schema shows, so clients (and the schema-driven tests)
# know exactly what is accepted. Character classes are spelled out: "\s" differs between the
# regex dialects of JSON Schema, Python and pydantic. PostgreSQL text cannot hold NUL.
NO_NUL = r"^[^\x00]*$"
NOT_BLANK = r"^[^\x00]*[^\x00\t\n\r ][^\x00]*$"  # no NUL, and more than spaces
EMAIL = r"^[^@\x00 ]+@[^@\x00 ]+\.[^@\x00 ]+$"

Email = Annotated[str, StringConstraints(max_length=320, pattern=EMAIL)]
