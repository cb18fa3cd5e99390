"""Markdown → safe HTML."""

from __future__ import annotations

from forum.markup import mention_candidates, quote_source, render


def test_raw_html_is_escaped():
    html = render('<script>alert(1)</script><img src=x onerror="alert(1)">')
    assert "<script" not in html and "<img" not in html and "&lt;script&gt;" in html


def test_dangerous_links_are_dropped_and_links_get_rel():
    html = render("[a](javascript:alert(1)) [b](https://example.com) www.example.org")
    assert "javascript:" not in html.replace("[a](javascript:alert(1))", "")
    assert 'href="https://example.com" rel="nofollow ugc noopener"' in html
    assert 'href="http://www.example.org"' in html  # bare links are linked


def test_only_our_uploads_as_images():
    html = render("![ok](/uploads/2026/11/a.jpg) ![no](https://tracker.example/p.gif)")
    assert 'src="/uploads/2026/11/a.jpg"' in html and "tracker.example" not in html


def test_mentions_link_existing_members_only():
    source = "你好 @张三 和 @nobody，邮件 a@b.com"
    assert {"张三", "nobody"} <= mention_candidates(source)
    html = render(source, {"张三"})
    assert '<a href="/u/%E5%BC%A0%E4%B8%89" class="mention"' in html
    assert "@nobody" in html and 'href="/u/nobody"' not in html
    assert 'href="mailto:a@b.com"' in html


def test_line_breaks_tables_and_code():
    html = render("第一行\n第二行\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```python\nx = 1\n```")
    assert "第一行<br" in html and "<table>" in html and 'class="language-python"' in html


def test_quote_source():
    assert quote_source("小王", "一\n二") == "> **@小王**:\n> 一\n> 二\n\n"
