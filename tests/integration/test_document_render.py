"""The document renderer end to end: real Jinja templates, real WeasyPrint, real fonts, and the PDFs
read back with pypdf (text, page size, page-number position, embedded fonts and images)."""

from __future__ import annotations

import ctypes.util
import io
import os
import shutil
import warnings
from pathlib import Path

import pytest
from pypdf import PdfReader

from inspect_api.core.categories import CATEGORIES
from inspect_api.documents import charts
from inspect_api.documents.render import (
    KINDS,
    TEMPLATES_DIR,
    RefusedURL,
    RestrictedURLFetcher,
    render,
    render_html,
    render_pdf,
    validate_context,
)
from inspect_api.documents.samples import bulletin_context, many_cases, sample_context

A4 = (595.28, 841.89)


def reader(pdf: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(pdf))


def page_count(pdf: bytes) -> int:
    return len(reader(pdf).pages)


def page_texts(pdf: bytes) -> list[str]:
    """Each page's text with line breaks removed (body text wraps anywhere in Chinese)."""
    return [page.extract_text().replace("\n", "") for page in reader(pdf).pages]


def embedded_fonts(pdf: bytes) -> set[str]:
    fonts = set()
    for page in reader(pdf).pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            name = str(font.get_object()["/BaseFont"])
            fonts.add(name.split("+", 1)[-1])  # drop the subset tag ABCDEF+
    return fonts


def image_names(pdf: bytes) -> set[str]:
    return {image.name for page in reader(pdf).pages for image in page.images}


def text_position(pdf: bytes, index: int, predicate) -> tuple[float, float]:
    """(x, y) in pt from the page's bottom-left corner of the first text run matching `predicate`."""
    found = []

    def visit(text, cm, tm, font_dict, font_size):
        if predicate(text):
            found.append((cm[4] + tm[4] * cm[0], cm[5] + tm[5] * cm[3]))

    reader(pdf).pages[index].extract_text(visitor_text=visit)
    assert found, f"no matching text on page {index + 1}"
    return found[0]


def page_number_x(pdf: bytes, index: int) -> float:
    """Where on the page (in pt from the left) the page number `— N —` is drawn."""
    found = []

    def visit(text, cm, tm, font_dict, font_size):
        if text.startswith("— ") and text.endswith(" —"):
            found.append(cm[4] + tm[4] * cm[0])

    reader(pdf).pages[index].extract_text(visitor_text=visit)
    assert found, f"no page number on page {index + 1}"
    return found[0]


@pytest.fixture(scope="module")
def photo_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("evidence")


@pytest.fixture(scope="module")
def rendered(photo_dir) -> dict:
    """Each kind's sample rendered once for the module."""
    return {kind: render(sample_context(kind, photo_dir), asset_root=photo_dir) for kind in KINDS}


# --- what the reader sees -----------------------------------------------------------------------------


def test_criticism_shows_number_title_units_dates_and_distribution(rendered):
    pdf = rendered["criticism"].pdf
    pages = page_texts(pdf)
    text = "".join(pages)
    assert "清川县机关效能建设领导小组办公室文件" in pages[0]
    assert "清效办〔2026〕3号" in pages[0]
    assert "关于对县不动产登记中心等单位违反机关效能建设规定问题的通报批评" in pages[0]
    assert pages[0].index("各乡镇人民政府，县直各单位：") < pages[0].index("为深入推进")
    for unit in ("清川县不动产登记中心", "清川县人力资源和社会保障局", "清川县市场监督管理局"):
        assert unit in text
    assert "2026年11月5日10时20分" in text  # stored in UTC (02:20), shown in Beijing time
    assert "请于2026年11月30日前（5个工作日内）整改到位" in text
    assert "涉及人员：王某" in text and "王芳" not in text  # surname policy applied by the caller
    assert "附件：2026年11月明查暗访发现问题清单" in text
    last = pages[-1]
    assert "2026年11月23日" in last
    assert "抄送：县委办公室，县人大常委会办公室，县政府办公室，县政协办公室，县纪委监委。" in last
    assert "清川县机关效能建设领导小组办公室2026年11月23日印发" in last.replace(" ", "")
    assert all("抄送" not in page for page in pages[:-1])  # 版记 only on the last page


