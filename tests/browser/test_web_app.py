"""The web app in a real browser against a real `emostream up`."""

import re

from playwright.sync_api import Page, expect

from conftest import ARTIFACTS

PASSWORD = "correct horse battery"
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}


def sign_up(page: Page, name: str, tier: int):
    page.get_by_role("tab", name="Sign up").click()
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator(f'input[name="tier"][value="{tier}"]').check()
    page.get_by_role("button", name="Create account").click()


def log_in(page: Page, name: str, password: str = PASSWORD):
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in", exact=True).click()


def page_errors(page: Page) -> list[str]:
    """Collects uncaught script errors of the page; every test expects none."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def expect_live(page: Page, timeout: float = 10_000):
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=timeout)


def swarm_has(page: Page, counts: dict[str, int]):
    """Waits until the swarm shows, for the latest burst, exactly `counts` floating copies per emoji."""
    page.wait_for_function(
        """counts => {
            const seq = document.querySelector('#last-burst').dataset.seq;
            if (!seq) return false;
            return Object.entries(counts).every(([emoji, n]) =>
                document.querySelectorAll(`#swarm .float[data-seq="${seq}"][data-emoji="${emoji}"]`).length === n);
        }""",
        arg=counts, polling="raf", timeout=10_000)


def swarm_in_flight(page: Page):
    """Waits until several emojis of the swarm are fully visible (for a screenshot worth looking at)."""
    page.wait_for_function(
        """() => {
            const stage = document.querySelector('#swarm').getBoundingClientRect();
            return [...document.querySelectorAll('#swarm .float')].filter(e => {
                const box = e.getBoundingClientRect();
                return Number(getComputedStyle(e).opacity) > 0.9 && box.bottom < stage.bottom - 60 && box.top > stage.top + 40;
            }).length >= 3;
        }""",
        polling="raf", timeout=10_000)


def test_sign_up_watch_swarm_chart_and_pad(system, browser):
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    errors = page_errors(page)
    urls = []
    page.on("request", lambda request: urls.append(request.url))
    page.goto(system.url)
    expect(page).to_have_title("EmoStream · live reactions")
    page.get_by_role("tab", name="Sign up").click()
    expect(page.get_by_role("group", name="Choose your plan")).to_contain_text("5 devices at once")
    page.screenshot(path=str(ARTIFACTS / "signup-desktop.png"))

    sign_up(page, "asha", 1)
    expect_live(page)
    expect(page.locator("#user-badge")).to_contain_text("asha · tier 1 · 5 devices")
    expect(page.locator("#node-name")).to_have_text(re.compile(r"^node-\d+$"))

    system.send([("😀", 450), ("sad", 120), ("fire", 7)])
    rows = page.locator("#chart-table tbody tr")
    expect(page.locator('#chart-table tr[data-emoji="😀"]')).to_have_attribute("data-last", "450")
    expect(page.locator('#chart-table tr[data-emoji="😢"]')).to_have_attribute("data-last", "120")
    expect(page.locator('#chart-table tr[data-emoji="🔥"]')).to_have_attribute("data-last", "7")
    expect(rows).to_have_count(3)
    expect(page.locator('#last-burst li[data-emoji="😀"]')).to_have_attribute("data-scaled", "5")
    swarm_has(page, {"😀": 5, "😢": 2, "🔥": 1})
    expect(page.locator('#chart-svg polyline[data-emoji="😀"]')).to_have_count(1)
    swarm_in_flight(page)
    page.screenshot(path=str(ARTIFACTS / "watch-desktop.png"))

    # The pad: a tap sends 🔥 as asha, which comes back in a later burst.
    page.get_by_role("button", name="Send fire").click()
    expect(page.locator("#pad-grid")).to_have_attribute("data-sent", "1")
    expect(page.locator("#pad-status")).to_have_text("Sent 🔥")
    expect(page.locator('#chart-table tr[data-emoji="🔥"]')).to_have_attribute("data-sum", "8")
    expect(page.locator('#last-burst li[data-emoji="🔥"]')).to_have_attribute("data-count", "1")

    assert not any(PASSWORD.replace(" ", "") in url.replace("%20", "").replace("+", "") for url in urls)
    assert "token" not in page.url
    assert errors == []
    context.close()


def test_clear_messages_for_a_taken_name_and_bad_credentials(system, browser):
    assert system.post("/api/register", {"name": "taken", "password": PASSWORD, "tier": 2})[0] == 201
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(system.url)

    sign_up(page, "taken", 2)
    expect(page.locator("#auth-error")).to_contain_text("That name is taken")

    page.get_by_role("tab", name="Log in").click()
    log_in(page, "taken", "wrong password!")
    expect(page.locator("#auth-error")).to_have_text("Wrong name or password.")
    expect(page.get_by_label("Password")).to_have_attribute("aria-invalid", "true")

    page.get_by_label("Name").fill("x")
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.locator("#auth-error")).to_contain_text("3–32")

    log_in(page, "taken")
    expect_live(page)
    expect(page.locator("#user-badge")).to_contain_text("tier 2 · 2 devices")
    context.close()


def test_second_tab_of_a_tier_3_user_waits_for_the_slot(system, browser):
    assert system.post("/api/register", {"name": "solo", "password": PASSWORD, "tier": 3})[0] == 201
    first_context = browser.new_context(viewport=DESKTOP)
    first = first_context.new_page()
    first.goto(system.url)
    log_in(first, "solo")
    expect_live(first)

    second_context = browser.new_context(viewport=DESKTOP)
    second = second_context.new_page()
    second.goto(system.url)
    log_in(second, "solo")
    notice = second.locator("#notice")
    expect(notice).to_have_attribute("data-kind", "tier_limit")
    expect(notice).to_contain_text("Your tier allows 1 device at once")
    expect(second.locator("#conn-state")).to_have_attribute("data-state", "blocked")
    second.screenshot(path=str(ARTIFACTS / "tier-limit.png"))

    first_context.close()  # closing the first tab frees the slot
    expect_live(second, timeout=20_000)
    expect(notice).to_be_hidden()
    system.send([("party", 3)])
    expect(second.locator('#chart-table tr[data-emoji="🎉"]')).to_have_attribute("data-last", "3")
    second_context.close()


def test_phone_sized_screens_and_reduced_motion(system, browser):
    assert system.post("/api/register", {"name": "mobile", "password": PASSWORD, "tier": 1})[0] == 201
    phone = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = phone.new_page()
    errors = page_errors(page)
    page.goto(system.url)
    page.screenshot(path=str(ARTIFACTS / "login-phone.png"), full_page=True)
    log_in(page, "mobile")
    expect_live(page)
    system.send([("love", 260), ("laugh", 90), ("clap", 30)])
    expect(page.locator('#last-burst li[data-emoji="😂"]')).to_have_attribute("data-count", "90")
    swarm_has(page, {"😂": 1, "👏": 1})
    system.send([("happy", 400), ("fire", 300)])
    expect(page.locator('#last-burst li[data-emoji="🔥"]')).to_have_attribute("data-count", "300")
    swarm_in_flight(page)
    page.screenshot(path=str(ARTIFACTS / "watch-phone.png"))
    page.screenshot(path=str(ARTIFACTS / "watch-phone-full.png"), full_page=True)
    assert errors == []
    phone.close()

    # Reduced motion, and a browser without WebSockets: the swarm is a list, the stream comes over SSE.
    calm = browser.new_context(viewport=PHONE, reduced_motion="reduce")
    calm.add_init_script("delete window.WebSocket")
    page = calm.new_page()
    page.goto(system.url)
    log_in(page, "mobile")
    expect_live(page)
    expect(page.locator("#conn-state")).to_have_attribute("data-transport", "sse")
    system.send([("wow", 150)])
    entry = page.locator("#burst-log li").first
    expect(entry).to_be_visible()
    expect(entry).to_contain_text("😮 ×2")
    expect(page.locator("#swarm .float")).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "watch-phone-reduced-motion.png"))
    calm.close()


def test_a_dropped_socket_reconnects_with_a_new_ticket_and_misses_no_burst(system, browser):
    assert system.post("/api/register", {"name": "steady", "password": PASSWORD, "tier": 1})[0] == 201
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    errors = page_errors(page)
    sockets = []  # (page side, server side) of each WebSocket the page opens

    def through(ws):
        sockets.append((ws, ws.connect_to_server()))

    page.route_web_socket(re.compile(r".*/ws\?.*"), through)
    connects = []
    page.on("request", lambda request: connects.append(request) if request.url.endswith("/api/connect") else None)
    page.goto(system.url)
    log_in(page, "steady")
    expect_live(page)
    system.send([("clap", 4)])
    expect(page.locator('#last-burst li[data-emoji="👏"]')).to_have_attribute("data-count", "4")
    seq = int(page.locator("#last-burst").get_attribute("data-seq"))

    # Drop the socket and keep the page from getting a new ticket while two bursts are published.
    page.route("**/api/connect", lambda route: route.fulfill(
        status=503, headers={"Retry-After": "1"}, json={"error": "no_capacity", "message": "every cluster node is full"}))
    page_side, server_side = sockets[-1]
    page_side.close(code=1001, reason="node going away")
    server_side.close(code=1001, reason="node going away")
    expect(page.locator("#conn-state")).not_to_have_attribute("data-state", "live")
    expect(page.locator("#notice")).to_have_attribute("data-kind", "no_capacity")
    published = system.bursts_published()
    system.send([("wow", 2)])
    system.wait_for_bursts(published + 1)
    system.send([("thumbsup", 5)])
    system.wait_for_bursts(published + 2)
    page.unroute("**/api/connect")

    expect_live(page, timeout=15_000)
    expect(page.locator("#banner")).to_be_hidden()
    expect(page.locator("#last-burst")).to_have_attribute("data-seq", str(seq + 2))
    expect(page.locator('#chart-table tr[data-emoji="😮"]')).to_have_attribute("data-sum", "2")
    expect(page.locator('#chart-table tr[data-emoji="👍"]')).to_have_attribute("data-sum", "5")
    expect(page.locator("#missed")).to_be_hidden()
    assert errors == []
    assert len(sockets) == 2
    assert f"after={seq}" in sockets[-1][0].url
    first_ticket = sockets[0][0].url.split("ticket=")[1]
    assert first_ticket != sockets[1][0].url.split("ticket=")[1].split("&")[0]
    # Each reconnect names the ticket of the stream it lost (`replaces`), so a dead node's slot is freed at once.
    assert "replaces" not in (connects[0].post_data_json or {})
    assert connects[-1].post_data_json.get("replaces") == first_ticket
    context.close()
