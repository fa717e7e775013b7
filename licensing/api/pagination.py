"""Cursor pagination whose page size is a stated range: a size outside it is a 400 that says the range,
not a silent fall back to the default that leaves a pipeline wondering why its pages are short."""
from rest_framework.exceptions import APIException
from rest_framework.pagination import CursorPagination


class InvalidPageSize(APIException):
    status_code = 400
    default_code = "invalid"

    def __init__(self, message, parameter):
        super().__init__(message)
        self.fields = {parameter: [message]}


class StatedPageSize(CursorPagination):
    page_size_query_param = "page_size"

    def allowed_page_sizes(self):
        return (f"page_size is a whole number from 1 to {self.max_page_size}; "
                f"leave it out for {self.page_size} per page.")

    def get_page_size(self, request):
        value = request.query_params.get(self.page_size_query_param, "")
        if not value:
            return self.page_size
        size = int(value) if value.isascii() and value.isdigit() and len(value) <= 9 else None
        if size is None or size > self.max_page_size:
            raise InvalidPageSize(self.allowed_page_sizes(), self.page_size_query_param)
        # 0 has always meant the default here: clients that send it keep getting full pages.
        return size or self.page_size

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=0, maximum=self.max_page_size, default=self.page_size)
                parameter["description"] = self.allowed_page_sizes() + " 0 also means the default."
            if parameter["name"] == self.cursor_query_param:
                parameter["description"] = ("The cursor from a page's `next` or `previous` link: "
                                            "follow those links rather than building cursors.")
        return parameters