def test_every_page_has_its_number_odd_on_the_right_even_on_the_left(rendered):
    pdf = rendered["criticism"].pdf
    pages = page_texts(pdf)
    assert len(pages) >= 2
    for n, text in enumerate(pages, start=1):
        assert f"— {n} —" in text
    width = A4[0]
    assert page_number_x(pdf, 0) > width / 2
    assert page_number_x(pdf, 1) < width / 2


def test_distribution_block_sits_at_the_foot_of_the_last_page(rendered):
    """版记 (GB/T 9704 7.4): its last line is the last line of the type area, not after the signature."""
    pdf = rendered["criticism"].pdf
    last = page_count(pdf) - 1
    _, printed_y = text_position(pdf, last, lambda t: t.endswith("印发"))
    _, date_y = text_position(pdf, last, lambda t: t == "2026年11月23日")
    bottom_of_type_area = 35 / 25.4 * 72  # 35 mm
    assert bottom_of_type_area < printed_y < bottom_of_type_area + 30
    assert date_y - printed_y > 40  # blank space between signature and 版记


def test_a_short_document_keeps_everything_on_one_page():
    context = sample_context("commendation")
    context.update(title="关于对县税务局办税服务厅予以通报表扬的通报", paragraphs=[], closing_paragraphs=[], cc=None)
    context["entries"] = [{**context["entries"][0], "reason": "季度群众满意率100%。"}]
    pdf = render_pdf(context)
    assert page_count(pdf) == 1
    text = page_texts(pdf)[0]
    assert "— 1 —" in text and "2026年10月21日印发" in text and "抄送" not in text


@pytest.mark.parametrize("kind", KINDS)
def test_pages_are_a4(rendered, kind):
    for page in reader(rendered[kind].pdf).pages:
        assert float(page.mediabox.width) == pytest.approx(A4[0], abs=1)
        assert float(page.mediabox.height) == pytest.approx(A4[1], abs=1)


@pytest.mark.parametrize("kind", KINDS)
def test_only_noto_cjk_sc_fonts_are_embedded(rendered, kind):
    """No glyph fell back to a Latin-only font or to the Japanese variant of Noto CJK."""
    fonts = embedded_fonts(rendered[kind].pdf)
    assert fonts, "no fonts embedded"
    assert all(name.startswith(("Noto-Serif-CJK-SC", "Noto-Sans-CJK-SC")) for name in fonts), fonts


def test_criticism_embeds_its_photos_small(rendered):
    result = rendered["criticism"]
    assert result.refused_urls == ()
    assert len(image_names(result.pdf)) == 3  # 2 + 1 + 0 photos
    images = [image for image in reader(result.pdf).pages[1].images]
    assert all(len(image.data) < 60_000 for image in images)
    assert "图1-1" in "".join(page_texts(result.pdf)) and "图2-1" in "".join(page_texts(result.pdf))


def test_bulletin_has_charts_tables_ranking_and_cases(rendered):
    text = "".join(page_texts(rendered["bulletin"].pdf))
    assert "清效办〔2026〕12号" in text
    assert "2026年10月，县效能办共开展明查暗访46次，覆盖28个单位，发现问题37个" in text
    assert "图1" in text and "图2" in text and "表2" in text
    assert "排名末位的单位是：清川县不动产登记中心" in text
    assert "上升2位" in text and "下降3位" in text
    assert "典型问题" in text and "表扬单位" in text


def test_rectification_without_cc_prints_no_cc_line_and_says_when_a_deadline_is_provisional(rendered):
    text = "".join(page_texts(rendered["rectification"].pdf))
    assert text.startswith("清效办〔2026〕15号") or "清效办〔2026〕15号" in text
    assert "清川县不动产登记中心：" in text
    assert "抄送" not in text
    assert "请于2027年1月5日前（10个工作日内）整改到位（该期限跨越尚未公布调休安排的年份" in text
    assert "报送要求" in text and "2026年12月18日印发" in text


