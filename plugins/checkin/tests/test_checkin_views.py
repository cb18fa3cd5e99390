"""The check-ins pages through HTTP: who may do what (guests, non-members, non-creators),
camp forms and check-in forms that keep the typed input beside their errors, photos
through the core's uploads (a real PNG in, a text file refused), joining with a confirm
step, likes without a reload (JSON), comments, make-up cards, the reminder hour, the
profile card, CSRF, switching the plugin off (404, data kept), and a camp page whose query
count does not grow with its feed."""

from __future__ import annotations

import io
import re
from datetime import date, datetime, timedelta

import pytest
from forum_plugins.checkin import services
from forum_plugins.checkin.models import Camp, Checkin, CheckinComment, Participant
from sqlalchemy import func, select

from forum.extensions import db
from forum.models import Upload
from forum.services import points
from forum.testing import png_image

pytestmark = pytest.mark.usefixtures("english", "checkin")


def _html(response) -> str:
    return response.get_data(as_text=True)


def _count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


@pytest.fixture
def running(make_camp):
    """An open-ended camp that started in March with a distance number (km, one decimal)."""
    return make_camp(
        title="晨跑 Morning run",
        metrics=[
            {"key": "km", "label": "Distance", "unit": "km", "min": 0, "max": 100,
             "decimals": 1, "required": True},
        ],
    )  # fmt: skip


def _joined(member, camp, days_ago: int = 10):
    """``member`` joined ``camp`` ``days_ago`` days ago (so make-up cards reach back)."""
    return services.join(member, camp, now=datetime.utcnow() - timedelta(days=days_ago))


# -- who may do what -----------------------------------------------------------------------


def test_guests_see_the_camps_but_cannot_join_or_check_in(web, running):
    guest = web()
    listing = _html(guest.get("/checkin/"))
    assert "晨跑 Morning run" in listing and "New camp" not in listing
    page = _html(guest.get(f"/checkin/c/{running.id}"))
    assert "Sign in to join" in page and 'action="/checkin/c/' not in page
    for path in ("join", "check-in", "make-up", "leave"):
        response = guest.post(f"/checkin/c/{running.id}/{path}", data={"metric_km": "5"})
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert _count(Participant) == 0 and _count(Checkin) == 0


def test_non_members_cannot_check_in(web, make_member, running):
    outsider = make_member("outsider")
    client = web(outsider)
    page = _html(client.get(f"/checkin/c/{running.id}"))
    assert "Join the camp" in page and 'name="metric_km"' not in page
    response = client.post(f"/checkin/c/{running.id}/check-in", data={"metric_km": "5"})
    assert response.status_code == 403
    assert "Join the camp before checking in." in _html(response)
    response = client.post(
        f"/checkin/c/{running.id}/make-up",
        data={"makeup-day": (date.today() - timedelta(days=1)).isoformat()},
    )
    assert response.status_code == 403
    assert _count(Checkin) == 0


def test_only_creators_may_create_and_only_owners_edit(web, make_member, running):
    member = web(make_member("plain"))
    assert member.get("/checkin/new").status_code == 403
    response = member.post("/checkin/new", data={"title": "Mine", "starts_on": "2026-12-01"})
    assert response.status_code == 403
    assert member.get(f"/checkin/c/{running.id}/edit").status_code == 403
    assert _count(Camp) == 1
    assert "New camp" not in _html(member.get("/checkin/"))


