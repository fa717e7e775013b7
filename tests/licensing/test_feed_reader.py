"""The batch reader takes and refuses exactly what the row-by-row reading does, with the same values,
lines and reasons: its column checks only decide which rows clean_row must see."""
import csv
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from licensing import feeds

HEADER = list(feeds.COLUMNS)

# Plain values first (clean_row takes them as they are), then values it changes or refuses. A row is
# mostly plain, so that one odd value at a time decides whether clean_row sees it.
VALUES = {
    "external_id": (["W-1", "W-2", "W-3", "W-4"], [" W-4", "W-5 ", "", "x" * 101, "Wé-6", "W\u00a0"]),
    "kind": (["image", "video"], ["Video", " image", "sculpture", ""]),
    "title": (["Harbour", "Zoë", "Night, market"], ['A "quoted" title', "Two\nlines", " padded ", "", "t" * 301,
                                                  "cr\rinside"]),
    "tags": (["", "sea|dawn", "sea|sea"], [" sea | dawn ", "a||b", '["x", "y"]', "[", "t" * 101, "é|e"]),
    "width": (["1920", "64"], ["0", "01", " 12", "1e3", "2147483647", "2147483648", "wide", ""]),
    "height": (["1080", "48"], ["-1", "9" * 10]),
    "duration_seconds": (["", "12.5", "5.9399999999999995"], ["0", "0.0", "00", "1.", "nan", "1_0", "9999999",
                                                            " 3 "]),
    "bytes": (["1000", "1"], ["0", "4611686018427387904", "12.0"]),
    "mime_type": (["image/jpeg", "video/mp4"], ["IMAGE/PNG", "image/", "text/plain", "video/webm "]),
    "sha256": (["a" * 64], ["A" * 64, "b" * 63, "xyz"]),
    "storage_key": (["", "works/a.jpg"], ["../etc/passwd", "a/../b", "/abs", "a\\b", ".hidden", "ok..name"]),
    "contributor_external_id": (["C-1", "C-2"], [" C-3", ""]),
    "contributor_name": (["Ana", "Bo Chen", "Dóra"], ["Ana ", ""]),
    "collection": (["", "Harbours"], ["Films, old", " padded"]),
    "rightsholders": ([""], ["contributor:C-1=100", "contributor:C-1=60|contributor:C-2=40", "contributor:C-1=50"]),
}


@st.composite
def rows(draw):
    """A plain row with an odd value or two, and a video's kind, type and duration kept together."""
    row = {name: draw(st.sampled_from(plain)) for name, (plain, _) in VALUES.items()}
    if draw(st.booleans()):
        row.update(kind="video", mime_type="video/mp4", duration_seconds=draw(st.sampled_from(["12.5", "3"])))
    else:
        row.update(kind="image", mime_type="image/jpeg", duration_seconds="")
    for name in draw(st.lists(st.sampled_from(list(VALUES)), max_size=draw(st.sampled_from([1, 1, 1, 2])))):
        row[name] = draw(st.sampled_from(VALUES[name][1]))
    return row


ROW = rows()
LINE = st.one_of(ROW, ROW, ROW, ROW, st.just("short"), st.just("blank"))


def feed_text(lines, ending):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=ending)
    writer.writerow(HEADER)
    for line in lines:
        if line == "short":
            buffer.write(f"W-9,image,Short row{ending}")
        elif line == "blank":
            buffer.write(ending)
        else:
            writer.writerow([line[name] for name in HEADER])
    return buffer.getvalue().encode()


def by_rows(data):
    """The row-by-row reading: read_feed, clean_row, the first line of an external id wins."""
    rejections, works, held, seen = [], [], [], {}
    for line, values in feeds.read_feed(io.BytesIO(data), "csv"):
        cleaned = values if isinstance(values, feeds.Rejection) else feeds.clean_row(line, values)
        if isinstance(cleaned, feeds.Rejection):
            rejections.append(cleaned)
            continue
        work, shares = cleaned
        if work[1] in seen:
            rejections.append(feeds.Rejection(line, work[1], f"external id {work[1]} is already on line "
                                                             f"{seen[work[1]]}"))
            continue
        seen[work[1]] = line
        (held if shares is not None else works).append(typed(work) if shares is None else (typed(work), shares))
    return sorted(rejections, key=lambda r: r.line), works, held


def typed(work):
    line, external_id, kind, title, tags, width, height, duration, size, *rest = work
    return (int(line), external_id, kind, title, tags, int(width), int(height),
            None if duration in ("", None) else float(duration), int(size), *rest)


def by_batches(data):
    reader = feeds.FeedReader(io.BytesIO(data), "csv")
    works = []
    order = [feeds.STAGED_NAMES.get(name, name) for name in feeds.WORK]
    for batch in reader.batches():
        staged = list(csv.reader(io.StringIO(batch.text))) + [list(row) for row in batch.rows]
        for row in staged:
            values = dict(zip(["line", *reader.columns], row))
            work = [values["line"], *(values[name] for name in order)]
            work[4] = reader.tag_json[work[4]]
            works.append(typed(work))
    held = [(typed(work), shares) for work, shares in reader.held]
    return sorted(reader.rejections, key=lambda r: r.line), sorted(works), held


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(LINE, min_size=1, max_size=60), ending=st.sampled_from(["\n", "\r\n"]),
       block=st.integers(min_value=1, max_value=3000))
def test_the_batch_reader_reads_a_feed_as_the_row_by_row_reading_does(lines, ending, block):
    data = feed_text(lines, ending)
    saved = feeds.BLOCK_CHARS
    feeds.BLOCK_CHARS = block
    try:
        assert by_batches(data) == by_rows(data)
    finally:
        feeds.BLOCK_CHARS = saved


def test_a_plain_feed_is_staged_as_its_own_lines_and_its_tags_mean_what_clean_row_makes_of_them():
    rows = [{**{name: plain[0] for name, (plain, _) in VALUES.items()}, "external_id": f"W-{n}", "tags": "sea|sea"}
            for n in range(50)]
    reader = feeds.FeedReader(io.BytesIO(feed_text(rows, "\r\n")), "csv")
    batches = list(reader.batches())
    assert [bool(b.rows) for b in batches] == [False]
    assert batches[0].text.splitlines()[0] == "2,W-0,image,Harbour,sea|sea,1920,1080,,1000,image/jpeg," + "a" * 64 \
        + ",,C-1,Ana,,"
    assert reader.tag_json["sea|sea"] == '["sea"]'