def test_commendation_names_units_and_staff(rendered):
    text = "".join(page_texts(rendered["commendation"].pdf))
    assert "（三）清川县政务服务中心办事大厅谢雨桐同志。" in text
    assert "2026年10月20日" in text and "2026年10月21日印发" in text


def test_draft_shows_a_watermark_on_every_page_and_no_number(photo_dir):
    context = sample_context("criticism", photo_dir)
    context.update(draft=True, number=None)
    pdf = render_pdf(context, asset_root=photo_dir)
    pages = page_texts(pdf)
    assert "（草稿，未编号）" in pages[0]
    assert all("草稿" in page.replace(" ", "") for page in pages)
    assert "〔2026〕" not in "".join(pages)


def test_issued_document_has_no_watermark(rendered):
    assert all("草稿" not in page for page in page_texts(rendered["criticism"].pdf))


@pytest.mark.slow
def test_a_bulletin_with_300_typical_cases_paginates_sanely():
    context = bulletin_context(typical_cases=300)
    result = render(context)
    assert result.page_count == page_count(result.pdf)
    # Each case takes 5-6 lines of a 22-line page: far more than 40 pages, far fewer than one per case.
    assert 40 < result.page_count < 200
    pages = page_texts(result.pdf)
    assert "（三百）" in "".join(pages)
    assert f"— {result.page_count} —" in pages[-1] and "抄送" in pages[-1]


def test_html_declares_chinese_and_escapes_the_context(tmp_path):
    context = sample_context("commendation")
    context["title"] = "关于<img src=\"file:///etc/passwd\">的通报"
    html = render_html(context)
    assert '<html lang="zh-CN">' in html
    assert "&lt;img" in html and '<img src="file:///etc/passwd">' not in html
    assert "关于<img" in "".join(page_texts(render_pdf(context)))


def test_templates_folder_can_be_overridden(tmp_path):
    shutil.copytree(TEMPLATES_DIR, tmp_path / "templates")
    commendation = tmp_path / "templates" / "documents" / "commendation.html"
    commendation.write_text(commendation.read_text().replace("{% block body %}", "{% block body %}<p>另一套模板</p>"))
    context = sample_context("commendation")
    assert "另一套模板" in render_html(context, templates_dir=tmp_path / "templates")
    assert "另一套模板" not in render_html(context)
    assert "另一套模板" in "".join(page_texts(render_pdf(context, templates_dir=tmp_path / "templates")))


# --- what the renderer refuses -------------------------------------------------------------------------


def test_missing_keys_are_named_in_one_error():
    context = sample_context("criticism")
    del context["title"]
    del context["issuer"]["short"]
    del context["items"][1]["observed_at"]
    with pytest.raises(ValueError) as info:
        render_html(context)
    message = str(info.value)
    assert "missing keys" in message
    for key in ("title", "issuer.short", "items[1].observed_at"):
        assert key in message


def test_kind_specific_keys_are_required():
    context = sample_context("bulletin")
    del context["ranking"]
    del context["summary"]["overdue"]
    with pytest.raises(ValueError, match=r"ranking.*summary\.overdue|summary\.overdue.*ranking"):
        validate_context(context)


def test_wrong_types_are_named():
    context = sample_context("rectification")
    context["signed_on"] = "2026-12-18"
    context["items"][0]["rectification"]["due_on"] = None
    with pytest.raises(ValueError) as info:
        validate_context(context)
    assert "signed_on (expected date, got str)" in str(info.value)
    assert "items[0].rectification.due_on" in str(info.value)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"kind": "memo"}, "kind must be one of"),
        ({"number": None}, "number is required unless draft"),
        ({"number": "清效办〔2026〕03号"}, "not a document number"),
        ({"number": "县效办〔2026〕3号"}, "does not use the issuer's 代字"),
    ],
)
def test_context_errors(change, match):
    context = sample_context("commendation")
    context.update(change)
    with pytest.raises(ValueError, match=match):
        validate_context(context)


