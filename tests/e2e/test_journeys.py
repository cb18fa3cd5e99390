"""What a member and a guest do, in a real browser, on a phone and on a desktop.

Selectors use form field names, URLs and the theme's class names, never the visible words,
so the journeys hold in every language the theme is translated into.
"""

from __future__ import annotations

import re

import pytest
from PIL import Image, ImageDraw

from tests.e2e.conftest import PASSWORD

pytestmark = pytest.mark.e2e

#: Per viewport, so both runs can share one server: (first member, second member).
NAMES = {
    "phone": ("跑者小王", "晨跑阿梅"),
    "desktop": ("跑者老李", "夜跑阿珍"),
}


def _jpeg(path):
    image = Image.new("RGB", (480, 320), (250, 240, 230))
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, 460, 300), outline=(217, 72, 15), width=8)
    draw.ellipse((180, 100, 300, 220), fill=(217, 72, 15))
    image.save(path, "JPEG", quality=85)
    return path


def _submit(page, form_selector: str = "main form"):
    """Click the form's submit button and wait for the page it leads to."""
    with page.expect_navigation():
        page.locator(form_selector).locator("button[type=submit]").first.click()


def _sign_in(page, login: str, password: str = PASSWORD):
    page.goto("/login")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", password)
    _submit(page)
    # signed in: the account menu replaces the sign-in link
    assert page.locator("details.menu").count() == 1, page.content()[:2000]


def _post_id(page, number: int) -> int:
    href = page.locator(f"#p{number} a.post-number").get_attribute("href")
    return int(re.search(r"/p/(\d+)", href).group(1))


