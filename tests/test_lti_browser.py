"""The whole LMS route in Debian's Chromium (Playwright): an instructor adds the quiz to the
course by deep linking inside the test LMS's frame (one gradebook column, however often
the link is launched), a student opens it from the course, answers inside the frame and
submits, and the score arrives in the LMS's gradebook."""

from __future__ import annotations

import pytest

from .lti_site import make_site


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    made = make_site(tmp_path_factory.mktemp("lti-browser"), link_quiz=False)
    yield made
    made.stop()


def _course(browser, site, user: str, link: str):
    page = browser.new_page(viewport={"width": 1100, "height": 1500})
    logged: list[str] = []
    page.on("console", lambda m: logged.append(f"{m.type}: {m.text}"))
    page.goto(f"{site.platform.url}/course/{link}?user={user}", wait_until="load")
    return page, page.frame_locator("#tool"), logged


def test_deep_linking_then_a_student_launch_submit_and_the_score_in_the_gradebook(browser, site, tmp_path):
    page, tool, logged = _course(browser, site, "u-teacher", "deep-link")
    tool.get_by_role("button", name="선택").first.wait_for()
    page.screenshot(path=str(tmp_path / "deep-link-choose.png"))
    tool.get_by_role("button", name="선택").first.click()
    tool.get_by_role("button", name="강좌에 추가").wait_for()
    page.screenshot(path=str(tmp_path / "deep-link-confirm.png"))
    tool.get_by_role("button", name="강좌에 추가").click()
    tool.get_by_role("heading", name="Added link-1").wait_for()
    assert len(site.platform.line_items) == 1
    item = site.platform.line_items[1]
    assert item.resource_id == f"quizgen-quiz-{site.quiz}" and item.label == "점검 퀴즈" and item.score_maximum > 0
    page.screenshot(path=str(tmp_path / "deep-link.png"))
    page.close()

    # launching the new link, as instructor and as students, never makes a second column
    teacher, tool, _ = _course(browser, site, "u-teacher", "link-1")
    tool.get_by_text("20260001").wait_for()
    teacher.screenshot(path=str(tmp_path / "progress.png"))
    teacher.close()

    page, tool, logged = _course(browser, site, "u-minjun", "link-1")
    tool.get_by_role("button", name="검토").wait_for()
    for name, value in site.answers("20260001").items():
        tool.locator(f'input[name="{name}"]').fill(value)
    page.screenshot(path=str(tmp_path / "quiz.png"), full_page=True)
    tool.get_by_role("button", name="검토").click()  # the review step, as on the students' page
    tool.get_by_role("button", name="제출", exact=True).click()
    tool.get_by_role("heading", name="제출되었습니다").wait_for()
    page.screenshot(path=str(tmp_path / "receipt.png"), full_page=True)
    scores = site.wait_for_scores(1)
    assert scores[0][0] == 1 and scores[0][1]["userId"] == "u-minjun"
    assert scores[0][1]["scoreGiven"] == scores[0][1]["scoreMaximum"] == item.score_maximum
    assert len(site.platform.line_items) == 1
    assert site.sql("SELECT count(*) FROM lti_line_items") == [(1,)]
    assert not [line for line in logged if line.startswith(("error", "pageerror"))], logged
    page.close()
    gradebook = browser.new_page()
    gradebook.goto(f"{site.platform.url}/gradebook")
    assert "u-minjun" in gradebook.content()
    gradebook.close()