def test_fetcher_serves_only_files_inside_the_allowed_folders(tmp_path):
    root = tmp_path / "evidence"
    root.mkdir()
    (root / "ok.jpg").write_bytes(b"jpeg")
    (tmp_path / "secret.txt").write_text("secret")
    (root / "link.jpg").symlink_to(tmp_path / "secret.txt")
    fetcher = RestrictedURLFetcher([root])

    assert fetcher.fetch((root / "ok.jpg").as_uri()).read() == b"jpeg"
    (root / "照片 1.jpg").write_bytes(b"cjk name")
    assert fetcher.fetch((root / "照片 1.jpg").as_uri()).read() == b"cjk name"
    for url in (
        "file:///etc/passwd",
        (tmp_path / "secret.txt").as_uri(),
        (root / "link.jpg").as_uri(),  # a symlink out of the folder
        root.as_uri() + "/../secret.txt",  # a path climbing out
        "file://otherhost" + str(root / "ok.jpg"),
        "http://127.0.0.1:9/photo.jpg",
        "https://example.com/photo.jpg",
        "ftp://example.com/photo.jpg",
        "data:text/html;base64,PGgxPng8L2gxPg==",  # only our SVG charts come as data: URLs
    ):
        with pytest.raises(RefusedURL):
            fetcher.fetch(url)
    assert len(fetcher.refused) == 9


def test_photos_outside_the_asset_root_are_left_out_and_reported(photo_dir, tmp_path, caplog):
    """Decision: a refused photo does not stop the document; it is left out, logged and returned in
    `refused_urls` so the workflow can refuse to issue a document with missing evidence."""
    context = sample_context("criticism", photo_dir)
    outside = tmp_path / "outside.jpg"
    shutil.copy(context["items"][0]["photos"][0], outside)
    context["items"][0]["photos"] = ["/etc/passwd", "http://127.0.0.1:9/x.jpg", str(outside)]
    context["items"][1]["photos"] = []
    with caplog.at_level("WARNING", logger="inspect_api.documents.render"):
        result = render(context, asset_root=photo_dir)
    assert set(result.refused_urls) == {"file:///etc/passwd", "http://127.0.0.1:9/x.jpg", outside.as_uri()}
    assert "refused file:///etc/passwd" in caplog.text
    assert image_names(result.pdf) == set()
    assert "清效办〔2026〕3号" in page_texts(result.pdf)[0]


def test_a_relative_photo_path_is_an_error():
    context = sample_context("criticism")
    context["items"][0]["photos"] = ["photos/1.jpg"]
    with pytest.raises(ValueError, match="photo paths must be absolute"):
        render_html(context)


def test_without_an_asset_root_no_photo_is_read(photo_dir):
    result = render(sample_context("criticism", photo_dir))
    assert len(result.refused_urls) == 3
    assert image_names(result.pdf) == set()


# --- charts and fonts ----------------------------------------------------------------------------------


def test_charts_draw_every_chinese_label_without_missing_glyph_warnings():
    context = bulletin_context()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib's "Glyph … missing from font" fails the test
        by_category = charts.findings_by_category_svg(context["by_category"])
        scores = charts.unit_scores_svg(context["ranking"], bottom=context["bottom"])
    for svg in (by_category, scores):
        assert svg.startswith(b"<?xml") and b"<svg" in svg
        assert b"<text" not in svg  # labels are outlines: the PDF needs no chart font


def test_a_label_the_font_cannot_draw_raises_instead_of_printing_boxes():
    with pytest.raises(charts.MissingGlyphError, match="GRINNING FACE"):
        charts.findings_by_category_svg([{"label": "笑脸😀", "count": 1, "previous": 0}])


def test_charts_are_deterministic():
    rows = bulletin_context()["by_category"]
    assert charts.findings_by_category_svg(rows) == charts.findings_by_category_svg(rows)


@pytest.mark.filterwarnings("error::UserWarning")
def test_bulletin_renders_with_warnings_as_errors():
    assert render(bulletin_context()).page_count >= 3


def test_harfbuzz_subsetting_is_available():
    """Without libharfbuzz-subset WeasyPrint subsets CJK fonts with fontTools: 15 s instead of 0.3 s."""
    assert ctypes.util.find_library("harfbuzz-subset"), "install libharfbuzz-subset0 (see scripts/_setup.sh)"


