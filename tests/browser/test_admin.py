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
