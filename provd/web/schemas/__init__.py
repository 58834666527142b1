"""The API's models, one module per resource: request bodies (``…In``, ``…Patch``)
and answers. The routes name them (provd/web/contract.py); validation and the
OpenAPI document both come from them."""
