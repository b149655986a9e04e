"""Validates openapi/hasdata-jobs.json with openapi-spec-validator, a validator independent of
the Rust code that generates the document. Exit 0 when valid; the validator's message otherwise."""
import sys

from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

path = sys.argv[1] if len(sys.argv) > 1 else "openapi/hasdata-jobs.json"
document, _ = read_from_filename(path)
validate(document)
print(f"{path}: valid OpenAPI {document['openapi']}")
