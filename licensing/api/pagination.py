"""Cursor pagination whose page size is a stated range: a size outside it is a 400 that says the range,
not a silent fall back to the default that leaves a pipeline wondering why its pages are short."""
from rest_framework.exceptions import APIException, NotFound
from rest_framework.pagination import CursorPagination


class InvalidPageSize(APIException):
    status_code = 400
    default_code = "invalid"

    def __init__(self, message, parameter):
        super().__init__(message)
        self.fields = {parameter: [message]}


class InvalidCursor(APIException):
    status_code = 400
    default_code = "invalid_cursor"
    default_detail = ("This cursor is not one Tessera gave out: follow the `next` or `previous` link of a page "
                      "instead of building or editing cursors.")


class StatedPageSize(CursorPagination):
    page_size_query_param = "page_size"
    invalid_cursor_message = InvalidCursor.default_detail

    def decode_cursor(self, request):
        """A damaged or hand-made cursor is the client's mistake (400), never a crash in the query."""
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            raise InvalidCursor() from None
        if cursor is not None and cursor.position is not None:
            try:
                int(cursor.position)
            except ValueError:
                raise InvalidCursor() from None
        return cursor

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
