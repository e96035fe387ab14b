"""Channels in the web app: the list of live channels, switching, and each channel's own swarm."""

import time

from playwright.sync_api import expect

from conftest import ARTIFACTS
from test_web_app import DESKTOP, PASSWORD, expect_live, page_errors, sign_up, swarm_has


def send(system, mix):
    """POSTs one batch: mix is [(channel, emoji, count), ...], so every channel's reactions land in one window."""
    now = int(time.time() * 1000)
    events = [{"user_id": f"u{channel}{i}", "emoji_type": emoji, "timestamp": now, "channel": channel}
              for channel, emoji, n in mix for i in range(n)]
    status, body = system.post("/api/emojis", events)
    assert status == 202, body


def test_switch_channel_and_see_the_other_swarm(system, browser):
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    errors = page_errors(page)
    page.goto(system.url)
    sign_up(page, "switcher", 1)
    expect_live(page)
    expect(page.locator("#channel-name")).to_have_text("main")
    expect(page.locator('#channel-list .channel-button[data-channel="main"]')).to_have_attribute("aria-current", "true")

    send(system, [("main", "😀", 200), ("concert", "🔥", 300)])
    swarm_has(page, {"😀": 2})
    expect(page.locator('#swarm .float[data-emoji="🔥"]')).to_have_count(0)

    # concert is live (it has reactions): it shows up in the list, which refreshes by itself.
    concert = page.locator('#channel-list .channel-button[data-channel="concert"]')
    expect(concert).to_be_visible(timeout=15_000)
    concert.click()
    expect(page.locator("#channel-name")).to_have_text("concert")
    expect(page.locator("#stage-channel")).to_contain_text("concert")
    expect(concert).to_have_attribute("aria-current", "true")
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "live")
    # The swarm and chart start afresh for the new channel.
    expect(page.locator('#chart-table tr[data-emoji="😀"]')).to_have_count(0)

    send(system, [("main", "😢", 500), ("concert", "🎉", 250)])
    swarm_has(page, {"🎉": 3})
    expect(page.locator("#last-burst li")).to_have_count(1)
    expect(page.locator('#last-burst li[data-emoji="🎉"]')).to_have_attribute("data-count", "250")
    expect(page.locator('#chart-table tr[data-emoji="😢"]')).to_have_count(0)
    assert "channel=concert" in page.url
    page.screenshot(path=str(ARTIFACTS / "channel-concert.png"))

    # A reaction from the pad goes to the channel being watched.
    page.get_by_role("button", name="Send fire").click()
    expect(page.locator('#last-burst li[data-emoji="🔥"]')).to_have_attribute("data-count", "1")

    # A channel typed in by name; a bad name is refused and the viewer stays.
    page.locator("#channel-input").fill("Bad Name!")
    page.get_by_role("button", name="Watch", exact=True).click()
    expect(page.locator("#banner")).to_contain_text("1–64 characters")
    expect(page.locator("#channel-name")).to_have_text("concert")
    page.locator("#channel-input").fill("main")
    page.get_by_role("button", name="Watch", exact=True).click()
    expect(page.locator("#channel-name")).to_have_text("main")
    send(system, [("main", "👏", 100), ("concert", "😂", 100)])
    expect(page.locator('#last-burst li[data-emoji="👏"]')).to_have_attribute("data-count", "100")
    expect(page.locator('#last-burst li[data-emoji="😂"]')).to_have_count(0)
    assert errors == []
    context.close()


def test_two_tabs_watch_two_channels_side_by_side(system, browser):
    assert system.post("/api/register", {"name": "twotabs", "password": PASSWORD, "tier": 1})[0] == 201
    pages = []
    for channel in ["cricket", "concert"]:
        context = browser.new_context(viewport=DESKTOP)
        page = context.new_page()
        page.goto(f"{system.url}/?channel={channel}")
        page.get_by_label("Name").fill("twotabs")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in", exact=True).click()
        expect_live(page)
        expect(page.locator("#channel-name")).to_have_text(channel)
        pages.append(page)
    send(system, [("cricket", "😀", 300), ("concert", "😢", 200)])
    swarm_has(pages[0], {"😀": 3})
    swarm_has(pages[1], {"😢": 2})
    expect(pages[0].locator('#last-burst li[data-emoji="😢"]')).to_have_count(0)
    expect(pages[1].locator('#last-burst li[data-emoji="😀"]')).to_have_count(0)
    for page in pages:
        page.context.close()


def test_switching_over_server_sent_events_reconnects_to_the_other_channel(system, browser):
    assert system.post("/api/register", {"name": "ssefan", "password": PASSWORD, "tier": 3})[0] == 201
    context = browser.new_context(viewport=DESKTOP)
    context.add_init_script("delete window.WebSocket")
    page = context.new_page()
    errors = page_errors(page)
    page.goto(f"{system.url}/?channel=cricket")
    page.get_by_label("Name").fill("ssefan")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect_live(page)
    expect(page.locator("#conn-state")).to_have_attribute("data-transport", "sse")
    expect(page.locator("#channel-name")).to_have_text("cricket")

    # Tier 3 has one device: the switch must give the old connection's slot back before it takes a new one.
    page.locator("#channel-input").fill("concert")
    page.get_by_role("button", name="Watch", exact=True).click()
    expect(page.locator("#channel-name")).to_have_text("concert")
    expect_live(page, timeout=20_000)
    send(system, [("cricket", "😀", 400), ("concert", "😢", 300)])
    swarm_has(page, {"😢": 3})
    expect(page.locator('#last-burst li[data-emoji="😀"]')).to_have_count(0)
    assert errors == []
    context.close()
