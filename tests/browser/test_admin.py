"""The operator page (/admin) in a real browser against a real `emostream up`."""

from playwright.sync_api import expect

from conftest import ADMIN_PASSWORD, ARTIFACTS
from test_web_app import DESKTOP, page_errors


def test_operator_sees_nodes_sessions_per_tier_and_rates(system, browser):
    # Viewers of two tiers hold sessions, and reactions are flowing.
    for name, tier in [("ops-gold", 1), ("ops-bronze", 3)]:
        assert system.post("/api/register", {"name": name, "password": "operator-test", "tier": tier})[0] == 201
        status, login = system.post("/api/login", {"name": name, "password": "operator-test"})
        assert status == 200
        assert system.post("/api/connect", {}, token=login["token"])[0] == 200
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    errors = page_errors(page)
    page.goto(system.url + "/admin")

    page.get_by_label("Operator password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#admin-error")).to_have_text("Wrong operator password.")

    page.get_by_label("Operator password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#nodes-table tbody tr")).to_have_count(3)
    expect(page.locator('#nodes-table tr[data-live="true"]')).to_have_count(3)
    expect(page.locator('#tiers-table tr[data-tier="1"]')).to_have_attribute("data-sessions", "1")
    expect(page.locator('#tiers-table tr[data-tier="3"]')).to_have_attribute("data-sessions", "1")
    expect(page.locator('#tiers-table tr[data-tier="2"]')).to_have_attribute("data-sessions", "0")
    # Per-channel figures: both sessions watch main.
    expect(page.locator('#channels-table tr[data-channel="main"]')).to_have_attribute("data-viewers", "2")

    # Send reactions until the page has seen two polls apart with a positive ingest rate.
    def rate_is_positive():
        system.send([("😀", 50)])
        return float(page.locator("#ingest-rate").get_attribute("data-rate") or 0) > 0

    for _ in range(100):
        if rate_is_positive():
            break
        page.wait_for_timeout(100)
    assert float(page.locator("#ingest-rate").get_attribute("data-rate")) > 0
    page.screenshot(path=str(ARTIFACTS / "admin-desktop.png"))
    assert errors == []
    context.close()


def test_draining_the_viewers_node_moves_the_page_to_another_node_without_missing_a_burst(system, browser):
    from test_web_app import PASSWORD, expect_live, log_in

    assert system.post("/api/register", {"name": "mover", "password": PASSWORD, "tier": 1})[0] == 201
    status, operator = system.post("/api/admin/login", {"password": ADMIN_PASSWORD})
    assert status == 200
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    errors = page_errors(page)
    page.goto(system.url)
    log_in(page, "mover")
    expect_live(page)
    first_node = page.locator("#conn-state").get_attribute("data-node")
    system.send([("clap", 3)])
    expect(page.locator('#last-burst li[data-emoji="👏"]')).to_have_attribute("data-count", "3")
    seq = int(page.locator("#last-burst").get_attribute("data-seq"))

    # The operator drains the viewer's node: its viewers are disconnected and it gets no new ones.
    status, _ = system.post(f"/api/admin/nodes/{first_node}/drain", {}, token=operator["token"])
    assert status == 200
    published = system.bursts_published()
    system.send([("fire", 6)])  # published while the page is moving
    system.wait_for_bursts(published + 1)

    expect(page.locator("#conn-state")).not_to_have_attribute("data-node", first_node, timeout=15_000)
    expect_live(page, timeout=15_000)
    expect(page.locator("#last-burst")).to_have_attribute("data-seq", str(seq + 1))
    expect(page.locator('#chart-table tr[data-emoji="🔥"]')).to_have_attribute("data-sum", "6")
    expect(page.locator("#missed")).to_be_hidden()
    page.screenshot(path=str(ARTIFACTS / "watch-after-drain.png"))
    assert errors == []
    context.close()
