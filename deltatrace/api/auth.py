"""Token authentication for scripts and adapters: `Authorization: Bearer <key>` (or `Token <key>`)."""

from rest_framework.authentication import TokenAuthentication


class BearerTokenAuthentication(TokenAuthentication):
    """DRF's user tokens, accepted with the standard Bearer keyword as well as DRF's own `Token`."""

    keyword = "Bearer"

    def authenticate(self, request):  # type: ignore[no-untyped-def]
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header.startswith("Token "):
            request.META["HTTP_AUTHORIZATION"] = "Bearer " + header[len("Token ") :]
        return super().authenticate(request)
