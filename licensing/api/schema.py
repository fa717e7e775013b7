from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "licensing.api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "An organisation API key: tsk_<prefix>_<secret>."}


def document_page_refusals(result, generator, request, public):
    """Every paged list answers 400 to a page_size outside its range: say so in each list's responses."""
    refusal = "a page_size outside the range the parameter states."
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if not any(parameter.get("name") == "page_size" for parameter in operation.get("parameters", [])):
                continue
            responses = operation.setdefault("responses", {})
            if "400" in responses:
                responses["400"]["description"] = f"{responses['400']['description']} Or {refusal}"
            else:
                responses["400"] = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                                    "description": refusal.capitalize()}
    return result
