from rest_framework.permissions import BasePermission

from licensing.api.authentication import ApiClient


class HasScope(BasePermission):
    """The key must carry the view's scope for this method; a missing scope is named in the 403."""

    def has_permission(self, request, view):
        if not isinstance(request.user, ApiClient):
            return False
        scope = view.required_scopes.get(request.method) if request.method != "HEAD" else view.required_scopes.get("GET")
        if scope is None:
            return False
        if scope not in request.auth.scopes:
            self.message = f"This API key lacks the scope {scope}; create a key with it on the API keys page."
            return False
        return True
