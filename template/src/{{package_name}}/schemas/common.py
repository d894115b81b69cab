from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

# Ids are PostgreSQL integers (32 bits): a larger value must fail validation, not the driver.
MAX_ID = 2**31 - 1

# Every rule is a constraint the OpenAPI schema shows, so clients (and the schema-driven tests)
# know exactly what is accepted. Character classes are spelled out: "\s" differs between the
# regex dialects of JSON Schema, Python and pydantic. PostgreSQL text cannot hold NUL.
NO_NUL = r"^[^\x00]*$"
NOT_BLANK = r"^[^\x00]*[^\x00\t\n\r ][^\x00]*$"  # no NUL, and more than spaces
EMAIL = r"^[^@\x00 ]+@[^@\x00 ]+\.[^@\x00 ]+$"

Email = Annotated[str, StringConstraints(max_length=320, pattern=EMAIL)]


class RequestBody(BaseModel):
    """The body of a request: a field the API does not know is refused (422), never ignored.

    A client that sends `password` to an update, or an author to a post, learns at once that
    nothing changed it, instead of reading a 200 and believing it did.
    """

    model_config = ConfigDict(extra="forbid")