def test_a_moderator_creates_a_camp_with_numbers(web, make_member):
    coach = web(make_member("trainer", groups=("moderator",)))
    form = _html(coach.get("/checkin/new"))
    assert 'name="title"' in form and 'name="metrics-0-label"' in form
    response = coach.post(
        "/checkin/new",
        data={
            "title": "21 天早起",
            "description": "Up at **six**.",
            "starts_on": "2026-12-01",
            "ends_on": "2026-12-21",
            "window_start": "05:00",
            "window_end": "09:30",
            "require_photo": "y",
            "join_group": "",
            "join_fee": "5",
            "deposit": "50",
            "min_days": "18",
            "metrics-0-label": "Minutes",
            "metrics-0-unit": "min",
            "metrics-0-min": "0",
            "metrics-0-max": "300",
            "metrics-0-decimals": "0",
            "metrics-1-label": "",
        },
    )
    assert response.status_code == 302
    camp = db.session.execute(select(Camp)).scalar_one()
    assert response.headers["Location"].endswith(f"/checkin/c/{camp.id}")
    assert (camp.window_start, camp.window_end) == (300, 570)
    assert (camp.join_fee, camp.deposit, camp.min_days, camp.require_photo) == (5, 50, 18, True)
    assert [(m["key"], m["label"], m["unit"]) for m in camp.metric_list] == [
        ("n1", "Minutes", "min")
    ]
    page = _html(coach.get(response.headers["Location"]))
    assert "The camp is open." in page and "<strong>six</strong>" in page
    assert "Deposit 50 points" in page and "Daily 05:00–09:30" in page


def test_camp_form_errors_stay_beside_their_fields_with_the_input(web, make_member, running):
    coach = web(make_member("trainer", groups=("moderator",)))
    response = coach.post(
        "/checkin/new",
        data={
            "title": "Evening yoga",
            "starts_on": "2026-12-10",
            "ends_on": "2026-12-01",
            "join_fee": "0",
            "deposit": "0",
        },
    )
    html = _html(response)
    assert response.status_code == 200
    assert "The last day cannot come before the first." in html
    assert re.search(r'class="field has-error">\s*<label for="ends_on"', html)
    assert 'value="Evening yoga"' in html and 'value="2026-12-10"' in html
    response = coach.post(
        "/checkin/new",
        data={"title": "Open", "starts_on": "2026-12-10", "deposit": "30", "join_fee": "0"},
    )
    assert "A deposit needs a last day" in _html(response)
    assert _count(Camp) == 1  # only the fixture's


def test_the_owner_edits_a_camp(web, running):
    owner = web(running.owner)
    form = _html(owner.get(f"/checkin/c/{running.id}/edit"))
    assert 'value="晨跑 Morning run"' in form and 'value="Distance"' in form
    data = {
        "title": "晨跑 Morning run 2",
        "starts_on": running.starts_on.isoformat(),
        "window_start": "00:00",
        "window_end": "23:59",
        "join_fee": "0",
        "deposit": "0",
        "metrics-0-key": "km",
        "metrics-0-label": "Distance",
        "metrics-0-unit": "km",
        "metrics-0-min": "0",
        "metrics-0-max": "100",
        "metrics-0-decimals": "1",
        "metrics-0-required": "y",
    }
    response = owner.post(f"/checkin/c/{running.id}/edit", data=data)
    assert response.status_code == 302
    db.session.refresh(running)
    assert running.title == "晨跑 Morning run 2" and running.metric_list[0]["key"] == "km"


# -- joining and checking in ---------------------------------------------------------------


def test_join_with_a_deposit_has_a_confirm_step(web, rich, make_camp):
    camp = make_camp(title="Deposit camp", starts_on=date(2026, 1, 1), ends_on=date(2027, 12, 31),
                     join_fee=5, deposit=40)  # fmt: skip
    ada = rich("ada", 100)
    client = web(ada)
    page = _html(client.get(f"/checkin/c/{camp.id}"))
    assert f'href="/checkin/c/{camp.id}/join"' in page  # a link to the confirm step
    confirm = _html(client.get(f"/checkin/c/{camp.id}/join"))
    assert "A deposit of 40 points is held until the camp ends." in confirm
    assert "The join fee of 5 points" in confirm and "Join and pay 45 points" in confirm
    assert "You have 100 points" in confirm
    assert _count(Participant) == 0
    response = client.post(f"/checkin/c/{camp.id}/join")
    assert response.status_code == 302
    assert "Your deposit of 40 points is held" in _html(client.get(f"/checkin/c/{camp.id}"))
    assert points.balance(ada) == 55
    leave = _html(client.get(f"/checkin/c/{camp.id}/leave"))
    assert "Your deposit of 40 points is forfeited." in leave


