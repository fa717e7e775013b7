from rest_framework.permissions import BasePermission

from licensing.api.authentication import ApiClient


class HasScope(BasePermission):
    """The key must carry the view's scope for this method; a missing scope is named in the 403.

    DRF checks permissions before it looks for the method's handler, so a method the view does not
    answer is let through to be refused as a 405 with the view's `Allow` header, not as a missing
    scope. OPTIONS describes the endpoint and reads no data: any valid key may ask (DRF's own
    permissions treat it as safe), and the POST form it describes is still checked against the scope.
    """

    def has_permission(self, request, view):
        if not isinstance(request.user, ApiClient):
            return False
        if request.method == "OPTIONS" or request.method not in view.allowed_methods:
            return True
        scope = view.required_scopes.get("GET" if request.method == "HEAD" else request.method)
        if scope is None:
            return False
        if scope not in request.auth.scopes:
            self.message = f"This API key lacks the scope {scope}; create a key with it on the API keys page."
            return False
        return True
