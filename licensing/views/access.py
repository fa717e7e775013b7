"""Who may call a page: the decorators and lookups every view uses to say so."""
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _

from accounts.roles import has_role


def staff_only(*roles):
    """Licensor staff with one of `roles`; anyone else is refused (403), anonymous users sent to log in."""
    def decorator(view):
        @wraps(view)
        @login_required
        def wrapper(request, *args, **kwargs):
            if not has_role(request.user, *roles):
                raise PermissionDenied(_("This page is for licensor staff."))
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def membership_or_404(user):
    """The user's organisation membership; people outside any organisation have no applicant pages."""
    membership = getattr(user, "membership", None)
    if membership is None:
        raise Http404("You do not belong to an organisation yet.")
    return membership