def test_join_short_of_points_says_so_and_writes_nothing(web, rich, make_camp):
    camp = make_camp(title="Costly", ends_on=date(2027, 12, 31), deposit=500)
    client = web(rich("bo", 10))
    client.post(f"/checkin/c/{camp.id}/join")
    page = _html(client.get(f"/checkin/c/{camp.id}"))
    assert "Joining costs 500 points (fee and deposit); you have 10." in page
    assert _count(Participant) == 0


def test_check_in_shows_the_streak_the_board_and_the_feed(web, make_member, running):
    ada = make_member("ada")
    client = web(ada)
    client.post(f"/checkin/c/{running.id}/join")
    page = _html(client.get(f"/checkin/c/{running.id}"))
    assert 'name="metric_km"' in page and "Distance (km)" in page
    response = client.post(
        f"/checkin/c/{running.id}/check-in", data={"note": "Easy *5k*", "metric_km": "5.2"}
    )
    assert response.status_code == 302
    row = db.session.execute(select(Checkin)).scalar_one()
    assert response.headers["Location"].endswith(f"/checkin/c/{running.id}#checkin-{row.id}")
    page = _html(client.get(f"/checkin/c/{running.id}"))
    assert "Checked in! Your streak: 1 days." in page
    assert "Checked in today" in page and 'name="metric_km"' not in page
    assert re.search(r'class="ck-streak">1<', page)
    assert f'id="checkin-{row.id}"' in page and "<em>5k</em>" in page and "<b>5.2</b>" in page
    board = page.split('id="board"')[1].split('id="feed"')[0]
    assert "ada" in board and "<b>1</b>" in board
    by_km = _html(client.get(f"/checkin/c/{running.id}/leaderboard?by=metric:km&period=month"))
    assert "<b>5.2</b> km" in by_km
    assert 'class="ck-cell ck-l3 ck-today"' in page  # today on the heatmap
    again = client.post(f"/checkin/c/{running.id}/check-in", data={"metric_km": "3"})
    assert "Checked in today" in _html(again)
    assert _count(Checkin) == 1


def test_bad_numbers_show_beside_the_input_and_keep_what_was_typed(web, make_member, running):
    client = web(make_member("ada"))
    client.post(f"/checkin/c/{running.id}/join")
    response = client.post(
        f"/checkin/c/{running.id}/check-in", data={"note": "Hilly one", "metric_km": "250"}
    )
    html = _html(response)
    assert response.status_code == 200
    assert "Distance must be from 0 to 100." in html
    assert re.search(r'class="field has-error">\s*<label for="metric_km"', html)
    assert 'value="250"' in html and "Hilly one</textarea>" in html
    html = _html(client.post(f"/checkin/c/{running.id}/check-in", data={"metric_km": "5.25"}))
    assert "At most 1 digits after the point." in html
    html = _html(client.post(f"/checkin/c/{running.id}/check-in", data={"note": "no km"}))
    assert "Enter Distance." in html
    assert _count(Checkin) == 0


