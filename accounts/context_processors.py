from accounts.forms import LanguageForm
from accounts.roles import ROLE_LABELS, roles_of


def roles(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"user_roles": set(), "user_role_labels": [], "membership": None}
    user_roles = roles_of(user)
    return {
        "user_roles": user_roles,
        "user_role_labels": [ROLE_LABELS[r] for r in sorted(user_roles)],
        "membership": getattr(user, "membership", None) if hasattr(user, "membership") else None,
    }


def language(request):
    """The form of the language switcher (header and account page): it posts to `set_language`."""
    user = getattr(request, "user", None)
    return {"language_form": LanguageForm.for_request(request, user)}