def test_member_journey(new_context, live_server, viewport, shot, tmp_path):
    first, second = NAMES[viewport]
    first_email = f"{viewport}-wang@example.com"
    title = f"第一次跑完半马（{viewport}）"
    text = "今天早上六点出发，配速六分半，最后两公里很辛苦，但是坚持下来了！"
    edited = "修改：配速其实是六分二十秒，比想象中快。"
    image = _jpeg(tmp_path / "跑步.jpg")

    context = new_context()
    page = context.new_page()
    shot.watch(page)

    # register with a Chinese username
    page.goto("/")
    shot(page, "index-guest")
    page.goto("/register")
    page.fill("input[name=username]", first)
    page.fill("input[name=email]", first_email)
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=confirm]", PASSWORD)
    shot(page, "register-form")
    _submit(page)
    assert first in page.inner_text("main")
    shot(page, "registered")

    # the confirmation link from the outbox
    link = live_server.link_in_mail_to(first_email)
    page.goto(link)
    assert page.url.startswith(live_server.url + "/login")
    assert page.locator(".flash-success").count() == 1
    shot(page, "confirmed")

    # sign in
    _sign_in(page, first)
    shot(page, "signed-in")
    page.goto("/me")
    assert first in page.locator("h1").inner_text()
    shot(page, "profile")

    # start a thread with an image
    page.goto(f"/b/{live_server.public_slug}")
    shot(page, "board")
    page.locator(f"a[href='/b/{live_server.public_slug}/new']").first.click()
    page.wait_for_selector("input[name=title]")
    page.fill("input[name=title]", title)
    page.fill("textarea[name=body]", text)
    page.set_input_files("input[name=image]", str(image))
    shot(page, "composer")
    _submit(page, "form.composer")
    assert re.search(r"/t/\d+$", page.url), page.url
    thread_url = page.url
    assert page.locator("h1").inner_text().strip().endswith(title)
    first_post = page.locator("#p1")
    assert text in first_post.locator(".post-body").inner_text()
    img = first_post.locator(".post-body img")
    assert img.count() == 1
    assert img.get_attribute("src").startswith("/uploads/")
    img.scroll_into_view_if_needed()
    page.wait_for_function(
        "() => { const i = document.querySelector('#p1 .post-body img');"
        " return i && i.complete && i.naturalWidth > 0; }"
    )
    assert img.evaluate("i => i.naturalWidth") == 480
    shot(page, "thread-with-image")
    first_post_id = _post_id(page, 1)

    # a second member, in a browser of their own, replies and then quotes the first post
    second_email = f"{viewport}-mei@example.com"
    live_server.create_member(second, second_email)
    other = new_context().new_page()
    shot.watch(other)
    _sign_in(other, second)
    other.goto(thread_url)
    reply_text = "恭喜！下次一起去奥森跑步吧。"
    other.fill("#reply textarea[name=body]", reply_text)
    shot(other, "second-member-reply-box")
    _submit(other, "#reply form")
    assert reply_text in other.locator("#p2 .post-body").inner_text()
    shot(other, "second-member-replied")

    other.locator(f"#p1 a[href*='quote={first_post_id}']").click()
    body = other.locator("textarea[name=body]")
    body.wait_for()
    assert f"@{first}" in body.input_value()
    assert text in body.input_value()
    body.press("End")
    body.fill(body.input_value() + "六分半已经很厉害了！")
    shot(other, "quote-composer")
    _submit(other, "form.composer")
    quote_post = other.locator("#p3")
    # the redirect lands on #p3: its head must not hide under the sticky top bar
    other.wait_for_load_state("load")
    covered = other.evaluate(
        "() => document.querySelector('.topbar').getBoundingClientRect().bottom"
        " - document.querySelector('#p3').getBoundingClientRect().top"
    )
    assert covered <= 0, f"the top bar covers {covered}px of the post jumped to"
    assert quote_post.locator(".post-body blockquote").count() == 1
    assert text in quote_post.locator(".post-body blockquote").inner_text()
    assert "六分半已经很厉害了！" in quote_post.locator(".post-body").inner_text()
    shot(other, "quoted")

    # the first member edits their post and finds the old text in the history
    page.goto(thread_url)
    page.locator(f"#p1 a[href='/p/{first_post_id}/edit']").click()
    body = page.locator("textarea[name=body]")
    body.wait_for()
    assert text in body.input_value()
    body.fill(body.input_value().replace(text, edited))  # the image line stays
    shot(page, "edit-composer")
    _submit(page, "form.composer")
    assert edited in page.locator("#p1 .post-body").inner_text()
    assert text not in page.locator("#p1 .post-body").inner_text()
    assert page.locator("#p1 .post-body img").count() == 1
    shot(page, "edited")
    page.locator(f"#p1 a[href='/p/{first_post_id}/revisions']").click()
    page.wait_for_selector(".revision")
    sources = page.locator(".revision .source").all_inner_texts()
    assert any(text in s for s in sources), sources
    assert any(edited in s for s in sources), sources
    shot(page, "revisions")

    # sign out through the account menu
    page.goto("/")
    page.locator("details.menu summary").click()
    shot(page, "account-menu")
    with page.expect_navigation():
        page.locator("form[action='/logout'] button[type=submit]").click()
    assert page.locator("details.menu").count() == 0
    assert page.locator("a[href^='/login']").count() >= 1
    shot(page, "signed-out")


def test_guest_does_not_see_members_only_board(new_context, live_server, shot):
    page = new_context().new_page()
    shot.watch(page)

    page.goto("/")
    assert page.locator(f"a[href='/b/{live_server.public_slug}']").count() == 1
    assert page.locator(f"a[href='/b/{live_server.private_slug}']").count() == 0
    assert live_server.private_name not in page.inner_text("body")
    shot(page, "guest-index")

    response = page.goto(f"/b/{live_server.private_slug}")
    assert response.status == 404
    shot(page, "guest-private-board-404")

    response = page.goto(f"/t/{live_server.private_thread_id}")
    assert response.status == 404
    assert "会员专属" not in page.inner_text("body")
    shot(page, "guest-private-thread-404")