def test_many_cases_helper_makes_small_photos(tmp_path):
    cases = many_cases(4, tmp_path)
    assert len(cases) == 4
    assert all(len(case["photos"]) == 1 and os.path.getsize(case["photos"][0]) < 40_000 for case in cases)


# --- at county scale ---------------------------------------------------------------------------------


def _overlaps(boxes) -> list[tuple[int, int]]:
    return [(i, j) for i in range(len(boxes)) for j in range(i + 1, len(boxes))
            if boxes[i].overlaps(boxes[j])]


@pytest.mark.parametrize("count", [3, 6, 12, len(CATEGORIES)])
def test_category_labels_never_overlap_however_many_categories(count):
    from matplotlib import rc_context

    rows = [{"label": label, "count": count - i, "previous": i % 3}
            for i, label in enumerate(list(CATEGORIES.values())[:count])]
    with rc_context(charts._rc()):
        fig = charts.category_figure(rows)
        renderer = fig._get_renderer()
        fig.draw(renderer)
        ax = fig.axes[0]
        labels = ax.get_yticklabels() if count > charts.VERTICAL_MAX else ax.get_xticklabels()
        boxes = [t.get_window_extent(renderer) for t in labels]
    assert len(boxes) == count and _overlaps(boxes) == []


def test_a_long_ranking_charts_the_units_the_text_names_and_counts_the_rest():
    ranking = [{"rank": i + 1, "unit_name": f"第{i + 1}局", "score": 99 - i * 0.3} for i in range(60)]
    rows = charts.ranking_rows(ranking, best=["第1局", "第2局", "第3局"], bottom=["第60局"])
    assert [r["unit_name"] for r in rows] == ["第1局", "第2局", "第3局", "……其余56个单位", "第60局"]
    assert rows[3]["score"] is None
    short = ranking[:12]
    assert [r["unit_name"] for r in charts.ranking_rows(short, best=["第1局"], bottom=["第12局"])] == \
        [f"第{i}局" for i in range(1, 13)]


def test_a_bulletin_of_sixty_units_names_the_part_its_chart_shows():
    context = bulletin_context()
    template = context["ranking"][0]
    names = [f"清川县第{i}测试局" for i in range(1, 61)]
    context["ranking"] = [{**template, "rank": i + 1, "unit_name": n, "score": round(99 - i * 0.4, 1)}
                          for i, n in enumerate(names)]
    context["best"], context["bottom"] = names[:3], names[-1:]
    text = "".join(page_texts(render_pdf(context)))
    assert "排名靠前及末位单位综合得分（共60个单位，全部见表2）" in text


def test_a_render_in_a_child_process_runs_below_the_workers_priority(tmp_path):
    """The render worker's child works at INSPECT_WORKER_NICE below it; the worker itself does not."""
    import threading

    from inspect_api.documents.worker import render_in_child

    base = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    pdf, meta = render_in_child(bulletin_context(tmp_path), tmp_path, memory_mb=3072, timeout_s=300, nice=4)
    assert pdf.startswith(b"%PDF") and meta["page_count"] >= 1
    assert meta["nice"] == min(19, base + 4)
    assert meta["cpu_s"] > 0.1  # a new interpreter, WeasyPrint and the render: far more than nothing
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == base


def test_a_render_child_that_cannot_start_is_reported_with_its_reason(tmp_path, monkeypatch):
    """The child is started from a thread at the lower priority; what stops it starting (no memory for
    a new process, say) reaches the caller, who records it on the job."""
    import multiprocessing.context

    from inspect_api.documents.worker import render_in_child

    def refuse(self):
        raise OSError(12, "Cannot allocate memory")

    monkeypatch.setattr(multiprocessing.context.SpawnProcess, "start", refuse)
    with pytest.raises(RuntimeError, match="did not start.*Cannot allocate memory"):
        render_in_child(bulletin_context(tmp_path), tmp_path, memory_mb=3072, timeout_s=300, nice=4)