def test_a_png_photo_is_stored_and_a_text_file_refused(web, make_member, make_camp):
    camp = make_camp(title="Photo camp", require_photo=True)
    ada = make_member("ada")
    client = web(ada)
    client.post(f"/checkin/c/{camp.id}/join")
    refused = client.post(
        f"/checkin/c/{camp.id}/check-in",
        data={"note": "look", "photo": (io.BytesIO(b"just words, no pixels"), "run.png")},
        content_type="multipart/form-data",
    )
    html = _html(refused)
    assert "This file is not an image we can read." in html
    assert re.search(r'class="field ck-photo-field has-error"', html)
    assert "look</textarea>" in html
    named = client.post(
        f"/checkin/c/{camp.id}/check-in",
        data={"photo": (io.BytesIO(b"hello"), "notes.txt")},
        content_type="multipart/form-data",
    )
    assert "Images only (JPEG, PNG, GIF, WebP)." in _html(named)
    missing = _html(client.post(f"/checkin/c/{camp.id}/check-in", data={"note": "x"}))
    assert "This camp asks for a photo with each check-in." in missing
    assert _count(Checkin) == 0 and _count(Upload) == 0
    response = client.post(
        f"/checkin/c/{camp.id}/check-in",
        data={"note": "sunrise", "photo": (png_image(), "sunrise.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    row = db.session.execute(select(Checkin)).scalar_one()
    upload = db.session.get(Upload, row.upload_id)
    assert upload.member_id == ada.id and (upload.width, upload.height) == (64, 48)
    page = _html(client.get(f"/checkin/c/{camp.id}"))
    assert f'src="/uploads/{upload.path}"' in page
    assert client.get(f"/uploads/{upload.path}").status_code == 200


def test_a_refused_check_in_keeps_the_photo_for_the_next_try(web, make_member, running):
    client = web(make_member("ada"))
    client.post(f"/checkin/c/{running.id}/join")
    html = _html(
        client.post(
            f"/checkin/c/{running.id}/check-in",
            data={"metric_km": "500", "photo": (png_image(), "a.png")},
            content_type="multipart/form-data",
        )
    )
    kept = re.search(r'name="kept_photo" value="(\d+)"', html)
    assert kept and "Your photo is kept" in html
    response = client.post(
        f"/checkin/c/{running.id}/check-in", data={"metric_km": "5", "kept_photo": kept.group(1)}
    )
    assert response.status_code == 302
    assert db.session.execute(select(Checkin.upload_id)).scalar_one() == int(kept.group(1))


def test_someone_elses_kept_photo_is_ignored(web, make_member, running):
    other = make_member("other")
    from forum.services import uploads

    upload = uploads.save_image(other, png_image())
    client = web(make_member("ada"))
    client.post(f"/checkin/c/{running.id}/join")
    client.post(
        f"/checkin/c/{running.id}/check-in", data={"metric_km": "5", "kept_photo": str(upload.id)}
    )
    assert db.session.execute(select(Checkin.upload_id)).scalar_one() is None


# -- likes, comments, make-up cards --------------------------------------------------------


def test_likes_answer_json_for_the_script_and_redirect_without_it(web, make_member, running):
    ada, bo = make_member("ada"), make_member("bo")
    services.join(ada, running)
    row = services.check_in(ada, running, metrics={"km": "3"})
    client = web(bo)
    page = _html(client.get(f"/checkin/c/{running.id}"))
    assert f'action="/checkin/k/{row.id}/like"' in page and 'aria-pressed="false"' in page
    response = client.post(f"/checkin/k/{row.id}/like", headers={"Accept": "application/json"})
    assert response.get_json() == {"liked": True, "count": 1, "checkin_id": row.id}
    assert 'aria-pressed="true"' in _html(client.get(f"/checkin/c/{running.id}"))
    response = client.post(f"/checkin/k/{row.id}/like")
    assert response.status_code == 302 and f"#checkin-{row.id}" in response.headers["Location"]
    db.session.refresh(row)
    assert row.like_count == 0
    own = web(ada).post(f"/checkin/k/{row.id}/like", headers={"Accept": "application/json"})
    assert own.status_code == 409 and "your own" in own.get_json()["error"]


def test_comments_on_a_check_in(web, make_member, running):
    ada, bo = make_member("ada"), make_member("bo")
    services.join(ada, running)
    row = services.check_in(ada, running, metrics={"km": "3"})
    client = web(bo)
    empty = client.post(f"/checkin/k/{row.id}/comment", data={"body": "   "})
    assert "This field is required." in _html(empty) or "A comment of 1" in _html(empty)
    response = client.post(f"/checkin/k/{row.id}/comment", data={"body": "Nice **pace**!"})
    assert response.status_code == 302
    made = db.session.execute(select(CheckinComment)).scalar_one()
    assert response.headers["Location"].endswith(f"/checkin/k/{row.id}#comment-{made.id}")
    page = _html(client.get(f"/checkin/k/{row.id}"))
    assert "<strong>pace</strong>" in page and f'action="/checkin/comment/{made.id}/delete"' in page
    feed = _html(client.get(f"/checkin/c/{running.id}"))
    assert "1 comment" in feed
    assert web(make_member("cy")).post(f"/checkin/comment/{made.id}/delete").status_code == 403
    assert client.post(f"/checkin/comment/{made.id}/delete").status_code == 302
    db.session.refresh(made)
    assert made.deleted and "No comments yet." in _html(client.get(f"/checkin/k/{row.id}"))


def test_make_up_form_lists_the_missed_days_with_the_cost(web, rich, running):
    ada = rich("ada", 100)
    _joined(ada, running)
    client = web(ada)
    page = _html(client.get(f"/checkin/c/{running.id}"))
    today = services.local_today(ada)
    missed = [(today - timedelta(days=n)).isoformat() for n in (1, 2, 3)]
    assert "A make-up card costs 20 points" in page
    for day in missed:
        assert f'<option value="{day}">' in page
    too_far = (today - timedelta(days=5)).isoformat()
    html = _html(
        client.post(
            f"/checkin/c/{running.id}/make-up",
            data={"makeup-day": too_far, "makeup-metric_km": "4"},
        )
    )
    assert "Make-up cards reach back at most 3 days." in html
    assert 'value="4"' in html and "<details" in html and " open>" in html
    response = client.post(
        f"/checkin/c/{running.id}/make-up",
        data={"makeup-day": missed[1], "makeup-metric_km": "4", "makeup-note": "sick day"},
    )
    assert response.status_code == 302
    row = db.session.execute(select(Checkin)).scalar_one()
    assert row.makeup and row.day.isoformat() == missed[1]
    page = _html(client.get(f"/checkin/c/{running.id}"))
    assert f"{missed[1]} is filled with a make-up card." in page
    assert f'<option value="{missed[1]}">' not in page and "Make-up" in page
    assert points.balance(ada) == 80


# -- settings, profile, CSRF, the plugin switch, query counts ------------------------------


def test_reminder_hour(web, make_member):
    ada = make_member("ada")
    client = web(ada)
    assert 'name="reminder_hour"' in _html(client.get("/checkin/settings"))
    response = client.post("/checkin/settings", data={"reminder_hour": "21"})
    assert response.status_code == 302
    assert services.reminder_hour(ada) == 21
    assert "You will be reminded at 21:00." in _html(client.get("/checkin/settings"))
    assert '<option selected value="21">' in _html(client.get("/checkin/settings"))
    html = _html(client.post("/checkin/settings", data={"reminder_hour": "25"}))
    assert "Enter a whole number from 0 to 23." in html and services.reminder_hour(ada) == 21
    client.post("/checkin/settings", data={"reminder_hour": ""})
    assert services.reminder_hour(ada) is None


def test_the_profile_shows_the_streak_and_heatmap(web, make_member, running):
    ada = make_member("ada")
    make_member("bo")
    services.join(ada, running)
    services.check_in(ada, running, metrics={"km": "5"})
    page = _html(web().get("/u/ada"))
    assert 'class="ck-profile"' in page and re.search(r'class="ck-streak">1<', page)
    assert page.count('class="ck-cell ck-l') >= 26 * 7
    assert 'role="img" aria-label="Check-ins per day, last 26 weeks"' in page
    assert 'class="ck-profile"' not in _html(web().get("/u/bo"))  # never checked in


def test_forms_need_the_csrf_token(web, make_member, running, csrf_on):
    client = web(make_member("ada"))
    client.post(f"/checkin/c/{running.id}/join")  # CSRF still off
    csrf_on()
    response = client.post(f"/checkin/c/{running.id}/check-in", data={"metric_km": "5"})
    assert response.status_code == 400
    page = _html(client.get(f"/checkin/c/{running.id}"))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page
    )
    response = client.post(
        f"/checkin/c/{running.id}/check-in", data={"metric_km": "5", "csrf_token": token.group(1)}
    )
    assert response.status_code == 302 and _count(Checkin) == 1


def test_switched_off_the_pages_are_gone_and_the_data_stays(
    web, make_member, running, enable_plugin
):
    ada = make_member("ada")
    services.join(ada, running)
    services.check_in(ada, running, metrics={"km": "5"})
    client = web(ada)
    assert client.get("/checkin/").status_code == 200
    enable_plugin("checkin", disable=True)
    assert client.get("/checkin/").status_code == 404
    assert client.get(f"/checkin/c/{running.id}").status_code == 404
    assert (
        client.post(f"/checkin/c/{running.id}/check-in", data={"metric_km": "1"}).status_code == 404
    )
    assert 'class="ck-profile"' not in _html(client.get("/u/ada"))
    assert "/checkin/" not in _html(client.get("/"))  # no nav item
    assert _count(Checkin) == 1 and _count(Camp) == 1
    enable_plugin("checkin")
    assert "Checked in today" in _html(client.get(f"/checkin/c/{running.id}"))


def _fill_feed(camp, make_member, n: int, start: int) -> None:
    for i in range(start, start + n):
        member = make_member(f"runner{i}")
        services.join(member, camp)
        row = services.check_in(member, camp, note=f"run {i}", metrics={"km": str(i)})
        assert row.id


def test_the_camp_page_query_count_does_not_grow_with_the_feed(
    web, make_member, running, count_queries
):
    viewer = make_member("viewer")
    services.join(viewer, running)
    client = web(viewer)
    _fill_feed(running, make_member, 2, 0)
    client.get(f"/checkin/c/{running.id}")  # warm caches (settings, plugin state)
    # the test's session is the requests' (one app context): start both from a cold one
    db.session.expire_all()
    with count_queries() as few:
        assert client.get(f"/checkin/c/{running.id}").status_code == 200
    _fill_feed(running, make_member, 10, 2)
    db.session.expire_all()
    with count_queries() as many:
        html = _html(client.get(f"/checkin/c/{running.id}"))
    assert html.count('class="ck-item"') == 12
    assert many.count == few.count, many.statements


def test_the_catalogue_is_current_and_keeps_the_cores_plural_translations(web, running):
    from forum_plugins.checkin import i18n

    assert i18n.stale() == []  # run: python -m forum_plugins.checkin.i18n
    # an untranslated plural of the plugin must not hide the core's translation
    page = _html(web().get(f"/checkin/c/{running.id}?lang=zh_Hans"))
    assert "0 名会员" in page


def test_outside_the_window_the_page_says_when_and_a_post_is_refused(web, make_member, make_camp):
    now = services.local_now(None)
    minute = (now.hour * 60 + now.minute + 120) % 1440  # two hours from now, one minute long
    camp = make_camp(title="Dawn only", window_start=minute, window_end=minute)
    ada = make_member("ada")
    services.join(ada, camp)
    client = web(ada)
    page = _html(client.get(f"/checkin/c/{camp.id}"))
    shown = services.format_minute(minute)
    assert f"Check-ins are open from {shown} to {shown} (your time)." in page
    assert 'id="check-in"' not in page
    html = _html(client.post(f"/checkin/c/{camp.id}/check-in", data={"note": "early"}))
    assert f"Check-ins are open from {shown} to {shown}." in html
    assert _count(Checkin) == 0


def test_guests_cannot_like_or_comment(web, make_member, running):
    ada = make_member("ada")
    services.join(ada, running)
    row = services.check_in(ada, running, metrics={"km": "3"})
    guest = web()
    page = _html(guest.get(f"/checkin/k/{row.id}"))
    assert "Sign in to comment." in page and 'name="body"' not in page
    for path in ("like", "comment"):
        response = guest.post(f"/checkin/k/{row.id}/{path}", data={"body": "hi"})
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    db.session.refresh(row)
    assert (row.like_count, row.comment_count) == (0, 0) and _count(CheckinComment) == 0
